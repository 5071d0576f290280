#!/usr/bin/env bash
# Checks helm/herald without a helm binary (ctest helm_chart_check):
#   1. yamllint on the chart's static YAML, the example values and Herald's config files;
#   2. values.yaml and tests/helm/values-*.yaml against values.schema.json (ajv), and
#      tests/helm/invalid/*.yaml refused;
#   3. template references (.Values paths, includes, blocks) and the rendered-config examples.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

command -v yamllint >/dev/null || { echo "yamllint not found: ./scripts/setup installs it" >&2; exit 1; }
command -v node >/dev/null || { echo "node not found: ./scripts/setup installs it" >&2; exit 1; }
if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== yamllint"
yamllint --strict -c "$here/yamllint.yaml" helm/herald/Chart.yaml helm/herald/values.yaml \
  tests/helm/values-*.yaml tests/helm/invalid/*.yaml tests/helm/rendered/*.yaml config/*.yaml docker/*.yaml
echo "ok   yamllint"
echo "== values against values.schema.json"
node "$here/check_values.mjs"
echo "== templates"
node "$here/render_check.mjs"
