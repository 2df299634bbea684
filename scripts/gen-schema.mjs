#!/usr/bin/env node
// Why this exists: the official VOD API description (api.json, ~2.2 MB, mostly Chinese prose) is
// far too large to load on every server start. This script derives spec/vod-schema.json, a
// compact, prose-free schema that src/schema/index.ts loads at runtime to validate requests and
// to shape responses exactly like the cloud does.
//
// Usage: node scripts/gen-schema.mjs [path/to/api.json]
//   default input: <repo>/../shared/spec/vod-2018-07-17/api.json; output: <repo>/spec/vod-schema.json
//
// Output format (deterministic: actions and objects sorted by name, members in api.json order):
//   { "version": "2018-07-17",
//     "actions": { "<Action>": ["<InputType>", "<OutputType>"] },
//     "objects": { "<Type>": [ [name, kind, member, flags], ... ] } }
//   kind   = api.json `type`: "string" | "int" | "float" | "bool" | "object" | "list"
//   member = api.json `member`: an object type name, or "string" | "int64" | "uint64" | "float" |
//            "bool" | "datetime_iso" (for lists: the element type)
//   flags  = bitmask:
//     1 REQUIRED      `required: true` (request side)
//     2 OUT_REQUIRED  `output_required: true`; also set when an output-only object (usage "out")
//                     has `required: true` and no `output_required` key (older spec style, e.g.
//                     ExtractTraceWatermarkTask, MediaTranscodeInfo)
//     4 NULLABLE      `value_allowed_null: true`
//     8 DISABLED      `disabled: true` (deprecated in the docs; still accepted and emitted)

import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { tsTypes } from "./ts-types.mjs";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const input = resolve(process.argv[2] ?? resolve(repo, "../shared/spec/vod-2018-07-17/api.json"));
const output = resolve(repo, "spec/vod-schema.json");

const api = JSON.parse(readFileSync(input, "utf8"));
const SCALARS = new Set(["string", "int64", "uint64", "float", "bool", "datetime_iso"]);
const KINDS = new Set(["string", "int", "float", "bool", "object", "list"]);
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const problems = [];

const actions = {};
for (const name of Object.keys(api.actions).sort(byName)) {
  const { input: i, output: o } = api.actions[name];
  if (!api.objects[i] || !api.objects[o]) problems.push(`action ${name}: unknown type ${i} / ${o}`);
  actions[name] = [i, o];
}

const objects = {};
for (const name of Object.keys(api.objects).sort(byName)) {
  const obj = api.objects[name];
  objects[name] = obj.members.map((m) => {
    if (!KINDS.has(m.type)) problems.push(`${name}.${m.name}: unknown kind ${m.type}`);
    const isObj = m.type === "object" || (m.type === "list" && !SCALARS.has(m.member));
    if (isObj && !api.objects[m.member]) problems.push(`${name}.${m.name}: unknown type ${m.member}`);
    const outReq =
      m.output_required === true ||
      (obj.usage === "out" && m.output_required === undefined && m.required === true);
    const flags =
      (m.required === true ? 1 : 0) |
      (outReq ? 2 : 0) |
      (m.value_allowed_null === true ? 4 : 0) |
      (m.disabled ? 8 : 0);
    return [m.name, m.type, m.member, flags];
  });
}

if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}

// One action / one object per line: small diffs, still compact.
const version = api.metadata?.apiVersion ?? "2018-07-17";
const lines = (o) =>
  Object.entries(o)
    .map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join(",\n");
const text = `{\n"version": ${JSON.stringify(version)},\n"actions": {\n${lines(actions)}\n},\n"objects": {\n${lines(objects)}\n}\n}\n`;
JSON.parse(text); // sanity
mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, text);
console.log(
  `wrote ${output}: ${Object.keys(actions).length} actions, ${Object.keys(objects).length} objects, ${text.length} bytes`,
);

const typesFile = resolve(repo, "src/schema/api-types.ts");
const ts = tsTypes({ actions, objects });
writeFileSync(typesFile, ts);
console.log(`wrote ${typesFile}: ${ts.length} bytes`);
