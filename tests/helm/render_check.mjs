// A light sanity check of helm/herald/templates without a helm binary (it renders nothing):
//  - every .Values.a.b reference in a template names a key that exists in values.yaml;
//  - every include/template "name" names a template defined in some file;
//  - {{ }} delimiters and if/with/range/define ... end blocks balance in each file;
//  - the rendered-config examples (tests/helm/rendered/*.yaml, what the ConfigMaps render with
//    values.yaml; the config ctest runs --check-config on them) carry values.yaml's config.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import YAML from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const chart = join(here, "..", "..", "helm", "herald");
const values = YAML.parse(readFileSync(join(chart, "values.yaml"), "utf8"));
const tplDir = join(chart, "templates");
const files = readdirSync(tplDir).filter((f) => /\.(ya?ml|tpl|txt)$/.test(f)).sort();

const problems = [];
const defined = new Set();
const included = [];

for (const f of files) {
  const text = readFileSync(join(tplDir, f), "utf8");
  const opens = (text.match(/\{\{/g) || []).length;
  const closes = (text.match(/\}\}/g) || []).length;
  if (opens !== closes) problems.push(`${f}: ${opens} '{{' but ${closes} '}}'`);

  let depth = 0;
  for (const action of text.matchAll(/\{\{-?\s*(.*?)\s*-?\}\}/gs)) {
    const body = action[1];
    if (body.startsWith("/*")) continue;
    const word = body.split(/\s+/)[0];
    if (["if", "with", "range", "define", "block"].includes(word)) depth++;
    if (word === "end") depth--;
    if (depth < 0) {
      problems.push(`${f}: 'end' without an open block`);
      depth = 0;
    }
    const def = body.match(/^define\s+"([^"]+)"/);
    if (def) defined.add(def[1]);
    for (const inc of body.matchAll(/\b(?:include|template)\s+"([^"]+)"/g)) included.push([f, inc[1]]);
    for (const ref of body.matchAll(/\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      const path = ref[1].slice(1).split(".");
      let node = values;
      for (const [i, key] of path.entries()) {
        if (node === null || typeof node !== "object" || !(key in node)) {
          problems.push(`${f}: .Values.${path.join(".")} — '${path.slice(0, i + 1).join(".")}' is not in values.yaml`);
          break;
        }
        node = node[key];
      }
    }
  }
  if (depth !== 0) problems.push(`${f}: ${depth} block(s) without 'end'`);
}
for (const [f, name] of included) {
  if (!defined.has(name)) problems.push(`${f}: include "${name}" names no defined template`);
}

// The rendered examples must contain what values.yaml puts into each section.
const cfg = values.config;
const rendered = (name) => YAML.parse(readFileSync(join(here, "rendered", name), "utf8"));
const expectations = {
  "edge.yaml": { log: cfg.log, bus: cfg.bus, edge: cfg.edge },
  "broker.yaml": { log: cfg.log, bus: cfg.bus, broker: cfg.broker, api: cfg.api, auth: cfg.auth,
                   namespaces: cfg.namespaces },
};
for (const [name, sections] of Object.entries(expectations)) {
  const doc = rendered(name);
  if (doc?.node?.cluster_prefix !== cfg.clusterPrefix) {
    problems.push(`rendered/${name}: node.cluster_prefix differs from config.clusterPrefix`);
  }
  for (const [section, want] of Object.entries(sections)) {
    for (const [key, value] of Object.entries(want ?? {})) {
      if (!isDeepStrictEqual(doc?.[section]?.[key], value)) {
        problems.push(`rendered/${name}: ${section}.${key} differs from values.yaml config.${section}.${key}`);
      }
    }
  }
}

if (problems.length) {
  for (const p of problems) console.log(`FAIL ${p}`);
  process.exit(1);
}
console.log(`ok   ${files.length} template files: .Values references, includes and blocks check out`);
console.log(`ok   tests/helm/rendered/*.yaml carry values.yaml's config`);
