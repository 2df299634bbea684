// Why this exists: src/schema is what makes openvod's requests and responses match the cloud's.
// These tests pin the validator's error codes/paths/coercions and check the response shaper
// against the official examples (examples.json) and the spec's output_required defaults.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ApiError } from "../src/protocol/errors.js";
import { unflatten } from "../src/protocol/params.js";
import {
  actionNames,
  actionTypes,
  DEFAULT_MAX_ITEMS,
  hasAction,
  MAX_REQUEST_VALUES,
  hasType,
  objectMembers,
  shapeResponse,
  validateRequest,
} from "../src/schema/index.js";

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "spec", "vod-schema.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("repo root not found");
    dir = up;
  }
  return dir;
}

const examplesPath = join(repoRoot(), "..", "shared", "spec", "vod-2018-07-17", "examples.json");
const examples:
  { actions: Record<string, { document: string; input: string; output: string }[]> } | undefined = existsSync(
  examplesPath,
)
  ? JSON.parse(readFileSync(examplesPath, "utf8"))
  : undefined;
const noExamples = examples ? false : `examples.json not found at ${examplesPath}`;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every value of `example` whose key is a spec member must appear, equal, in `shaped`. */
function assertContains(typeName: string, shaped: Obj, example: Obj, path: string): void {
  const members = new Map(objectMembers(typeName).map((m) => [m.name, m]));
  for (const [k, v] of Object.entries(example)) {
    const m = members.get(k);
    if (!m) continue;
    const p = `${path}.${k}`;
    assert.ok(k in shaped, `${p} missing`);
    const s = shaped[k];
    if (v === null) assert.equal(s, null, p);
    else if (m.kind === "object") assertContains(m.member, s as Obj, v as Obj, p);
    else if (m.kind === "list" && hasType(m.member)) {
      assert.ok(Array.isArray(v) && Array.isArray(s) && s.length === v.length, `${p} length`);
      (v as unknown[]).forEach((e, i) => assertContains(m.member, (s as Obj[])[i], e as Obj, `${p}.${i}`));
    } else assert.deepEqual(s, v, p);
  }
}

function rejects(fn: () => unknown, code: string, message?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  });
}

test("schema lists the 231 actions", () => {
  assert.equal(actionNames().length, 231);
  assert.ok(hasAction("DescribeTaskDetail"));
  assert.ok(!hasAction("DescribeTaskDetails"));
  assert.deepEqual(actionTypes("ProcessMedia"), ["ProcessMediaRequest", "ProcessMediaResponse"]);
});

test(
  "shapeResponse keeps every spec key of every official example (strict off)",
  { skip: noExamples },
  () => {
    delete process.env.OPENVOD_STRICT_SHAPE;
    let n = 0;
    for (const [action, list] of Object.entries(examples!.actions)) {
      const output = actionTypes(action)![1];
      const names = new Set(objectMembers(output).map((m) => m.name));
      for (const ex of list) {
        let parsed: { Response: Obj };
        try {
          parsed = JSON.parse(ex.output);
        } catch {
          continue;
        }
        const res = parsed.Response;
        if (!isObj(res) || "Error" in res) continue;
        const shaped = shapeResponse(output, res);
        for (const k of Object.keys(res)) if (names.has(k)) assert.ok(k in shaped, `${action}: ${k} dropped`);
        assertContains(output, shaped, res, action);
        n++;
      }
    }
    assert.ok(n > 200, `only ${n} examples checked`);
  },
);

test("official examples shape cleanly under OPENVOD_STRICT_SHAPE=1", { skip: noExamples }, () => {
  process.env.OPENVOD_STRICT_SHAPE = "1";
  try {
    for (const [action, list] of Object.entries(examples!.actions))
      for (const ex of list) {
        const res = JSON.parse(ex.output).Response as Obj;
        if (!("Error" in res)) shapeResponse(actionTypes(action)![1], res);
      }
  } finally {
    delete process.env.OPENVOD_STRICT_SHAPE;
  }
});

test("DescribeTaskDetail examples shape exactly", { skip: noExamples }, () => {
  const members = objectMembers("DescribeTaskDetailResponse");
  const taskFields = members.filter((m) => m.kind === "object" && m.outputRequired).map((m) => m.name);
  assert.equal(taskFields.length, 22);
  assert.ok(members.filter((m) => m.kind === "object" && m.outputRequired).every((m) => m.nullable));
  const list = examples!.actions.DescribeTaskDetail;
  assert.ok(list.length >= 4);
  for (const ex of list) {
    const res = JSON.parse(ex.output).Response as Obj;
    const shaped = shapeResponse("DescribeTaskDetailResponse", res);
    // Same top-level keys (plus any output_required ones the example lacks), spec order.
    for (const k of Object.keys(res)) assert.ok(k in shaped, `${ex.document}: ${k}`);
    for (const f of taskFields) assert.ok(f in shaped, `${ex.document}: task field ${f} missing`);
    assert.deepEqual(
      Object.keys(shaped),
      members.map((m) => m.name).filter((n) => n in shaped),
    );
    // Same non-null payload, deep.
    const nonNull = taskFields.filter((f) => res[f] !== null && res[f] !== undefined);
    assert.equal(nonNull.length, 1, ex.document);
    assert.deepEqual(
      taskFields.filter((f) => shaped[f] !== null),
      nonNull,
    );
    for (const f of taskFields.filter((f) => !nonNull.includes(f))) assert.equal(shaped[f], null);
    assertContains("DescribeTaskDetailResponse", shaped, res, "DescribeTaskDetail");
    assert.equal(shaped.TaskType, res.TaskType);
    assert.equal(shaped.RequestId, res.RequestId);
  }
});

test("validateRequest: DescribeTaskDetail", () => {
  const o = { coerceStrings: false };
  assert.deepEqual(validateRequest("DescribeTaskDetail", { TaskId: "t1", SubAppId: 1500 }, o), {
    TaskId: "t1",
    SubAppId: 1500,
  });
  rejects(
    () => validateRequest("DescribeTaskDetail", {}, o),
    "MissingParameter",
    "The parameter `TaskId` is missing.",
  );
  rejects(() => validateRequest("DescribeTaskDetail", { TaskId: null }, o), "MissingParameter");
  rejects(
    () => validateRequest("DescribeTaskDetail", { TaskId: 5 }, o),
    "InvalidParameter",
    "The parameter `TaskId` should be of type string.",
  );
  rejects(
    () => validateRequest("DescribeTaskDetail", { TaskId: "t", SubAppId: "x" }, o),
    "InvalidParameter",
    "The parameter `SubAppId` should be of type int.",
  );
  rejects(() => validateRequest("DescribeTaskDetail", { TaskId: "t", SubAppId: -1 }, o), "InvalidParameter");
  rejects(() => validateRequest("DescribeTaskDetail", { TaskId: "t", SubAppId: 1.5 }, o), "InvalidParameter");
  rejects(
    () => validateRequest("DescribeTaskDetail", { TaskId: "t", Foo: 1 }, o),
    "UnknownParameter",
    "The parameter `Foo` is not recognized.",
  );
  assert.deepEqual(validateRequest("DescribeTaskDetail", { TaskId: "t", SubAppId: 12n }, o), {
    TaskId: "t",
    SubAppId: 12,
  });
  rejects(() => validateRequest("NoSuchAction", {}, o), "InvalidAction");
});

test("validateRequest: nested ProcessMedia paths", () => {
  const o = { coerceStrings: false };
  rejects(
    () =>
      validateRequest(
        "ProcessMedia",
        {
          FileId: "1",
          MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }, { WatermarkSet: [] }] },
        },
        o,
      ),
    "MissingParameter",
    "The parameter `MediaProcessTask.TranscodeTaskSet.1.Definition` is missing.",
  );
  rejects(
    () => validateRequest("ProcessMedia", { FileId: "1", MediaProcessTask: { TranscodeTaskSet: [{}] } }, o),
    "MissingParameter",
    "The parameter `MediaProcessTask.TranscodeTaskSet.0.Definition` is missing.",
  );
  rejects(
    () => validateRequest("ProcessMedia", { FileId: "1", MediaProcessTask: { TranscodeTaskSet: {} } }, o),
    "InvalidParameter",
    "The parameter `MediaProcessTask.TranscodeTaskSet` should be of type list.",
  );
  rejects(
    () => validateRequest("ProcessMedia", { FileId: "1", MediaProcessTask: { Bogus: 1 } }, o),
    "UnknownParameter",
    "The parameter `MediaProcessTask.Bogus` is not recognized.",
  );
  const input = { FileId: "1", MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }] } };
  const copy = structuredClone(input);
  const out = validateRequest("ProcessMedia", input, o);
  assert.deepEqual(out, input);
  assert.notEqual(out.MediaProcessTask, input.MediaProcessTask);
  assert.deepEqual(input, copy);
});

/** An official example's request parameters: a JSON body (TC3) or a URL's query (legacy form). */
function exampleParams(input: string): { params: Record<string, unknown>; coerce: boolean } | undefined {
  const text = input.trim();
  if (text.startsWith("POST")) {
    const blank = text.indexOf("\n\n");
    return blank < 0 ? undefined : { params: JSON.parse(text.slice(blank + 2)), coerce: false };
  }
  if (!text.startsWith("http")) return undefined;
  const common = new Set(["Action", "Version", "Region", "Timestamp", "Nonce", "SecretId", "Signature"]);
  const pairs = text
    .slice(text.indexOf("?") + 1)
    .split(/\n?&/)
    .map((kv) => kv.trim())
    .filter((kv) => kv && !kv.startsWith("<"))
    .map((kv): [string, string] => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])
    .filter(([k]) => !common.has(k));
  return { params: unflatten(pairs), coerce: true };
}

test("official request examples pass the list caps and string rules", { skip: noExamples }, () => {
  let checked = 0;
  let valid = 0;
  for (const [action, list] of Object.entries(examples!.actions))
    for (const ex of list) {
      const req = exampleParams(ex.input);
      if (!req) continue;
      checked++;
      try {
        validateRequest(action, req.params, { coerceStrings: req.coerce });
        valid++;
      } catch (err) {
        // A few examples carry typos (wrong types, missing members); none may trip the new rules.
        assert.ok(err instanceof ApiError, String(err));
        assert.doesNotMatch(err.code, /^InvalidParameterValue/, `${action}: ${err.message}`);
      }
    }
  assert.ok(checked > 250 && valid > checked - 5, `${valid} of ${checked} examples valid`);
});

test("validateRequest: list caps from the spec, a general cap, a request budget", () => {
  const o = { coerceStrings: false };
  const many = (n: number, v: unknown = "a") => Array.from({ length: n }, () => v);
  validateRequest("SearchMedia", { Names: many(10), Tags: many(16) }, o);
  rejects(
    () => validateRequest("SearchMedia", { Names: many(11) }, o),
    "InvalidParameterValue.Names",
    "The parameter `Names` has 11 elements; at most 10 are allowed.",
  );
  rejects(
    () => validateRequest("SearchMedia", { Tags: many(17) }, o),
    "InvalidParameterValue.Tags",
    "The parameter `Tags` has 17 elements; at most 16 are allowed.",
  );
  // The legacy form path reaches the same check once its {"0":..} objects become lists.
  rejects(
    () =>
      validateRequest(
        "SearchMedia",
        { ClassIds: Object.fromEntries(many(11, "1").map((v, i) => [i, v])) },
        {
          coerceStrings: true,
        },
      ),
    "InvalidParameterValue.ClassIds",
    "The parameter `ClassIds` has 11 elements; at most 10 are allowed.",
  );
  // "N 从 0 开始取值，最大 19": 20 elements.
  validateRequest("DescribeMediaInfos", { FileIds: many(20) }, o);
  rejects(
    () => validateRequest("DescribeMediaInfos", { FileIds: many(21) }, o),
    "InvalidParameterValue.FileIdsTooMany",
  );
  // Where the cloud has a dedicated code for the cap, it is that one.
  rejects(
    () => validateRequest("ModifyMediaInfo", { FileId: "1", AddTags: many(17) }, o),
    "LimitExceeded.TagCountReachMax",
    "The parameter `AddTags` has 17 elements; at most 16 are allowed.",
  );
  // Nested lists are capped too, and named by their path.
  const snap = (n: number) => ({
    FileId: "1",
    MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: many(n, "1s") }] },
  });
  validateRequest("ProcessMedia", snap(100), o);
  rejects(
    () => validateRequest("ProcessMedia", snap(101), o),
    "InvalidParameterValue.ExtTimeOffsetSet",
    "The parameter `MediaProcessTask.SnapshotByTimeOffsetTaskSet.0.ExtTimeOffsetSet` has 101 elements; at most 100 are allowed.",
  );
  // No stated limit: the general cap.
  validateRequest("SearchMedia", { Filters: many(DEFAULT_MAX_ITEMS) }, o);
  rejects(
    () => validateRequest("SearchMedia", { Filters: many(DEFAULT_MAX_ITEMS + 1) }, o),
    "InvalidParameterValue.Filters",
  );
  // Lists within their caps can still add up: 30 tracks of 1,000 items each.
  const tracks = many(30, { Type: "Video", TrackItems: many(DEFAULT_MAX_ITEMS, { Type: "Empty" }) });
  rejects(
    () => validateRequest("ComposeMedia", { Tracks: tracks, Output: { FileName: "x" } }, o),
    "InvalidParameterValue",
    `The request contains more than ${MAX_REQUEST_VALUES} parameter values.`,
  );
});

test("validateRequest: lone surrogates and control characters", () => {
  const o = { coerceStrings: false };
  const modify = (Description: string) => validateRequest("ModifyMediaInfo", { FileId: "1", Description }, o);
  assert.equal(modify("line 1\nline 2\tend\r\n").Description, "line 1\nline 2\tend\r\n");
  assert.equal(modify("emoji \u{1F600} kept").Description, "emoji \u{1F600} kept");
  rejects(
    () => modify("a\u0000b"),
    "InvalidParameterValue.Description",
    "The parameter `Description` contains the control character U+0000.",
  );
  rejects(() => modify("bell\u0007"), "InvalidParameterValue.Description");
  rejects(
    () => modify("half \ud83d pair"),
    "InvalidParameterValue.Description",
    "The parameter `Description` contains a lone UTF-16 surrogate.",
  );
  // Names are single-line: no tab or newline either.
  rejects(
    () => validateRequest("ModifyMediaInfo", { FileId: "1", Name: "two\nlines" }, o),
    "InvalidParameterValue.Name",
    "The parameter `Name` contains the control character U+000A.",
  );
  rejects(
    () =>
      validateRequest(
        "ProcessMedia",
        {
          FileId: "1",
          MediaProcessTask: {
            TranscodeTaskSet: [
              { Definition: 100010, WatermarkSet: [{ Definition: 1, TextContent: "a\u0000" }] },
            ],
          },
        },
        o,
      ),
    "InvalidParameterValue.TextContent",
    "The parameter `MediaProcessTask.TranscodeTaskSet.0.WatermarkSet.0.TextContent` contains the control character U+0000.",
  );
});

test("validateRequest: coerceStrings (legacy form/query)", () => {
  const input = { MediaProcessTask: { TranscodeTaskSet: { "0": { Definition: "100010" } } }, FileId: "123" };
  const copy = structuredClone(input);
  assert.deepEqual(validateRequest("ProcessMedia", input, { coerceStrings: true }), {
    MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }] },
    FileId: "123",
  });
  assert.deepEqual(input, copy);
  // Lists of scalars, floats, bools.
  assert.deepEqual(
    validateRequest(
      "DescribeTasks",
      { Status: "FINISH", Limit: "10", SubAppId: "1" },
      { coerceStrings: true },
    ),
    { Status: "FINISH", Limit: 10, SubAppId: 1 },
  );
  assert.deepEqual(
    validateRequest("DescribeMediaInfos", { FileIds: { "1": "b", "0": "a" } }, { coerceStrings: true }),
    { FileIds: ["a", "b"] },
  );
  rejects(
    () => validateRequest("DescribeMediaInfos", { FileIds: { "0": "a", "2": "b" } }, { coerceStrings: true }),
    "InvalidParameter",
  );
  rejects(
    () => validateRequest("DescribeTasks", { Limit: "abc" }, { coerceStrings: true }),
    "InvalidParameter",
  );
  rejects(
    () => validateRequest("DescribeTasks", { Limit: "1.5" }, { coerceStrings: true }),
    "InvalidParameter",
  );
  // Strict JSON: a numeric string for an int is invalid.
  rejects(
    () => validateRequest("DescribeTasks", { Limit: "10" }, { coerceStrings: false }),
    "InvalidParameter",
    "The parameter `Limit` should be of type int.",
  );
  // Floats and lists of ints (no request type in 2018-07-17 has a bool member).
  assert.deepEqual(
    validateRequest(
      "RebuildMedia",
      { FileId: "f", StartTimeOffset: "1.5", EndTimeOffset: "-2e1" },
      { coerceStrings: true },
    ),
    { FileId: "f", StartTimeOffset: 1.5, EndTimeOffset: -20 },
  );
  rejects(
    () => validateRequest("RebuildMedia", { FileId: "f", StartTimeOffset: "1.5" }, { coerceStrings: false }),
    "InvalidParameter",
    "The parameter `StartTimeOffset` should be of type float.",
  );
  rejects(
    () => validateRequest("RebuildMedia", { FileId: "f", StartTimeOffset: "x" }, { coerceStrings: true }),
    "InvalidParameter",
  );
  assert.deepEqual(
    validateRequest(
      "DescribeTranscodeTemplates",
      { Definitions: { "0": "10", "1": "20" } },
      { coerceStrings: true },
    ),
    { Definitions: [10, 20] },
  );
  rejects(
    () =>
      validateRequest(
        "DescribeAnimatedGraphicsTemplates",
        { Definitions: { "0": "-1" } },
        { coerceStrings: true },
      ),
    "InvalidParameter",
    "The parameter `Definitions.0` should be of type uint64.",
  );
});

test("shapeResponse: PullUploadTask defaults", () => {
  delete process.env.OPENVOD_STRICT_SHAPE;
  const s = shapeResponse("PullUploadTask", { TaskId: "x" });
  const members = objectMembers("PullUploadTask");
  assert.deepEqual(
    Object.keys(s),
    members.filter((m) => m.outputRequired).map((m) => m.name),
  );
  assert.equal(s.TaskId, "x");
  assert.equal(s.Status, "");
  assert.equal(s.MediaBasicInfo, null);
  assert.equal(s.Progress, 0);
  assert.equal(s.ErrCode, 0);
  assert.ok(isObj(s.MetaData));
  const meta = s.MetaData as Obj;
  for (const m of objectMembers("MediaMetaData").filter((m) => m.outputRequired))
    assert.ok(m.name in meta, m.name);
  assert.equal(meta.Size, 0);
  assert.equal(meta.Container, "");
  assert.deepEqual(meta.VideoStreamSet, []);
});

test("shapeResponse: coercion, order, unknown keys", () => {
  delete process.env.OPENVOD_STRICT_SHAPE;
  const s = shapeResponse("PullUploadTask", {
    Progress: 49.6,
    ErrCode: "7",
    FileId: 123,
    TaskId: "t",
    Extra: 1,
    MetaData: { Duration: "1.25", Size: 10.2, VideoStreamSet: [{ Fps: 25, Codec: "h264" }] },
    MediaBasicInfo: { Name: "n", CreateTime: new Date("2024-01-02T03:04:05.678Z") },
  });
  assert.equal(s.Progress, 50);
  assert.equal(s.ErrCode, 7);
  assert.equal(s.FileId, "123");
  assert.equal(Object.keys(s)[0], "TaskId");
  assert.ok(!("Extra" in s));
  const meta = s.MetaData as Obj;
  assert.equal(meta.Duration, 1.25);
  assert.equal(meta.Size, 10);
  assert.equal((meta.VideoStreamSet as Obj[])[0].Codec, "h264");
  assert.equal((s.MediaBasicInfo as Obj).CreateTime, "2024-01-02T03:04:05Z");
  // Response-level RequestId is a normal member: kept when given, omitted otherwise.
  assert.equal(shapeResponse("ProcessMediaResponse", { TaskId: "a", RequestId: "r" }).RequestId, "r");
  assert.ok(!("RequestId" in shapeResponse("ProcessMediaResponse", { TaskId: "a" })));
  process.env.OPENVOD_STRICT_SHAPE = "1";
  try {
    assert.throws(
      () => shapeResponse("PullUploadTask", { TaskId: "x", TaskID: "y" }),
      /PullUploadTask.*TaskID/,
    );
    assert.throws(() => shapeResponse("PullUploadTask", { MetaData: { Sise: 1 } }), /MediaMetaData.*Sise/);
  } finally {
    delete process.env.OPENVOD_STRICT_SHAPE;
  }
});

test("src/schema/api-types.ts is what scripts/gen-schema.mjs derives from the schema", async () => {
  const root = repoRoot();
  const schema = JSON.parse(readFileSync(join(root, "spec", "vod-schema.json"), "utf8"));
  // A computed specifier: the generator is plain JavaScript outside the compiled tree.
  const { tsTypes } = await import(pathToFileURL(join(root, "scripts", "ts-types.mjs")).href);
  const onDisk = readFileSync(join(root, "src", "schema", "api-types.ts"), "utf8");
  assert.ok(onDisk === tsTypes(schema), "stale: run npm run gen:schema");
});
