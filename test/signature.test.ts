import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as tencentcloud from "tencentcloud-sdk-nodejs-vod";
import { ApiError } from "../src/protocol/errors.js";
import { authenticate, type SignedRequest } from "../src/protocol/signature.js";
import { unflatten } from "../src/protocol/params.js";
import { ReplayRecord } from "../src/protocol/replay.js";
import { legacyForm as signLegacy, tc3Headers as signTc3, type Tc3Options } from "./helpers/sign.js";

// The SDK's fetch wrapper routes everything through http_proxy when it is set.
for (const k of ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"]) delete process.env[k];

const Client = tencentcloud.vod.v20180717.Client;
const ID = "AKIDopenvodTest";
const KEY = "openvodTestSecretKey";
const keys = new Map([[ID, KEY]]);
const now = () => Math.floor(Date.now() / 1000);

let clockOffset = 0;
let port = 0;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const signed: SignedRequest = {
      method: req.method ?? "GET",
      headers: req.headers,
      rawQuery: q < 0 ? "" : url.slice(q + 1),
      body: Buffer.concat(chunks),
    };
    let response: Record<string, unknown>;
    try {
      const a = authenticate(signed, (id) => keys.get(id), now() + clockOffset);
      response = {
        RequestId: "req-ok",
        Action: a.action,
        Style: a.style,
        Version: a.version,
        Region: a.region,
        Language: a.language,
        Token: a.token,
        Coerce: a.coerceStrings,
        Params: JSON.stringify(a.params),
      };
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      response = { Error: { Code: e.code, Message: e.message }, RequestId: "req-err" };
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ Response: response }));
  });
});

type Profile = { signMethod?: "TC3-HMAC-SHA256" | "HmacSHA256" | "HmacSHA1"; reqMethod?: "POST" | "GET" };
const client = (
  p: Profile = {},
  credential: { secretId: string; secretKey: string; token?: string } = { secretId: ID, secretKey: KEY },
  language?: "en-US",
) =>
  new Client({
    credential,
    region: "ap-guangzhou",
    // Object.assign in the SDK would let an explicit `undefined` override its defaults.
    profile: {
      ...(p.signMethod && { signMethod: p.signMethod }),
      ...(language && { language }),
      httpProfile: {
        endpoint: `127.0.0.1:${port}`,
        protocol: "http://",
        ...(p.reqMethod && { reqMethod: p.reqMethod }),
      },
    },
  });

const rejectsWith = (p: Promise<unknown>, code: string, message?: RegExp) =>
  assert.rejects(p, (e: { code?: string; message: string }) => {
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });

/** Raw HTTP to the test server; returns the parsed `Response`. */
function send(method: string, path: string, headers: Record<string, string>, body = ""): Promise<any> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString()).Response));
    });
    r.on("error", reject);
    r.end(body);
  });
}

/** The shared independent signers (test/helpers/sign.ts), bound to this file's key pair. */
const tc3Headers = (o: Omit<Tc3Options, "secretId" | "secretKey">) =>
  signTc3({ secretId: ID, secretKey: KEY, ...o });

/** Legacy form body signed like abstract_client.js formatRequestData. */
const legacyForm = (params: Record<string, string>, alg: "sha1" | "sha256" = "sha256") =>
  signLegacy(params, { secretId: ID, secretKey: KEY, host: `127.0.0.1:${port}`, alg });
const FORM = { "Content-Type": "application/x-www-form-urlencoded" };

before(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.close();
  server.closeAllConnections();
});

const processMediaReq = {
  FileId: "5285890781763144364",
  MediaProcessTask: {
    TranscodeTaskSet: [{ Definition: 100010 }, { Definition: 100020, WatermarkSet: [{ Definition: 10 }] }],
  },
  SessionContext: "a b+c&d=é/?",
  TasksPriority: 0,
};
const processMediaStrings = {
  FileId: "5285890781763144364",
  MediaProcessTask: {
    TranscodeTaskSet: [
      { Definition: "100010" },
      { Definition: "100020", WatermarkSet: [{ Definition: "10" }] },
    ],
  },
  SessionContext: "a b+c&d=é/?",
  TasksPriority: "0",
};

describe("official SDK", () => {
  it("TC3 POST JSON", async () => {
    const r: any = await client().DescribeTaskDetail({
      TaskId: "1250000000-procedurev2-abc",
      SubAppId: 1500000000,
    });
    assert.equal(r.Style, "TC3-HMAC-SHA256");
    assert.equal(r.Action, "DescribeTaskDetail");
    assert.equal(r.Version, "2018-07-17");
    assert.equal(r.Region, "ap-guangzhou");
    assert.equal(r.Coerce, false);
    assert.deepEqual(JSON.parse(r.Params), { TaskId: "1250000000-procedurev2-abc", SubAppId: 1500000000 });
  });

  it("TC3 POST carries token and language", async () => {
    const r: any = await client(
      {},
      { secretId: ID, secretKey: KEY, token: "tmp-token" },
      "en-US",
    ).ProcessMedia(processMediaReq);
    assert.equal(r.Token, "tmp-token");
    assert.equal(r.Language, "en-US");
    assert.deepEqual(JSON.parse(r.Params), processMediaReq);
  });

  it("TC3 GET query with nested object and list", async () => {
    const req = {
      Status: "FINISH",
      Limit: 2,
      CreateTime: { After: "2024-01-01T00:00:00Z" },
      FileIds: ["f1", "f2"],
    };
    const r: any = await client({ reqMethod: "GET" }).DescribeTasks(req);
    assert.equal(r.Style, "TC3-HMAC-SHA256");
    assert.equal(r.Action, "DescribeTasks");
    assert.equal(r.Coerce, true);
    assert.deepEqual(JSON.parse(r.Params), {
      Status: "FINISH",
      Limit: "2",
      CreateTime: { After: "2024-01-01T00:00:00Z" },
      FileIds: ["f1", "f2"],
    });
  });

  it("legacy HmacSHA256 form POST", async () => {
    const r: any = await client(
      { signMethod: "HmacSHA256" },
      { secretId: ID, secretKey: KEY, token: "tk" },
      "en-US",
    ).ProcessMedia(processMediaReq);
    assert.equal(r.Style, "HmacSHA256");
    assert.equal(r.Action, "ProcessMedia");
    assert.equal(r.Version, "2018-07-17");
    assert.equal(r.Region, "ap-guangzhou");
    assert.equal(r.Token, "tk");
    assert.equal(r.Language, "en-US");
    assert.equal(r.Coerce, true);
    assert.deepEqual(JSON.parse(r.Params), processMediaStrings);
  });

  it("legacy HmacSHA1 GET query", async () => {
    const r: any = await client({ signMethod: "HmacSHA1", reqMethod: "GET" }).ProcessMedia(processMediaReq);
    assert.equal(r.Style, "HmacSHA1");
    assert.deepEqual(JSON.parse(r.Params), processMediaStrings);
  });

  for (const p of [
    {},
    { reqMethod: "GET" },
    { signMethod: "HmacSHA256" },
    { signMethod: "HmacSHA1", reqMethod: "GET" },
  ] as Profile[]) {
    const name = `${p.signMethod ?? "TC3"} ${p.reqMethod ?? "POST"}`;
    it(`wrong secret key → SignatureFailure (${name})`, () =>
      rejectsWith(
        client(p, { secretId: ID, secretKey: "wrong" }).DescribeTaskDetail({ TaskId: "t" }),
        "AuthFailure.SignatureFailure",
      ));
    it(`unknown SecretId → SecretIdNotFound (${name})`, () =>
      rejectsWith(
        client(p, { secretId: "AKIDnope", secretKey: KEY }).DescribeTaskDetail({ TaskId: "t" }),
        "AuthFailure.SecretIdNotFound",
      ));
    it(`server clock 600 s ahead → SignatureExpire (${name})`, async () => {
      clockOffset = 600;
      try {
        await rejectsWith(client(p).DescribeTaskDetail({ TaskId: "t" }), "AuthFailure.SignatureExpire");
      } finally {
        clockOffset = 0;
      }
    });
  }
});

describe("crafted requests", () => {
  it("malformed or foreign Authorization → InvalidAuthorization", async () => {
    for (const auth of [
      "TC3-HMAC-SHA256 Credential=bad",
      `TC3-HMAC-SHA256 Credential=${ID}/2024-01-01/vod/tc3_request, SignedHeaders=content-type;host, Signature=xyz`,
      `TC3-HMAC-SHA256 Credential=${ID}/2024-01-01/vod/tc3_request, SignedHeaders=content-type, Signature=${"0".repeat(64)}`,
      "Bearer abc",
      "SKIP",
    ]) {
      const r = await send("POST", "/", { ...tc3Headers({ body: "{}" }), Authorization: auth }, "{}");
      assert.equal(r.Error.Code, "AuthFailure.InvalidAuthorization", auth);
    }
  });

  it("unsigned request → InvalidAuthorization", async () => {
    const r = await send("GET", "/?Action=DescribeTasks&Version=2018-07-17", {});
    assert.equal(r.Error.Code, "AuthFailure.InvalidAuthorization");
    assert.equal(r.Error.Message, "Request is not signed.");
  });

  it("valid TC3 signature accepted from a raw client", async () => {
    const body = '{"TaskId":"t1"}';
    const r = await send("POST", "/", tc3Headers({ body }), body);
    assert.equal(r.Action, "DescribeTaskDetail");
    assert.deepEqual(JSON.parse(r.Params), { TaskId: "t1" });
  });

  it("host signed with its port, or values lowercased, is accepted too", async () => {
    const body = "{}";
    const a = await send("POST", "/", tc3Headers({ body, signedHost: `127.0.0.1:${port}` }), body);
    assert.equal(a.Action, "DescribeTaskDetail");
    const b = await send(
      "POST",
      "/",
      tc3Headers({ body, contentType: "application/JSON; charset=UTF-8", lower: true }),
      body,
    );
    assert.equal(b.Action, "DescribeTaskDetail");
  });

  it("tampered body → SignatureFailure", async () => {
    const r = await send("POST", "/", tc3Headers({ body: '{"TaskId":"t1"}' }), '{"TaskId":"t2"}');
    assert.equal(r.Error.Code, "AuthFailure.SignatureFailure");
  });

  it("scope date not the timestamp's UTC date → SignatureFailure", async () => {
    const r = await send("POST", "/", tc3Headers({ body: "{}", date: "2020-01-01" }), "{}");
    assert.equal(r.Error.Code, "AuthFailure.SignatureFailure");
  });

  it("missing X-TC-Action → MissingParameter", async () => {
    const r = await send("POST", "/", tc3Headers({ body: "{}", action: "" }), "{}");
    assert.equal(r.Error.Code, "MissingParameter");
    assert.match(r.Error.Message, /X-TC-Action/);
  });

  it("validly signed but malformed or non-object JSON → InvalidParameter", async () => {
    const bad = await send("POST", "/", tc3Headers({ body: '{"TaskId":' }), '{"TaskId":');
    assert.equal(bad.Error.Code, "InvalidParameter");
    assert.equal(bad.Error.Message, "The request body is not valid JSON.");
    for (const body of ["[1]", "null", '"x"', '{"A":{"__proto__":{"polluted":1}}}', '{"constructor":1}']) {
      const r = await send("POST", "/", tc3Headers({ body }), body);
      assert.equal(r.Error.Code, "InvalidParameter", body);
    }
  });

  it("legacy form with a __proto__ key → InvalidParameter, no pollution", async () => {
    const r = await send("POST", "/", FORM, legacyForm({ "__proto__.polluted": "1" }));
    assert.equal(r.Error.Code, "InvalidParameter");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("legacy form: signed by the test, missing Nonce, tampered value", async () => {
    const ok = await send("POST", "/", FORM, legacyForm({ "A.0": "x", "A.1": "y" }, "sha1"));
    assert.equal(ok.Style, "HmacSHA1");
    assert.deepEqual(JSON.parse(ok.Params), { A: ["x", "y"] });

    const noNonce = new URLSearchParams(legacyForm({}));
    noNonce.delete("Nonce");
    const r1 = await send("POST", "/", FORM, noNonce.toString());
    assert.equal(r1.Error.Code, "MissingParameter");
    assert.match(r1.Error.Message, /Nonce/);

    const tampered = new URLSearchParams(legacyForm({ FileId: "1" }));
    tampered.set("FileId", "2");
    const r2 = await send("POST", "/", FORM, tampered.toString());
    assert.equal(r2.Error.Code, "AuthFailure.SignatureFailure");
  });
});

describe("authenticate() directly", () => {
  const body = Buffer.from("{}");
  const req = (): SignedRequest => ({
    method: "POST",
    headers: Object.fromEntries(
      Object.entries({ ...tc3Headers({ body: "{}" }), Host: "127.0.0.1:9" }).map(([k, v]) => [
        k.toLowerCase(),
        v,
      ]),
    ),
    rawQuery: "",
    body,
  });
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof ApiError);
      return e.code;
    }
    return "ok";
  };
  const lookup = (id: string) => keys.get(id);

  it("±300 s window", () => {
    assert.equal(
      code(() => authenticate(req(), lookup, now())),
      "ok",
    );
    assert.equal(
      code(() => authenticate(req(), lookup, now() + 600)),
      "AuthFailure.SignatureExpire",
    );
    assert.equal(
      code(() => authenticate(req(), lookup, now() - 600)),
      "AuthFailure.SignatureExpire",
    );
  });

  it("bad timestamp header and unsupported method", () => {
    const r = req();
    r.headers["x-tc-timestamp"] = "soon";
    assert.equal(
      code(() => authenticate(r, lookup, now())),
      "InvalidParameter",
    );
    delete r.headers["x-tc-timestamp"];
    assert.equal(
      code(() => authenticate(r, lookup, now())),
      "MissingParameter",
    );
    assert.equal(
      code(() => authenticate({ ...req(), method: "PUT" }, lookup, now())),
      "UnsupportedProtocol",
    );
  });

  it("never echoes the secret key", () => {
    const r = req();
    r.body = Buffer.from("{ }");
    try {
      authenticate(r, lookup, now());
      assert.fail("expected a failure");
    } catch (e) {
      assert.ok(e instanceof ApiError && !e.message.includes(KEY));
    }
  });
});

describe("ReplayRecord", () => {
  it("refuses a key again until it expires, and stays bounded", () => {
    const r = new ReplayRecord(3);
    assert.equal(r.firstSeen("a", 100, 50), true);
    assert.equal(r.firstSeen("a", 100, 99), false);
    assert.equal(r.firstSeen("a", 100, 100), false);
    // Past its Timestamp's window the request would be refused as expired: the entry may go.
    assert.equal(r.firstSeen("a", 300, 101), true);
    for (const k of ["b", "c", "d", "e"]) assert.equal(r.firstSeen(k, 300, 102), true);
    assert.ok(r.size <= 3, `size ${r.size}`);
    // The newest are kept; the oldest went first.
    assert.equal(r.firstSeen("e", 300, 103), false);
    assert.equal(r.firstSeen("a", 300, 103), true);
  });
});

describe("unflatten", () => {
  it("nests, turning contiguous 0..n-1 runs into arrays", () => {
    assert.deepEqual(
      unflatten([
        ["A.B.0.C", "1"],
        ["A.B.1.C", "2"],
        ["A.D", "x"],
        ["G.0", "g"],
        ["G.2", "h"],
        ["H.01", "z"],
        ["toString", "t"],
      ]),
      { A: { B: [{ C: "1" }, { C: "2" }], D: "x" }, G: { 0: "g", 2: "h" }, H: { "01": "z" }, toString: "t" },
    );
    assert.deepEqual(unflatten([["0", "a"]]), { 0: "a" });
  });

  it("rejects dangerous, conflicting, empty, too deep and too many keys", () => {
    const bad: [string, string][][] = [
      [["__proto__.x", "1"]],
      [["a.constructor.prototype", "1"]],
      [["a.prototype", "1"]],
      [
        ["a", "1"],
        ["a.b", "2"],
      ],
      [
        ["a.b", "1"],
        ["a", "2"],
      ],
      [
        ["a", "1"],
        ["a", "2"],
      ],
      [["a..b", "1"]],
      [["", "1"]],
      [[Array.from({ length: 17 }, () => "a").join("."), "1"]],
      Array.from({ length: 2001 }, (_, i) => [`k${i}`, "v"] as [string, string]),
    ];
    for (const pairs of bad)
      assert.throws(
        () => unflatten(pairs),
        (e) => e instanceof ApiError && e.code === "InvalidParameter",
      );
    assert.doesNotThrow(() => unflatten([[Array.from({ length: 16 }, () => "a").join("."), "1"]]));
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});
