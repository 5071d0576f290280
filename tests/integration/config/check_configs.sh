#!/usr/bin/env bash
# Runs --check-config on every committed configuration: config/*.yaml and the images' defaults in
# docker/*.yaml (names containing "edge" with herald-edge, "broker" with herald-broker, the rest
# with herald) and the Helm chart's rendered examples (tests/helm/rendered/), with the environment
# the chart's pods get. Then checks
# that unknown keys are refused with their path, that JSON is accepted and the precedence
# --set > environment > file.
#
#   check_configs.sh SOURCE_DIR HERALD HERALD_EDGE HERALD_BROKER
set -uo pipefail
src=$1 herald=$2 edge=$3 broker=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-config-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

# Only the variables a test sets reach the binaries: no stray HERALD_* from the caller's shell.
run() { env -i PATH="$PATH" "$@"; }

expect_ok() {  # description, command...
  local what=$1; shift
  if out=$("$@" 2>&1); then
    echo "ok   $what"
  else
    echo "FAIL $what: exit $?"; echo "$out" | sed 's/^/     /'; failures=$((failures + 1))
  fi
}

expect_refused() {  # description, text stderr must contain, command...
  local what=$1 needle=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ "$rc" -ne 0 ] && grep -qF -- "$needle" "$tmp/err"; then
    echo "ok   $what (exit $rc: $(head -c 200 "$tmp/err" | tr '\n' ' '))"
  else
    echo "FAIL $what: exit $rc, stderr lacks '$needle':"; sed 's/^/     /' "$tmp/err"
    failures=$((failures + 1))
  fi
}

# Committed configuration files.
shopt -s nullglob
found=0
for f in "$src"/config/*.yaml "$src"/config/*.json "$src"/docker/*.yaml; do
  found=$((found + 1))
  case "$(basename "$f")" in
    *edge*) bin=$edge ;;
    *broker*) bin=$broker ;;
    *) bin=$herald ;;
  esac
  expect_ok "$(basename "$bin") --check-config ${f#"$src"/}" run "$bin" --check-config --config "$f"
done
[ "$found" -ge 6 ] || { echo "FAIL expected at least 6 files in config/ and docker/, found $found"; failures=$((failures + 1)); }

# The Helm chart's rendered configuration, with the environment its pods set.
pod_env=(HERALD_NODE_ID=herald-edge-7d9f-abcde HERALD_DRAIN_DEADLINE_S=30)
expect_ok "herald-edge --check-config tests/helm/rendered/edge.yaml (pod environment)" \
  run "${pod_env[@]}" "$edge" --check-config --config "$src/tests/helm/rendered/edge.yaml"
expect_ok "herald-broker --check-config tests/helm/rendered/broker.yaml (pod environment)" \
  run "${pod_env[@]}" HERALD_BROKER_EDGELINK_LISTEN=10.42.0.17:50052 \
  HERALD_AUTH_SECRET=0123456789abcdef0123456789abcdef \
  HERALD_API_BEARER_TOKENS=token-one-0123456789,token-two-0123456789 \
  "$broker" --check-config --config "$src/tests/helm/rendered/broker.yaml"
# Without a key, a policy that needs tokens is refused (what the chart's NOTES warn about).
expect_refused "herald-broker refuses the rendered policy without a JWT key" "no auth.keys" \
  run "$broker" --check-config --config "$src/tests/helm/rendered/broker.yaml"

# Unknown keys are refused with their full path, by every binary.
printf 'edge:\n  listen: 127.0.0.1:3000\n  max_conections: 10\n' >"$tmp/typo.yaml"
expect_refused "herald refuses edge.max_conections" "edge.max_conections" \
  run "$herald" --check-config --config "$tmp/typo.yaml"
printf 'bus:\n  type: nats\n  nats_url: nats://127.0.0.1:4222\n' >"$tmp/typo-bus.yaml"
expect_refused "herald-edge refuses bus.nats_url" "bus.nats_url" \
  run "$edge" --check-config --config "$tmp/typo-bus.yaml"
printf 'bus:\n  type: nats\napi:\n  max_payload: 10\n' >"$tmp/typo-api.yaml"
expect_refused "herald-broker refuses api.max_payload" "api.max_payload" \
  run "$broker" --check-config --config "$tmp/typo-api.yaml"
printf 'bus:\n  type: nats\nbrokers: []\n' >"$tmp/typo-top.yaml"
expect_refused "herald-broker refuses a top-level brokers section" "brokers" \
  run "$broker" --check-config --config "$tmp/typo-top.yaml"
expect_refused "herald refuses an unknown --set key" "edge.lisen (override)" \
  run "$herald" --check-config --set edge.lisen=127.0.0.1:1
expect_refused "herald-broker refuses an unknown policy key with its path" \
  "namespaces./chat.events.message.schema.text.maxx" \
  run "$broker" --check-config --set bus.type=nats --config /dev/stdin <<'YAML'
namespaces:
  /chat:
    auth: none
    events:
      message: {action: relay, to: "{args.room}", schema: {text: {type: string, maxx: 5}}}
YAML
expect_refused "herald-edge refuses bus.type inprocess" "bus.type" run "$edge" --check-config

# JSON is YAML: a JSON file is accepted.
printf '{"edge": {"listen": "127.0.0.1:0", "cors": {"origins": ["https://a.example"]}},\n "namespaces": {"/": {"auth": "none"}}}\n' >"$tmp/herald.json"
expect_ok "herald accepts a JSON configuration" run "$herald" --check-config --config "$tmp/herald.json"

# Precedence: --set > environment (HERALD_<PATH>) > file > default.
printf 'edge:\n  shards: 2\n' >"$tmp/shards.yaml"
expect_refused "the environment overrides the file (HERALD_EDGE_SHARDS=99 is out of range)" \
  "edge.shards: 99 is out of range" run HERALD_EDGE_SHARDS=99 "$herald" --check-config --config "$tmp/shards.yaml"
expect_ok "--set overrides the environment" \
  run HERALD_EDGE_SHARDS=99 "$herald" --check-config --config "$tmp/shards.yaml" --set edge.shards=4
expect_refused "--set overrides the file" "edge.shards: 65 is out of range" \
  run "$herald" --check-config --config "$tmp/shards.yaml" --set edge.shards=65

if [ "$failures" -ne 0 ]; then
  echo "$failures configuration check(s) failed"
  exit 1
fi
echo "all configuration checks passed"
