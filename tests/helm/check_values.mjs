// Validates helm/herald/values.yaml, and each tests/helm/values-*.yaml merged over it the way Helm
// merges -f files, against helm/herald/values.schema.json; every tests/helm/invalid/*.yaml must be
// refused. Exit 1 on any failure. Needs `npm ci` in tests/helm (ajv, yaml).
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import YAML from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const chart = join(here, "..", "..", "helm", "herald");
const load = (path) => YAML.parse(readFileSync(path, "utf8")) ?? {};

// Helm's coalescing: maps merge key by key, anything else replaces, null deletes the key.
function merge(base, over) {
  if (over === null || typeof over !== "object" || Array.isArray(over)) return over;
  if (base === null || typeof base !== "object" || Array.isArray(base)) base = {};
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = merge(base[k], v);
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(readFileSync(join(chart, "values.schema.json"), "utf8")));
const defaults = load(join(chart, "values.yaml"));
const errorsOf = () => validate.errors.map((e) => `  ${e.instancePath || "/"} ${e.message}`).join("\n");

let failed = 0;
const check = (name, values, expectValid) => {
  const ok = validate(values);
  if (ok === expectValid) {
    console.log(`ok   ${name}${expectValid ? "" : " (refused as expected)"}`);
    return;
  }
  failed++;
  console.log(`FAIL ${name}: ${expectValid ? "refused:\n" + errorsOf() : "accepted, expected a refusal"}`);
};

check("helm/herald/values.yaml", defaults, true);
for (const f of readdirSync(here).filter((n) => /^values-.*\.yaml$/.test(n)).sort()) {
  check(`tests/helm/${f}`, merge(defaults, load(join(here, f))), true);
}
const invalid = join(here, "invalid");
if (existsSync(invalid)) {
  for (const f of readdirSync(invalid).filter((n) => n.endsWith(".yaml")).sort()) {
    check(`tests/helm/invalid/${f}`, merge(defaults, load(join(invalid, f))), false);
  }
}
if (failed) {
  console.log(`${failed} values check(s) failed`);
  process.exit(1);
}
