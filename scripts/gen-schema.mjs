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
//   A list member may carry a fifth element, maxItems: the most elements a request may send, as
//   the member's Chinese `document` prose states it ("数组长度限制：10", "最多支持 5 个", "最大可支持
//   10 张", "N 从 0 开始取值，最大 19", ...; see LIMIT_PATTERNS) or as MAX_ITEMS_OVERRIDES sets it
//   where the prose is not a plain count. Output-only objects (usage "out") carry none. Lists
//   without one get the validator's general cap (src/schema/index.ts).
//
// The script prints how often each limit pattern matched, and every list member whose prose
// mentions 限制/最多/最大/上限/不超过 without a recognised count, for review by hand. Reviewed
// (2018-07-17 spec): those mentions are per-element string lengths ("长度限制：128 个字符"),
// file sizes ("不超过 50 MB"), per-model counts (CreateAigcImageTaskRequest.FileInfos,
// ChangeClothesConfig.ClothesFileInfos) or sort-field rules; none is a plain list length.

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

const CN_DIGITS = { 一: 1, 两: 2, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9, 十: 10 };
const count = (t) => CN_DIGITS[t] ?? Number(t);
// Tried in order on the tag-stripped prose; the first match gives the cap. A number followed by
// 字符 is a per-element string length, never a count, hence the (?!\s*个?字符) guards.
const LIMIT_PATTERNS = [
  ["数组长度限制/最大值：N", /数组长度(?:限制|最大值)\s*[：:]\s*(\d+)/],
  ["长度限制：N", /(?:^|[\s。，；])长度限制\s*[：:]\s*(\d+)(?!\d)(?!\s*个?字符)/],
  ["最大长度：N", /最大长度\s*[：:]\s*(\d+)(?!\d)(?!\s*个?字符)/],
  ["长度/个数最大为 N", /(?:长度|个数度?)最大为\s*(\d+)/],
  // "N 从 0 开始取值，最大 19": the highest index, so one more element.
  ["N 从 0 开始取值，最大 N", /N\s*从\s*0\s*开始取值[，,]\s*最大\s*(\d+)/, 1],
  [
    "最多/最大…N 个/张/条/路",
    /(?:最多|最大)(?:可|同时|支持|提交|指定|查询|输出|输入|填充|上传|传入|包含|\s)*(\d+|[一二两三四五六七八九十])\s*(?:个|张|条|路)(?!字符)/,
  ],
];
// Hand-set caps, each for a stated reason; they win over the patterns.
const MAX_ITEMS_OVERRIDES = {
  // "视频、音频、图片，每一种类型的轨道最多支持 10 个": 10 per track type (Video, Audio, Sticker).
  "ComposeMediaRequest.Tracks": 30,
  // "图像转场操作和音频转场操作各自最多支持一个": one image plus one audio transition.
  "MediaTransitionItem.Transitions": 2,
  "MediaTransitionItem.MediaTransitions": 2,
  // The spec states no limit for snapshot time points, and each one is an ffmpeg seek and
  // decode (2,000 took over three minutes). 100 is openvod's own cap: far more than a cover or
  // thumbnail strip needs (sprites and sample snapshots exist for dense sampling).
  "SnapshotByTimeOffsetTaskInput.ExtTimeOffsetSet": 100,
  "SnapshotByTimeOffsetTaskInput.TimeOffsetSet": 100,
};
const patternHits = new Map(LIMIT_PATTERNS.map(([label]) => [label, 0]));
const unmatched = [];
const plain = (html) => (html ?? "").replace(/<[^>]*>/g, " ");

/** The most elements a request may send for a list member, or undefined when none is stated. */
function maxItems(objName, m) {
  const key = `${objName}.${m.name}`;
  if (MAX_ITEMS_OVERRIDES[key] !== undefined) return MAX_ITEMS_OVERRIDES[key];
  const text = plain(m.document);
  for (const [label, re, plus = 0] of LIMIT_PATTERNS) {
    const hit = re.exec(text);
    if (!hit) continue;
    patternHits.set(label, patternHits.get(label) + 1);
    return count(hit[1]) + plus;
  }
  if (/限制|最多|最大|上限|不超过/.test(text)) unmatched.push(`${key}: ${text.replace(/\s+/g, " ").trim()}`);
  return undefined;
}

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
    const max = m.type === "list" && obj.usage !== "out" ? maxItems(name, m) : undefined;
    return max === undefined ? [m.name, m.type, m.member, flags] : [m.name, m.type, m.member, flags, max];
  });
}

for (const key of Object.keys(MAX_ITEMS_OVERRIDES)) {
  const [o, n] = key.split(".");
  if (!api.objects[o]?.members.some((m) => m.name === n && m.type === "list"))
    problems.push(`MAX_ITEMS_OVERRIDES: ${key} is not a list member`);
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
console.log("list caps from the prose:");
for (const [label, n] of patternHits) console.log(`  ${String(n).padStart(4)}  ${label}`);
console.log(`  ${String(Object.keys(MAX_ITEMS_OVERRIDES).length).padStart(4)}  MAX_ITEMS_OVERRIDES`);
console.log(`list members mentioning a limit without a recognised count (${unmatched.length}):`);
for (const u of unmatched) console.log(`  ${u.length > 160 ? u.slice(0, 157) + "..." : u}`);
console.log(
  `wrote ${output}: ${Object.keys(actions).length} actions, ${Object.keys(objects).length} objects, ${text.length} bytes`,
);

const typesFile = resolve(repo, "src/schema/api-types.ts");
const ts = tsTypes({ actions, objects });
writeFileSync(typesFile, ts);
console.log(`wrote ${typesFile}: ${ts.length} bytes`);
