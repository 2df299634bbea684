// The API front door against a real openvod process: every protocol error reaches the official
// SDK as the exact Tencent error code, over HTTP 200, in every signature style; and a real
// DescribeTaskDetail answer has the shape of the cloud's own examples.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { objectMembers } from "../src/schema/index.js";
import { video, withOpenvod } from "./helpers/openvod.js";
import {
  codeOf,
  REPO_ROOT,
  SECRET_ID,
  SECRET_KEY,
  sdkError,
  waitForTask,
  type OpenvodProcess,
} from "./helpers/server.js";
import { legacyForm, nowSec, rawRequest, tc3Headers, type RawAnswer } from "./helpers/sign.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MAX_BODY = 4096;

/** A TC3-signed raw POST with this body. */
function signedPost(
  server: OpenvodProcess,
  body: string,
  o: { action?: string; version?: string; ts?: number } = {},
): Promise<RawAnswer> {
  const headers = tc3Headers({ secretId: SECRET_ID, secretKey: SECRET_KEY, body, ...o });
  return rawRequest(server.port, "POST", "/", headers, body);
}

/** An HTTP-200 Tencent error answer with a UUID RequestId; returns its code. */
function errorCode(a: RawAnswer): string {
  assert.equal(a.status, 200, a.text);
  assert.match(String(a.headers["content-type"]), /^application\/json/);
  assert.ok(a.json?.Response?.Error, a.text);
  assert.match(a.json.Response.RequestId, UUID);
  assert.equal(typeof a.json.Response.Error.Message, "string");
  return a.json.Response.Error.Code;
}

describe("API protocol", () => {
  const { server, vod, url } = withOpenvod({
    media: { "clip.mp4": video({ width: 160, height: 120, seconds: 1, audio: false }) },
    env: { OPENVOD_MAX_BODY_BYTES: String(MAX_BODY) },
  });
  let taskId: string;
  let detail: any;

  before(async () => {
    taskId = (await vod.PullUpload({ MediaUrl: url("clip.mp4"), MediaName: "clip" })).TaskId!;
    detail = (await waitForTask(vod, taskId)).detail;
    assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
  });

  describe("errors through the official SDK", () => {
    it("unknown action → InvalidAction", async () => {
      const e = await sdkError(() => server.client().request("NoSuchAction", {}));
      assert.equal(e.code, "InvalidAction");
      assert.match(e.requestId, UUID);
    });

    it("an action of the spec openvod does not implement → UnsupportedOperation", async () => {
      const e = await sdkError(() =>
        server.client().LiveRealTimeClip({
          StreamId: "s",
          StartTime: "2024-01-01T00:00:00Z",
          EndTime: "2024-01-01T00:01:00Z",
        }),
      );
      assert.equal(e.code, "UnsupportedOperation");
    });

    it("wrong SecretKey → AuthFailure.SignatureFailure", async () => {
      for (const c of [
        server.client({ secretKey: "wrong" }),
        server.client({ secretKey: "wrong", signMethod: "HmacSHA256" }),
        server.client({ secretKey: "wrong", signMethod: "HmacSHA1", reqMethod: "GET" }),
      ]) {
        assert.equal(
          (await sdkError(() => c.DescribeTaskDetail({ TaskId: taskId }))).code,
          "AuthFailure.SignatureFailure",
        );
      }
    });

    it("unknown SecretId → AuthFailure.SecretIdNotFound", async () => {
      for (const signMethod of [undefined, "HmacSHA256"]) {
        const c = server.client({ secretId: "AKIDnobodyHasThisSecretId000000", signMethod });
        assert.equal(
          (await sdkError(() => c.DescribeTaskDetail({ TaskId: taskId }))).code,
          "AuthFailure.SecretIdNotFound",
        );
      }
    });

    it("missing required parameter → MissingParameter", async () => {
      const e = await sdkError(() => server.client().DescribeTaskDetail({} as any));
      assert.equal(e.code, "MissingParameter");
      assert.match(e.message, /TaskId/);
    });

    it("wrong parameter type → InvalidParameter", async () => {
      const e = await sdkError(() => server.client().DescribeTaskDetail({ TaskId: 5 as any }));
      assert.equal(e.code, "InvalidParameter");
      assert.match(e.message, /TaskId/);
    });

    it("unknown parameter → UnknownParameter", async () => {
      const e = await sdkError(() => server.client().DescribeTaskDetail({ TaskId: taskId, Nope: 1 } as any));
      assert.equal(e.code, "UnknownParameter");
    });

    it("a body over OPENVOD_MAX_BODY_BYTES → RequestSizeLimitExceeded", async () => {
      const big = "x".repeat(MAX_BODY + 100);
      for (const c of [server.client(), server.client({ signMethod: "HmacSHA256" })]) {
        const e = await sdkError(() => c.DescribeTaskDetail({ TaskId: big }));
        assert.equal(e.code, "RequestSizeLimitExceeded");
      }
      // A body just under the limit is read and answered normally.
      const ok = await sdkError(() =>
        server.client().DescribeTaskDetail({ TaskId: "x".repeat(MAX_BODY - 100) }),
      );
      assert.equal(ok.code, "InvalidParameterValue.TaskId");
    });
  });

  describe("crafted requests", () => {
    it("wrong X-TC-Version → NoSuchVersion", async () => {
      const body = JSON.stringify({ TaskId: taskId });
      assert.equal(errorCode(await signedPost(server, body, { version: "2017-01-01" })), "NoSuchVersion");
      // The same request with the right version succeeds, so the version alone made the difference.
      const ok = await signedPost(server, body);
      assert.equal(ok.status, 200);
      assert.equal(ok.json.Response.Status, "FINISH", ok.text);
    });

    it("timestamp 10 minutes old → AuthFailure.SignatureExpire", async () => {
      const body = JSON.stringify({ TaskId: taskId });
      assert.equal(
        errorCode(await signedPost(server, body, { ts: nowSec() - 600 })),
        "AuthFailure.SignatureExpire",
      );
      assert.equal(
        errorCode(await signedPost(server, body, { ts: nowSec() + 600 })),
        "AuthFailure.SignatureExpire",
      );
    });

    it("malformed Authorization header → AuthFailure.InvalidAuthorization", async () => {
      const body = "{}";
      const good = tc3Headers({ secretId: SECRET_ID, secretKey: SECRET_KEY, body });
      for (const auth of [
        "TC3-HMAC-SHA256 Credential=garbage",
        `TC3-HMAC-SHA256 Credential=${SECRET_ID}/2024-01-01/vod/tc3_request, SignedHeaders=content-type;host, Signature=zz`,
        "Basic dXNlcjpwYXNz",
      ]) {
        const a = await rawRequest(server.port, "POST", "/", { ...good, Authorization: auth }, body);
        assert.equal(errorCode(a), "AuthFailure.InvalidAuthorization", auth);
      }
    });

    it("a legacy-signed request sent again within the window → AuthFailure.SignatureFailure; TC3 repeats pass", async () => {
      const ts = nowSec();
      const send = (params: Record<string, string>, nonce: string) =>
        rawRequest(
          server.port,
          "POST",
          "/",
          { "Content-Type": "application/x-www-form-urlencoded" },
          legacyForm(params, {
            secretId: SECRET_ID,
            secretKey: SECRET_KEY,
            host: `127.0.0.1:${server.port}`,
            action: "DescribeTaskDetail",
            ts,
            nonce,
          }),
        );
      const nonce = String(10_000 + Math.floor(Math.random() * 50_000));
      const first = await send({ TaskId: taskId }, nonce);
      assert.equal(first.json.Response.Status, "FINISH", first.text);
      const replayed = await send({ TaskId: taskId }, nonce);
      assert.equal(errorCode(replayed), "AuthFailure.SignatureFailure");
      assert.match(replayed.json.Response.Error.Message, /received before/);
      // The same Nonce in another request (the SDKs draw it from 0..65535) is no replay.
      const other = await send({ TaskId: "no-such-task" }, nonce);
      assert.notEqual(other.json.Response.Error?.Code, "AuthFailure.SignatureFailure", other.text);
      // TC3 has no nonce: the same signed poll twice in a second is answered twice.
      const body = JSON.stringify({ TaskId: taskId });
      const headers = tc3Headers({ secretId: SECRET_ID, secretKey: SECRET_KEY, body, ts });
      for (let i = 0; i < 2; i++) {
        const a = await rawRequest(server.port, "POST", "/", headers, body);
        assert.equal(a.json.Response.Status, "FINISH", a.text);
      }
      // The official SDK in legacy mode: a fresh Nonce and signature each time, never refused.
      const vod = server.client({ signMethod: "HmacSHA256" });
      for (let i = 0; i < 20; i++) await vod.DescribeTaskDetail({ TaskId: taskId });
    });

    it("malformed JSON with a valid signature → InvalidParameter over HTTP 200", async () => {
      const a = await signedPost(server, '{"TaskId": "abc",');
      assert.equal(errorCode(a), "InvalidParameter");
      assert.deepEqual(Object.keys(a.json), ["Response"]);
      assert.deepEqual(Object.keys(a.json.Response).sort(), ["Error", "RequestId"]);
    });

    it("raw body over the limit → HTTP 200 RequestSizeLimitExceeded", async () => {
      const body = JSON.stringify({ TaskId: "y".repeat(MAX_BODY * 2) });
      assert.equal(errorCode(await signedPost(server, body)), "RequestSizeLimitExceeded");
      // Legacy form, no Authorization header.
      const form = legacyForm(
        { TaskId: "z".repeat(MAX_BODY * 2) },
        {
          secretId: SECRET_ID,
          secretKey: SECRET_KEY,
          host: `127.0.0.1:${server.port}`,
          action: "DescribeTaskDetail",
        },
      );
      const a = await rawRequest(
        server.port,
        "POST",
        "/",
        { "Content-Type": "application/x-www-form-urlencoded" },
        form,
      );
      assert.equal(errorCode(a), "RequestSizeLimitExceeded");
    });

    it("garbage on / still answers HTTP 200 with a Tencent error", async () => {
      const garbage = Buffer.from([0xff, 0x00, 0xfe, 0x13, 0x37, 0x80, 0x7b, 0x22]);
      const cases: [string, Record<string, string>, string | Buffer, string][] = [
        ["POST", { "Content-Type": "application/x-bogus" }, garbage, "InvalidParameter"],
        ["POST", {}, "", "InvalidParameter"],
        ["POST", { "Content-Type": "application/json" }, "", "InvalidParameter"],
        [
          "POST",
          { "Content-Type": "application/x-www-form-urlencoded" },
          "",
          "AuthFailure.InvalidAuthorization",
        ],
        ["GET", {}, "", "AuthFailure.InvalidAuthorization"],
        ["PUT", { "Content-Type": "application/json" }, "{}", "UnsupportedProtocol"],
        ["DELETE", {}, "", "UnsupportedProtocol"],
        ["PATCH", { "Content-Type": "text/plain" }, "hello", "UnsupportedProtocol"],
        ["OPTIONS", {}, "", "UnsupportedProtocol"],
        ["PROPFIND", {}, "", "UnsupportedProtocol"],
      ];
      for (const [method, headers, body, code] of cases) {
        const a = await rawRequest(server.port, method, "/", headers, body);
        assert.equal(errorCode(a), code, `${method} ${JSON.stringify(headers)}`);
      }
      // Other paths are not the API, and say so the way the SDK reads it.
      for (const [method, path] of [
        ["POST", "/index.html"],
        ["GET", "/v1/task?x=1"],
        ["DELETE", "/api/"],
        ["GET", "/%zz"],
      ]) {
        const a = await rawRequest(server.port, method!, path!, {});
        assert.equal(errorCode(a), "UnsupportedProtocol", `${method} ${path}`);
      }
      // Under /files and /cos an unmatched path stays a plain 404.
      for (const path of ["/files/no/such.mp4", "/cos"]) {
        assert.equal((await rawRequest(server.port, "GET", path, {})).status, 404, path);
      }
      // And the server is still healthy afterwards.
      const h = await rawRequest(server.port, "GET", "/healthz", {});
      assert.equal(h.status, 200);
    });

    it("headers over Node's limit → HTTP 200 RequestSizeLimitExceeded, and the SDK reads it", async () => {
      const big = { "X-Padding": "p".repeat(20_000) };
      const body = JSON.stringify({ TaskId: taskId });
      const a = await rawRequest(
        server.port,
        "POST",
        "/",
        {
          ...tc3Headers({ secretId: SECRET_ID, secretKey: SECRET_KEY, body }),
          ...big,
        },
        body,
      );
      assert.equal(errorCode(a), "RequestSizeLimitExceeded");
      assert.match(a.json.Response.Error.Message, /headers exceed \d+ bytes/);
      // The official SDK, with an oversized header of its own, reads it as an API error.
      const vod = server.client();
      const e = await sdkError(() => vod.request("DescribeTaskDetail", { TaskId: taskId }, { headers: big }));
      assert.equal(e.code, "RequestSizeLimitExceeded", e.message);
      assert.match(e.requestId, UUID);
      assert.equal((await rawRequest(server.port, "GET", "/healthz", {})).status, 200);
    });

    it("GET /healthz → 200", async () => {
      const a = await rawRequest(server.port, "GET", "/healthz", {});
      assert.equal(a.status, 200);
      assert.deepEqual(a.json, { status: "ok" });
    });
  });

  describe("every signature style runs real actions", () => {
    const styles = [
      { name: "TC3 POST", o: {} },
      { name: "TC3 GET", o: { reqMethod: "GET" } },
      { name: "HmacSHA256 POST", o: { signMethod: "HmacSHA256" } },
      { name: "HmacSHA1 GET", o: { signMethod: "HmacSHA1", reqMethod: "GET" } },
    ];
    for (const { name, o } of styles) {
      it(name, async () => {
        const vod = server.client(o);
        const d: any = await vod.DescribeTaskDetail({ TaskId: taskId });
        assert.equal(d.TaskType, "PullUpload");
        assert.equal(d.Status, "FINISH");
        assert.equal(d.PullUploadTask.FileId, detail.PullUploadTask.FileId);
        assert.equal(d.PullUploadTask.Progress, 100);
        assert.match(d.RequestId, UUID);

        const created = Date.parse(detail.CreateTime);
        const list: any = await vod.DescribeTasks({
          Status: "FINISH",
          CreateTime: {
            After: new Date(created - 60_000).toISOString(),
            Before: new Date(created + 60_000).toISOString(),
          },
          Sort: { Field: "CreateTime", Order: "Asc" },
          Limit: 5,
        });
        assert.deepEqual(
          list.TaskSet.map((t: any) => t.TaskId),
          [taskId],
        );
        assert.equal(list.ScrollToken, "");
        // A nested filter that excludes the task really filters.
        const none: any = await vod.DescribeTasks({
          CreateTime: { Before: new Date(created - 60_000).toISOString() },
          Limit: 5,
        });
        assert.deepEqual(none.TaskSet, []);
      });
    }
  });

  describe("response shape", () => {
    const examplesPath = join(REPO_ROOT, "..", "shared", "spec", "vod-2018-07-17", "examples.json");
    const skip = existsSync(examplesPath) ? false : `examples.json not found at ${examplesPath}`;

    it("DescribeTaskDetail of a finished PullUpload has the examples' top-level keys", { skip }, async () => {
      const examples = JSON.parse(readFileSync(examplesPath, "utf8")).actions.DescribeTaskDetail as {
        output: string;
      }[];
      assert.ok(examples.length > 0);
      const members = objectMembers("DescribeTaskDetailResponse");
      const names = new Set(members.map((m) => m.name));
      const real: any = await server.client().DescribeTaskDetail({ TaskId: taskId });
      const keys = Object.keys(real).sort();
      for (const k of keys) assert.ok(names.has(k), `${k} is not a member of DescribeTaskDetailResponse`);
      for (const m of members) if (m.outputRequired) assert.ok(m.name in real, `${m.name} missing`);
      for (const ex of examples) {
        const response = JSON.parse(ex.output).Response;
        assert.deepEqual(keys, Object.keys(response).sort());
      }
      // Exactly one payload is set, the rest are null, as in the examples.
      const payloads = members.filter((m) => m.kind === "object" && m.name in real);
      assert.deepEqual(
        payloads.filter((m) => real[m.name] !== null).map((m) => m.name),
        ["PullUploadTask"],
      );
      for (const t of ["CreateTime", "BeginProcessTime", "FinishTime"])
        assert.match(real[t], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, t);
      assert.equal(real.PullUploadTask.TaskId, taskId);
    });
  });
});

describe("rate limit", () => {
  const { server } = withOpenvod({ env: { OPENVOD_RATE_LIMIT: "5" } });

  it("limits each action per second, each on its own count", async () => {
    const vod = server.client();
    // The limiter counts per one-second window; a round that straddles a window boundary cannot
    // prove anything about the second action, so it is repeated (the proof is explained below).
    for (let round = 0; round < 5; round++) {
      const burst = await Promise.all(
        Array.from({ length: 20 }, () => codeOf(vod.DescribeTaskDetail({ TaskId: "1250000000-pull-0t0" }))),
      );
      for (const c of burst)
        assert.ok(c === "InvalidParameterValue.TaskId" || c === "RequestLimitExceeded", c);
      const limited = burst.filter((c) => c === "RequestLimitExceeded").length;
      // The first 5 of a window always pass.
      assert.ok(limited <= 15, `${limited} of 20 limited`);
      const other = await codeOf(vod.DescribeTasks({ Limit: 1 }));
      const again = await codeOf(vod.DescribeTaskDetail({ TaskId: "1250000000-pull-0t0" }));
      // `again` still limited means DescribeTasks ran in the same window after ≥ 5
      // DescribeTaskDetail calls had been counted: it must not have been limited by them.
      if (again === "RequestLimitExceeded") {
        assert.ok(limited > 0);
        assert.equal(other, "ok");
        return;
      }
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
    }
    assert.fail("never got a burst and a second action into the same one-second window");
  });
});
