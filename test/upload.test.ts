// The upload flow of the official upload SDKs against a real openvod process: ApplyUpload, the
// COS requests of cos-nodejs-sdk-v5 (putObject, sliceUploadFile) to openvod's own COS endpoint,
// CommitUpload. Driven by the real vod-node-sdk (with the two test-side redirections it needs)
// and by tencentcloud-sdk-nodejs-vod + cos-nodejs-sdk-v5 (no patching), then checked through
// DescribeMediaInfos and the bytes the FileUrl serves. Every refusal has its exact COS or API code.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import COS from "cos-nodejs-sdk-v5";
import COS2 from "cos-nodejs-sdk-v5-v2";
import { cosSignature, parseCosAuthorization } from "../src/cos/signature.js";
import { locateMediaTools } from "../src/media/tools.js";
import { makeAudio, makeImage, makeVideo } from "./helpers/media.js";
import {
  APP_ID,
  REPO_ROOT,
  SECRET_ID,
  SECRET_KEY,
  sdkError,
  startOpenvod,
  tempDir,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

const require = createRequire(import.meta.url);
const MiB = 1024 * 1024;
/** The test server's OPENVOD_UPLOAD_MAX_BYTES: small, so oversized uploads are cheap to send. */
const MAX_BYTES = 5 * MiB;
const TTL_SEC = 60;

// ---------------------------------------------------------------------------------------------
// The two test-side redirections vod-node-sdk needs (it has no endpoint option): the old API
// SDK's endpoint, and a COS constructor that adds Protocol/Ip. Installed before vod-node-sdk
// loads; this test file's own COS import above keeps the unpatched constructor.
let redirectPort = 0;
// cos-nodejs-sdk-v5 keeps a cache of resumable upload ids on disk (~/.config by default): here.
const confDir = tempDir("openvod-cos-conf-");
after(() => rmSync(confDir, { recursive: true, force: true }));
const vodRequire = createRequire(require.resolve("vod-node-sdk"));
const AbstractClient = vodRequire("tencentcloud-sdk-nodejs/tencentcloud/common/abstract_client");
AbstractClient.prototype.getEndpoint = function (this: any) {
  this.profile.httpProfile.protocol = "http://";
  return `127.0.0.1:${redirectPort}`;
};
const cosPath = vodRequire.resolve("cos-nodejs-sdk-v5");
vodRequire("cos-nodejs-sdk-v5");
const OriginalCOS = require.cache[cosPath]!.exports;
require.cache[cosPath]!.exports = function RedirectedCOS(options: Record<string, unknown>) {
  return new OriginalCOS({
    ...options,
    Protocol: "http:",
    Ip: `127.0.0.1:${redirectPort}`,
    ConfCwd: confDir,
  });
};
const { VodUploadClient, VodUploadRequest } = vodRequire("vod-node-sdk");

// ---------------------------------------------------------------------------------------------

interface Applied {
  StorageBucket: string;
  StorageRegion: string;
  VodSessionKey: string;
  MediaStoragePath: string;
  CoverStoragePath: string;
  TempCertificate: { SecretId: string; SecretKey: string; Token: string; ExpiredTime: number };
}

type Style = "domain" | "ip" | "bare";
/** The two majors of cos-nodejs-sdk-v5 in use: 2.x (vod-node-sdk's) and 3.x (openvod's own and npm's latest; it also signs Content-Type). */
const COS_MAJORS = { 2: COS2 as unknown as typeof COS, 3: COS } as const;

function cosFor(
  server: OpenvodProcess,
  a: Applied,
  style: Style,
  over: Record<string, unknown> = {},
  Cos: typeof COS = COS,
): COS {
  const c = a.TempCertificate;
  const where =
    style === "ip"
      ? { Ip: `127.0.0.1:${server.port}` }
      : { Domain: style === "domain" ? `127.0.0.1:${server.port}/cos/{Bucket}` : `127.0.0.1:${server.port}` };
  return new Cos({
    SecretId: c.SecretId,
    SecretKey: c.SecretKey,
    XCosSecurityToken: c.Token,
    Protocol: "http:",
    ConfCwd: confDir,
    ...where,
    ...over,
  });
}

/** Runs a COS SDK call; resolves with its data, rejects with its error. */
function cos<T = any>(fn: (cb: (err: any, data: any) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));
}

interface CosFailure {
  code: string;
  statusCode: number;
  requestId: string;
  message: string;
}

async function cosFailure(fn: (cb: (err: any, data: any) => void) => void): Promise<CosFailure> {
  try {
    await cos(fn);
  } catch (err: any) {
    return {
      code: err.code,
      statusCode: err.statusCode,
      requestId: err.headers?.["x-cos-request-id"] ?? "",
      message: err.message,
    };
  }
  throw new Error("expected the COS call to fail");
}

const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");
const md5b64 = (b: Buffer) => createHash("md5").update(b).digest("base64");
const key = (path: string) => path.replace(/^\/+/, "");

async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  return Buffer.from(await res.arrayBuffer());
}

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A COS request signed by hand (cos-nodejs-sdk-v5's own getAuthorization), sent as is. */
function rawCos(
  server: OpenvodProcess,
  a: Applied,
  o: {
    method: string;
    path: string;
    signPath: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    /** Headers sent in place of the signed ones (a request changed on its way). */
    altered?: Record<string, string>;
    body?: Buffer;
    chunked?: boolean;
  },
): Promise<RawReply> {
  const host = `127.0.0.1:${server.port}`;
  const headers: Record<string, string> = { host, ...o.headers };
  if (o.body && !o.chunked) headers["content-length"] = String(o.body.length);
  const c = a.TempCertificate;
  const authorization = COS.getAuthorization({
    SecretId: c.SecretId,
    SecretKey: c.SecretKey,
    Method: o.method,
    Pathname: o.signPath,
    Query: o.query ?? {},
    Headers: headers,
  } as any);
  const qs = new URLSearchParams(o.query ?? {}).toString();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port: server.port,
        method: o.method,
        path: o.path + (qs ? `?${qs}` : ""),
        headers: { ...headers, ...o.altered, authorization, "x-cos-security-token": c.Token },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    // The server may answer (and close) before a refused body is all sent.
    req.on("error", (err) => reject(err));
    if (o.chunked && o.body) {
      for (let i = 0; i < o.body.length; i += 256 * 1024) req.write(o.body.subarray(i, i + 256 * 1024));
    } else if (o.body) req.write(o.body);
    req.end();
  });
}

function xmlCode(body: string): string {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? "";
}

// Upload sessions are in both stores (OPENVOD_TEST_ON_POSTGRES=1 runs these on PostgreSQL too).
describe("upload: ApplyUpload, the COS endpoint, CommitUpload", () => {
  let server: OpenvodProcess;
  let vod: Vod;
  let dir: string;
  let clip: Buffer;
  let cover: Buffer;
  let long: Buffer;

  before(async () => {
    dir = tempDir();
    const tools = await locateMediaTools();
    await Promise.all([
      makeVideo(tools, join(dir, "clip.mp4"), { width: 320, height: 240, seconds: 2 }),
      makeImage(tools, join(dir, "cover.png"), 160, 120),
      // PCM audio: about 3.1 MB, so 1 MiB slices make four parts.
      makeAudio(tools, join(dir, "long.wav"), 33),
    ]);
    writeFileSync(join(dir, "notes.mp4"), "this is not a video\n".repeat(100));
    clip = readFileSync(join(dir, "clip.mp4"));
    cover = readFileSync(join(dir, "cover.png"));
    long = readFileSync(join(dir, "long.wav"));
    assert.ok(long.length > 3 * MiB && long.length < 4 * MiB, `long.wav has ${long.length} bytes`);
    server = await startOpenvod({
      env: {
        OPENVOD_TEST_HOOKS: "true",
        OPENVOD_UPLOAD_MAX_BYTES: String(MAX_BYTES),
        OPENVOD_UPLOAD_SESSION_TTL_SEC: String(TTL_SEC),
      },
    });
    redirectPort = server.port;
    vod = server.client();
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function apply(params: Record<string, unknown> = {}): Promise<Applied> {
    return (await vod.ApplyUpload({ MediaType: "mp4", ...params } as any)) as unknown as Applied;
  }

  async function checkMedia(fileId: string, bytes: Buffer, name: string): Promise<any> {
    const infos: any = await vod.DescribeMediaInfos({ FileIds: [fileId] });
    assert.equal(infos.MediaInfoSet.length, 1);
    const info = infos.MediaInfoSet[0];
    assert.equal(info.BasicInfo.Name, name);
    assert.equal(info.BasicInfo.SourceInfo.SourceType, "Upload");
    assert.equal(info.MetaData.Size, bytes.length);
    assert.equal(sha1(await fetchBytes(info.BasicInfo.MediaUrl)), sha1(bytes));
    return info;
  }

  it("ApplyUpload answers a bucket, two keys and temporary credentials", async () => {
    const a = await apply({ CoverType: "png", StorageRegion: "ap-chongqing" });
    assert.match(a.StorageBucket, /^[a-z\d-]+-\d+$/);
    assert.ok(a.StorageBucket.endsWith(`-${APP_ID}`));
    assert.equal(a.StorageRegion, "ap-chongqing");
    assert.match(a.MediaStoragePath, /^\/.+\.mp4$/);
    assert.match(a.CoverStoragePath, /^\/.+\.png$/);
    assert.ok(a.VodSessionKey.length >= 32);
    const t = a.TempCertificate;
    assert.ok(t.SecretId && t.SecretKey && t.Token);
    const now = Date.now() / 1000;
    assert.ok(
      t.ExpiredTime > now + TTL_SEC - 5 && t.ExpiredTime <= now + TTL_SEC + 5,
      `ExpiredTime ${t.ExpiredTime}`,
    );
    const b = await apply();
    assert.equal(b.StorageRegion, "ap-guangzhou");
    assert.equal(b.CoverStoragePath, "");
    assert.notEqual(b.MediaStoragePath, a.MediaStoragePath);
    assert.notEqual(b.TempCertificate.SecretId, t.SecretId);
  });

  it("vod-node-sdk uploads a video with a cover (legacy-signed API, multipart COS on the bucket host)", async () => {
    const client = new VodUploadClient(SECRET_ID, SECRET_KEY);
    const req = new VodUploadRequest();
    req.MediaFilePath = join(dir, "clip.mp4");
    req.CoverFilePath = join(dir, "cover.png");
    req.SourceContext = "from vod-node-sdk";
    const res: any = await new Promise((resolve, reject) =>
      client.upload("ap-guangzhou", req, (err: any, data: any) => (err ? reject(err) : resolve(data))),
    );
    assert.match(res.FileId, /^\d{19}$/);
    assert.ok(res.MediaUrl.startsWith(server.url + "/files/"));
    const info = await checkMedia(res.FileId, clip, "clip");
    assert.equal(info.BasicInfo.Type, "mp4");
    assert.equal(info.BasicInfo.Category, "Video");
    assert.equal(info.BasicInfo.SourceInfo.SourceContext, "from vod-node-sdk");
    assert.equal(info.MetaData.Width, 320);
    assert.equal(info.MetaData.Height, 240);
    assert.equal(info.BasicInfo.CoverUrl, res.CoverUrl);
    assert.equal(sha1(await fetchBytes(res.CoverUrl)), sha1(cover));
  });

  it("tencentcloud-sdk-nodejs-vod + cos-nodejs-sdk-v5: putObject, with Domain HOST:PORT/cos/{Bucket}", async () => {
    const a = await apply({ MediaName: "simple", ClassId: 0, SourceContext: "ctx" });
    const c = cosFor(server, a, "domain");
    const put = await cos((cb) =>
      c.putObject(
        { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath, Body: clip },
        cb,
      ),
    );
    assert.equal(put.statusCode, 200);
    assert.equal(put.ETag, `"${createHash("md5").update(clip).digest("hex")}"`);
    const head = await cos((cb) =>
      c.headObject({ Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath }, cb),
    );
    assert.equal(Number(head.headers["content-length"]), clip.length);
    const r: any = await vod.CommitUpload({ VodSessionKey: a.VodSessionKey });
    assert.equal(r.CoverUrl, "");
    const info = await checkMedia(r.FileId, clip, "simple");
    assert.equal(info.BasicInfo.SourceInfo.SourceContext, "ctx");
  });

  it("putObject with Domain HOST:PORT (no bucket in the request) and HeadObject before and after", async () => {
    const a = await apply({ MediaName: "bare" });
    const c = cosFor(server, a, "bare");
    const params = { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath };
    const missing = await cosFailure((cb) => c.headObject(params, cb));
    assert.equal(missing.statusCode, 404);
    assert.ok(missing.requestId, "x-cos-request-id on a 404");
    await cos((cb) => c.putObject({ ...params, Body: clip }, cb));
    const r: any = await vod.CommitUpload({ VodSessionKey: a.VodSessionKey });
    await checkMedia(r.FileId, clip, "bare");
  });

  it("sliceUploadFile goes multipart (1 MiB slices, 4 parts) with the Ip option and resumes an interrupted upload", async () => {
    const a = await apply({ MediaType: "wav", MediaName: "long" });
    const c = cosFor(server, a, "ip");
    const base = { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath };
    // An upload interrupted after its first part: sliceUploadFile finds it (ListMultipartUploads,
    // ListParts), checks the part's ETag and sends only the rest.
    const init = await cos((cb) => c.multipartInit(base, cb));
    const first = long.subarray(0, MiB);
    await cos((cb) =>
      c.multipartUpload(
        { ...base, UploadId: init.UploadId, PartNumber: 1, Body: first, ContentLength: MiB } as any,
        cb,
      ),
    );
    const listed = await cos((cb) =>
      c.multipartList(
        { Bucket: a.StorageBucket, Region: a.StorageRegion, Prefix: key(a.MediaStoragePath) } as any,
        cb,
      ),
    );
    assert.deepEqual(
      listed.Upload.map((u: any) => u.UploadId),
      [init.UploadId],
    );
    const parts = await cos((cb) => c.multipartListPart({ ...base, UploadId: init.UploadId }, cb));
    assert.deepEqual(
      parts.Part.map((p: any) => [p.PartNumber, p.ETag, p.Size]),
      [["1", `"${createHash("md5").update(first).digest("hex")}"`, String(MiB)]],
    );
    const done = await cos((cb) =>
      c.sliceUploadFile({ ...base, FilePath: join(dir, "long.wav"), SliceSize: MiB } as any, cb),
    );
    assert.match(done.ETag, /^"[0-9a-f]{32}-4"$/);
    const after = await cos((cb) =>
      c.multipartList({ Bucket: a.StorageBucket, Region: a.StorageRegion, Prefix: "" } as any, cb),
    );
    assert.deepEqual(after.Upload, [], "the completed upload is gone from the list");
    const r: any = await vod.CommitUpload({ VodSessionKey: a.VodSessionKey });
    const info = await checkMedia(r.FileId, long, "long");
    assert.equal(info.BasicInfo.Category, "Audio");
    assert.equal(info.BasicInfo.Type, "wav");
  });

  for (const major of [2, 3] as const) {
    for (const style of ["domain", "ip", "bare"] as const) {
      it(`cos-nodejs-sdk-v5 ${major}.x, ${style} addressing: putObject and sliceUploadFile of an .mp4 keep its Content-Type`, async () => {
        const Cos = COS_MAJORS[major];
        assert.equal((Cos as any).version.split(".")[0], String(major));
        const put = await apply({ MediaName: `put-${major}-${style}` });
        assert.match(put.MediaStoragePath, /\.mp4$/);
        const c = cosFor(server, put, style, {}, Cos);
        const base = { Bucket: put.StorageBucket, Region: put.StorageRegion, Key: put.MediaStoragePath };
        // A stream of a file: the SDK (3.x) sends the file's type, video/mp4, and signs it.
        await cos((cb) =>
          c.putObject(
            { ...base, Body: createReadStream(join(dir, "clip.mp4")), ContentLength: clip.length },
            cb,
          ),
        );
        const head = await cos((cb) => c.headObject(base, cb));
        assert.equal(Number(head.headers["content-length"]), clip.length);
        if (major === 3) assert.equal(head.headers["content-type"], "video/mp4");
        const r: any = await vod.CommitUpload({ VodSessionKey: put.VodSessionKey });
        await checkMedia(r.FileId, clip, `put-${major}-${style}`);

        const slice = await apply({ MediaName: `slice-${major}-${style}` });
        const cs = cosFor(server, slice, style, {}, Cos);
        const sbase = {
          Bucket: slice.StorageBucket,
          Region: slice.StorageRegion,
          Key: slice.MediaStoragePath,
        };
        // Without a ContentType both majors send an empty Content-Type on InitiateMultipartUpload.
        const type = style === "domain" ? { ContentType: "video/mp4" } : {};
        const done = await cos((cb) =>
          cs.sliceUploadFile(
            { ...sbase, ...type, FilePath: join(dir, "clip.mp4"), SliceSize: MiB } as any,
            cb,
          ),
        );
        assert.match(done.ETag, /^"[0-9a-f]{32}-1"$/);
        const shead = await cos((cb) => cs.headObject(sbase, cb));
        assert.equal(shead.headers["content-type"], type.ContentType ?? "application/octet-stream");
        const rs: any = await vod.CommitUpload({ VodSessionKey: slice.VodSessionKey });
        await checkMedia(rs.FileId, clip, `slice-${major}-${style}`);
      });
    }
  }

  it("with a Procedure: the task starts on commit, NewFileUpload names it, its output is served", async () => {
    await vod.CreateProcedureTemplate({
      Name: "uploadSnapshot",
      MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ["1s"] }] },
    } as any);
    await vod.ModifyEventConfig({ UploadMediaCompleteEventSwitch: "ON" });
    try {
      const a = await apply({ MediaName: "processed", Procedure: "uploadSnapshot", SessionContext: "sc-1" });
      const c = cosFor(server, a, "domain");
      await cos((cb) =>
        c.putObject(
          { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath, Body: clip },
          cb,
        ),
      );
      const r: any = await vod.CommitUpload({ VodSessionKey: a.VodSessionKey });
      const pulled: any = await vod.PullEvents({});
      const ev = pulled.EventSet.find((e: any) => e.EventType === "NewFileUpload");
      assert.ok(ev, "NewFileUpload event");
      assert.equal(ev.FileUploadEvent.FileId, r.FileId);
      assert.equal(ev.FileUploadEvent.MediaBasicInfo.Name, "processed");
      const taskId = ev.FileUploadEvent.ProcedureTaskId;
      assert.match(taskId, /-procedurev2-/);
      await vod.ConfirmEvents({ EventHandles: pulled.EventSet.map((e: any) => e.EventHandle) });
      const listed: any = await vod.DescribeTasks({ FileId: r.FileId });
      assert.deepEqual(
        listed.TaskSet.map((t: any) => t.TaskId),
        [taskId],
      );
      const { detail } = await waitForTask(vod, taskId);
      const p = detail.ProcedureTask;
      assert.equal(p.ErrCode, 0, p.Message);
      assert.equal(p.SessionContext, "sc-1");
      assert.equal(p.FileId, r.FileId);
      const snap = p.MediaProcessResultSet[0].SnapshotByTimeOffsetTask;
      assert.equal(snap.Status, "SUCCESS", snap.Message);
      const pic = await fetchBytes(snap.Output.PicInfoSet[0].Url);
      assert.ok(pic.length > 100);
    } finally {
      await vod.ModifyEventConfig({ UploadMediaCompleteEventSwitch: "OFF" });
    }
  });

  it("openvod upload FILE --cover --procedure: the CLI end to end", async () => {
    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      [
        join(REPO_ROOT, "dist/src/cli/main.js"),
        "upload",
        join(dir, "clip.mp4"),
        "--cover",
        join(dir, "cover.png"),
        "--procedure",
        "uploadSnapshot",
        "--slice-mb",
        "1",
        "--endpoint",
        `127.0.0.1:${server.port}`,
        "--secret-id",
        SECRET_ID,
        "--secret-key",
        SECRET_KEY,
      ],
      // Where the COS SDK inside keeps its resumable-upload cache (env-paths reads XDG_CONFIG_HOME).
      { timeout: 30_000, env: { ...process.env, XDG_CONFIG_HOME: confDir } },
    );
    const r = JSON.parse(stdout.trim());
    assert.match(r.FileId, /^\d{19}$/);
    await checkMedia(r.FileId, clip, "clip");
    assert.equal(sha1(await fetchBytes(r.CoverUrl)), sha1(cover));
    const listed: any = await vod.DescribeTasks({ FileId: r.FileId });
    assert.equal(listed.TaskSet.length, 1, "the procedure started");
  });

  describe("refusals", () => {
    it("ApplyUpload: unknown media or cover type, unknown procedure, manifests", async () => {
      assert.equal((await sdkError(() => apply({ MediaType: "exe" }))).code, "FailedOperation.MediaType");
      assert.equal((await sdkError(() => apply({ MediaType: "m3u8" }))).code, "FailedOperation.MediaType");
      assert.equal((await sdkError(() => apply({ CoverType: "svgz" }))).code, "FailedOperation.CoverType");
      assert.equal(
        (await sdkError(() => apply({ Procedure: "noSuchProcedure" }))).code,
        "InvalidParameter.ProcedureNameNotExist",
      );
      assert.equal(
        (await sdkError(() => apply({ StorageRegion: "AP_X" }))).code,
        "InvalidParameter.StorageRegion",
      );
      assert.equal((await sdkError(() => vod.ApplyUpload({} as any))).code, "MissingParameter");
    });

    it("CommitUpload: unknown key, before the upload, twice", async () => {
      const unknown = await sdkError(() => vod.CommitUpload({ VodSessionKey: "no-such-session" }));
      assert.equal(unknown.code, "InvalidParameterValue.VodSessionKey");
      const a = await apply({ MediaName: "twice" });
      const early = await sdkError(() => vod.CommitUpload({ VodSessionKey: a.VodSessionKey }));
      assert.equal(early.code, "FailedOperation");
      assert.match(early.message, /not been uploaded/);
      // An incomplete multipart upload is not an upload either.
      const c = cosFor(server, a, "domain");
      const base = { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath };
      const init = await cos((cb) => c.multipartInit(base, cb));
      await cos((cb) =>
        c.multipartUpload({ ...base, UploadId: init.UploadId, PartNumber: 1, Body: clip } as any, cb),
      );
      assert.equal(
        (await sdkError(() => vod.CommitUpload({ VodSessionKey: a.VodSessionKey }))).code,
        "FailedOperation",
      );
      await cos((cb) => c.putObject({ ...base, Body: clip }, cb));
      await vod.CommitUpload({ VodSessionKey: a.VodSessionKey });
      const again = await sdkError(() => vod.CommitUpload({ VodSessionKey: a.VodSessionKey }));
      assert.equal(again.code, "InvalidParameterValue.VodSessionKey");
      // The credentials of a committed upload write nothing more.
      const late = await cosFailure((cb) => c.putObject({ ...base, Body: clip }, cb));
      assert.deepEqual([late.statusCode, late.code], [403, "AccessDenied"]);
      // Another application's session key is unknown here.
      const other = await sdkError(() => vod.CommitUpload({ VodSessionKey: a.VodSessionKey, SubAppId: 1 }));
      assert.ok(
        ["InvalidParameterValue.VodSessionKey", "InvalidParameterValue.SubAppId"].includes(other.code),
      );
    });

    it("CommitUpload of a file that is not media: FailedOperation, object removed; of a cover that is no image: FailedOperation.CoverType", async () => {
      const a = await apply({ CoverType: "jpg" });
      const c = cosFor(server, a, "domain");
      const base = { Bucket: a.StorageBucket, Region: a.StorageRegion };
      await cos((cb) =>
        c.putObject({ ...base, Key: a.MediaStoragePath, Body: readFileSync(join(dir, "notes.mp4")) }, cb),
      );
      const bad = await sdkError(() => vod.CommitUpload({ VodSessionKey: a.VodSessionKey }));
      assert.equal(bad.code, "FailedOperation");
      assert.match(bad.message, /not media/);
      const gone = await cosFailure((cb) => c.headObject({ ...base, Key: a.MediaStoragePath }, cb));
      assert.equal(gone.statusCode, 404);
      // The session stays usable: the right file, a wrong cover, then the right cover.
      await cos((cb) => c.putObject({ ...base, Key: a.MediaStoragePath, Body: clip }, cb));
      await cos((cb) => c.putObject({ ...base, Key: a.CoverStoragePath, Body: clip }, cb));
      assert.equal(
        (await sdkError(() => vod.CommitUpload({ VodSessionKey: a.VodSessionKey }))).code,
        "FailedOperation.CoverType",
      );
      await cos((cb) => c.putObject({ ...base, Key: a.CoverStoragePath, Body: cover }, cb));
      const r: any = await vod.CommitUpload({ VodSessionKey: a.VodSessionKey });
      assert.equal(sha1(await fetchBytes(r.CoverUrl)), sha1(cover));
    });

    it("Content-Type is verified as sent: changed after signing, 403 SignatureDoesNotMatch; odd or empty, kept as signed", async () => {
      const a = await apply();
      const c = cosFor(server, a, "domain");
      const base = { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath };
      const put = (headers: Record<string, string>, altered?: Record<string, string>) =>
        rawCos(server, a, {
          method: "PUT",
          path: `/cos/${a.StorageBucket}/${key(a.MediaStoragePath)}`,
          signPath: a.MediaStoragePath,
          headers,
          altered,
          body: clip,
        });
      const changed = await put({ "content-type": "video/mp4" }, { "content-type": "text/html" });
      assert.deepEqual([changed.status, xmlCode(changed.body)], [403, "SignatureDoesNotMatch"]);
      for (const type of ["not a media type", 'video/mp4; codecs="avc1.64001e"']) {
        const ok = await put({ "content-type": type });
        assert.equal(ok.status, 200, ok.body);
        const head = await cos((cb) => c.headObject(base, cb));
        assert.equal(head.headers["content-type"], type);
      }
      // An empty one is no type: the object gets COS's default.
      assert.equal((await put({ "content-type": "" })).status, 200);
      const head = await cos((cb) => c.headObject(base, cb));
      assert.equal(head.headers["content-type"], "application/octet-stream");
    });

    it("a wrong signature: 403 SignatureDoesNotMatch; an unknown SecretId: 403 InvalidAccessKeyId; no token: 403 AccessDenied", async () => {
      const a = await apply();
      const base = { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath, Body: clip };
      const wrongKey = cosFor(server, a, "domain", { SecretKey: a.TempCertificate.SecretKey + "x" });
      const sig = await cosFailure((cb) => wrongKey.putObject(base, cb));
      assert.deepEqual([sig.statusCode, sig.code], [403, "SignatureDoesNotMatch"]);
      assert.ok(sig.requestId);
      const wrongId = cosFor(server, a, "domain", { SecretId: "AKIDnotIssuedByApplyUpload" });
      const id = await cosFailure((cb) => wrongId.putObject(base, cb));
      assert.deepEqual([id.statusCode, id.code], [403, "InvalidAccessKeyId"]);
      const noToken = cosFor(server, a, "domain", { XCosSecurityToken: undefined });
      const tok = await cosFailure((cb) => noToken.putObject(base, cb));
      assert.deepEqual([tok.statusCode, tok.code], [403, "AccessDenied"]);
      // The long-term API key is no COS credential either.
      const apiKey = cosFor(server, a, "domain", { SecretId: SECRET_ID, SecretKey: SECRET_KEY });
      assert.equal((await cosFailure((cb) => apiKey.putObject(base, cb))).code, "InvalidAccessKeyId");
    });

    it("the credentials of one upload cannot write another upload's key, nor another application's bucket", async () => {
      const a = await apply();
      const b = await apply();
      const ca = cosFor(server, a, "ip");
      const other = await cosFailure((cb) =>
        ca.putObject(
          { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: b.MediaStoragePath, Body: clip },
          cb,
        ),
      );
      assert.deepEqual([other.statusCode, other.code], [403, "AccessDenied"]);
      const app: any = await vod.CreateSubAppId({ Name: "uploads-elsewhere" });
      const x = await apply({ SubAppId: app.SubAppId });
      assert.equal(x.StorageBucket, `openvod-${app.SubAppId}`);
      // a's credentials, a's own key, but the other application's bucket.
      const bucket = await cosFailure((cb) =>
        ca.putObject(
          { Bucket: x.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath, Body: clip },
          cb,
        ),
      );
      assert.deepEqual([bucket.statusCode, bucket.code], [403, "AccessDenied"]);
      // The other application's credentials on its own key work, and its commit is its own.
      const cx = cosFor(server, x, "ip");
      await cos((cb) =>
        cx.putObject(
          { Bucket: x.StorageBucket, Region: x.StorageRegion, Key: x.MediaStoragePath, Body: clip },
          cb,
        ),
      );
      assert.equal(
        (await sdkError(() => vod.CommitUpload({ VodSessionKey: x.VodSessionKey }))).code,
        "InvalidParameterValue.VodSessionKey",
        "committed from the wrong application",
      );
      const r: any = await vod.CommitUpload({ VodSessionKey: x.VodSessionKey, SubAppId: app.SubAppId });
      assert.match(r.MediaUrl, new RegExp(`/files/${app.SubAppId}/`));
    });

    it("a wrong Content-MD5: 400 InvalidDigest (PutObject, UploadPart, Complete)", async () => {
      const a = await apply();
      const c = cosFor(server, a, "domain");
      const base = { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath };
      const wrong = md5b64(Buffer.from("something else"));
      const put = await cosFailure((cb) =>
        c.putObject({ ...base, Body: clip, Headers: { "Content-MD5": wrong } } as any, cb),
      );
      assert.deepEqual([put.statusCode, put.code], [400, "InvalidDigest"]);
      const malformed = await cosFailure((cb) =>
        c.putObject({ ...base, Body: clip, Headers: { "Content-MD5": "not-base64" } } as any, cb),
      );
      assert.deepEqual([malformed.statusCode, malformed.code], [400, "InvalidDigest"]);
      const init = await cos((cb) => c.multipartInit(base, cb));
      const part = await cosFailure((cb) =>
        c.multipartUpload(
          {
            ...base,
            UploadId: init.UploadId,
            PartNumber: 1,
            Body: clip,
            Headers: { "Content-MD5": wrong },
          } as any,
          cb,
        ),
      );
      assert.deepEqual([part.statusCode, part.code], [400, "InvalidDigest"]);
      // A body of 1 MiB and more is hashed on the MD5 thread: the same check.
      const bigPart = await cosFailure((cb) =>
        c.multipartUpload(
          {
            ...base,
            UploadId: init.UploadId,
            PartNumber: 1,
            Body: long.subarray(0, MiB + 7),
            Headers: { "Content-MD5": wrong },
          } as any,
          cb,
        ),
      );
      assert.deepEqual([bigPart.statusCode, bigPart.code], [400, "InvalidDigest"]);
      // CompleteMultipartUpload's XML body is checked too.
      const xml = Buffer.from(
        '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>',
      );
      const complete = await rawCos(server, a, {
        method: "POST",
        path: `/cos/${a.StorageBucket}/${key(a.MediaStoragePath)}`,
        signPath: a.MediaStoragePath,
        query: { uploadId: init.UploadId },
        headers: { "content-md5": wrong, "content-type": "application/xml" },
        body: xml,
      });
      assert.deepEqual([complete.status, xmlCode(complete.body)], [400, "InvalidDigest"]);
      assert.ok(complete.headers["x-cos-request-id"]);
      // Nothing was kept of the refused bodies.
      assert.equal((await cosFailure((cb) => c.headObject(base, cb))).statusCode, 404);
      const parts = await cos((cb) => c.multipartListPart({ ...base, UploadId: init.UploadId }, cb));
      assert.deepEqual(parts.Part, []);
      const ok = await cos((cb) =>
        c.putObject({ ...base, Body: clip, Headers: { "Content-MD5": md5b64(clip) } } as any, cb),
      );
      assert.equal(ok.statusCode, 200);
    });

    it("Complete with parts out of order: 400 InvalidPartOrder; missing or with a wrong ETag: 400 InvalidPart; unknown upload: 404 NoSuchUpload", async () => {
      const a = await apply({ MediaType: "wav" });
      const c = cosFor(server, a, "domain");
      const base = { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath };
      const init = await cos((cb) => c.multipartInit(base, cb));
      const etags: string[] = [];
      for (const [n, body] of [
        [1, long.subarray(0, MiB)],
        [2, long.subarray(MiB, 2 * MiB)],
      ] as const) {
        const r = await cos((cb) =>
          c.multipartUpload({ ...base, UploadId: init.UploadId, PartNumber: n, Body: body } as any, cb),
        );
        etags.push(r.ETag);
      }
      const complete = (Parts: { PartNumber: number; ETag: string }[]) =>
        cosFailure((cb) => c.multipartComplete({ ...base, UploadId: init.UploadId, Parts }, cb));
      const order = await complete([
        { PartNumber: 2, ETag: etags[1]! },
        { PartNumber: 1, ETag: etags[0]! },
      ]);
      assert.deepEqual([order.statusCode, order.code], [400, "InvalidPartOrder"]);
      const missing = await complete([
        { PartNumber: 1, ETag: etags[0]! },
        { PartNumber: 3, ETag: etags[1]! },
      ]);
      assert.deepEqual([missing.statusCode, missing.code], [400, "InvalidPart"]);
      const wrongTag = await complete([
        { PartNumber: 1, ETag: etags[0]! },
        { PartNumber: 2, ETag: etags[0]! },
      ]);
      assert.deepEqual([wrongTag.statusCode, wrongTag.code], [400, "InvalidPart"]);
      const unknown = await cosFailure((cb) =>
        c.multipartComplete(
          { ...base, UploadId: "1234nosuchupload", Parts: [{ PartNumber: 1, ETag: etags[0]! }] },
          cb,
        ),
      );
      assert.deepEqual([unknown.statusCode, unknown.code], [404, "NoSuchUpload"]);
      // The same upload still completes with the right list, and abort of it afterwards is 404.
      const done = await cos((cb) =>
        c.multipartComplete(
          {
            ...base,
            UploadId: init.UploadId,
            Parts: [
              { PartNumber: 1, ETag: etags[0]! },
              { PartNumber: 2, ETag: etags[1]! },
            ],
          },
          cb,
        ),
      );
      assert.match(done.ETag, /-2"$/);
      const head = await cos((cb) => c.headObject(base, cb));
      assert.equal(Number(head.headers["content-length"]), 2 * MiB);
      const aborted = await cosFailure((cb) => c.multipartAbort({ ...base, UploadId: init.UploadId }, cb));
      assert.deepEqual([aborted.statusCode, aborted.code], [404, "NoSuchUpload"]);
      // Abort of a live upload removes it.
      const init2 = await cos((cb) => c.multipartInit(base, cb));
      await cos((cb) => c.multipartAbort({ ...base, UploadId: init2.UploadId }, cb));
      const listed = await cos((cb) =>
        c.multipartList({ Bucket: a.StorageBucket, Region: a.StorageRegion, Prefix: "" } as any, cb),
      );
      assert.deepEqual(listed.Upload, []);
    });

    it("path traversal in keys: '../' and '%2e%2e' → 400 InvalidURI; absolute keys → 403 AccessDenied; nothing written", async () => {
      const a = await apply();
      const bucketPath = `/cos/${a.StorageBucket}`;
      const escape = `openvod-escape-${randomBytes(6).toString("hex")}`;
      const cases: [string, string, number, string][] = [
        [
          `${bucketPath}/${key(a.MediaStoragePath)}/../../../../../../../../tmp/${escape}`,
          "",
          400,
          "InvalidURI",
        ],
        [`${bucketPath}/upload/%2e%2e/%2E%2E/%2e%2e/%2e%2e/tmp/${escape}`, "", 400, "InvalidURI"],
        [`${bucketPath}/..%2f..%2f..%2ftmp%2f${escape}`, "", 400, "InvalidURI"],
        [`${bucketPath}//tmp/${escape}`, `//tmp/${escape}`, 403, "AccessDenied"],
        [`${bucketPath}/%2Ftmp%2F${escape}`, `//tmp/${escape}`, 403, "AccessDenied"],
      ];
      for (const [path, signPath, status, code] of cases) {
        const decodedKey = decodeURIComponent(path.slice(bucketPath.length + 1));
        const r = await rawCos(server, a, {
          method: "PUT",
          path,
          signPath: signPath || "/" + decodedKey,
          body: Buffer.from("escaped"),
        });
        assert.equal(r.status, status, `${path}: ${r.body}`);
        assert.equal(xmlCode(r.body), code, path);
        assert.ok(r.headers["x-cos-request-id"], "x-cos-request-id");
      }
      assert.equal(existsSync(join("/tmp", escape)), false);
      assert.equal(existsSync(join(server.dataDir, "tmp", escape)), false);
    });

    it("oversized: PutObject, UploadPart and a growing multipart upload past OPENVOD_UPLOAD_MAX_BYTES → 400 EntityTooLarge", async () => {
      const a = await apply({ MediaType: "wav" });
      const c = cosFor(server, a, "domain");
      const base = { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath };
      const big = Buffer.alloc(MAX_BYTES + 1, 1);
      const put = await cosFailure((cb) => c.putObject({ ...base, Body: big }, cb));
      assert.deepEqual([put.statusCode, put.code], [400, "EntityTooLarge"]);
      const init = await cos((cb) => c.multipartInit(base, cb));
      const part = await cosFailure((cb) =>
        c.multipartUpload({ ...base, UploadId: init.UploadId, PartNumber: 1, Body: big } as any, cb),
      );
      assert.deepEqual([part.statusCode, part.code], [400, "EntityTooLarge"]);
      const three = Buffer.alloc(3 * MiB, 2);
      await cos((cb) =>
        c.multipartUpload({ ...base, UploadId: init.UploadId, PartNumber: 1, Body: three } as any, cb),
      );
      const grown = await cosFailure((cb) =>
        c.multipartUpload({ ...base, UploadId: init.UploadId, PartNumber: 2, Body: three } as any, cb),
      );
      assert.deepEqual([grown.statusCode, grown.code], [400, "EntityTooLarge"]);
      // Without a Content-Length (chunked), the limit holds as the bytes arrive.
      const chunked = await rawCos(server, a, {
        method: "PUT",
        path: `/cos/${a.StorageBucket}/${key(a.MediaStoragePath)}`,
        signPath: a.MediaStoragePath,
        headers: { "transfer-encoding": "chunked" },
        body: big,
        chunked: true,
      }).catch((err) => ({ status: 0, headers: {}, body: String(err) }));
      assert.equal(chunked.status, 400, chunked.body);
      assert.equal(xmlCode(chunked.body), "EntityTooLarge");
      assert.equal((await cosFailure((cb) => c.headObject(base, cb))).statusCode, 404);
    });

    it("expired temporary credentials: 403 AccessDenied; the sweep removes uncommitted files and incomplete uploads", async () => {
      const a = await apply();
      const c = cosFor(server, a, "domain");
      const base = { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath };
      await cos((cb) => c.putObject({ ...base, Body: clip }, cb));
      // Another upload left incomplete: one part of a multipart upload.
      const b = await apply({ MediaType: "wav" });
      const cb2 = cosFor(server, b, "domain");
      const bBase = { Bucket: b.StorageBucket, Region: b.StorageRegion, Key: b.MediaStoragePath };
      const init = await cos((cb) => cb2.multipartInit(bBase, cb));
      await cos((cb) =>
        cb2.multipartUpload(
          { ...bBase, UploadId: init.UploadId, PartNumber: 1, Body: long.subarray(0, MiB) } as any,
          cb,
        ),
      );
      const dirOf = (x: Applied) => join(server.dataDir, "uploads", key(x.MediaStoragePath).split("/")[1]!);
      assert.ok(existsSync(dirOf(a)) && existsSync(dirOf(b)), "files wait in the session directories");

      const res = await fetch(`${server.url}/_openvod/test/clock`, {
        method: "POST",
        body: JSON.stringify({ advanceMs: (TTL_SEC + 1) * 1000 }),
      });
      assert.equal(res.status, 200);
      const late = await cosFailure((cb) => c.putObject({ ...base, Body: clip }, cb));
      assert.deepEqual([late.statusCode, late.code], [403, "AccessDenied"]);
      assert.match(late.message, /expired/);
      const commit = await sdkError(() => vod.CommitUpload({ VodSessionKey: a.VodSessionKey }));
      assert.equal(commit.code, "InvalidParameterValue.VodSessionKey");

      const swept = await fetch(`${server.url}/_openvod/test/sweep-uploads`, { method: "POST" });
      assert.ok(((await swept.json()) as { removed: number }).removed >= 2);
      assert.equal(existsSync(dirOf(a)), false, "the uncommitted object is gone");
      assert.equal(existsSync(dirOf(b)), false, "the incomplete multipart upload is gone");
      const gone = await cosFailure((cb) => cb2.multipartListPart({ ...bBase, UploadId: init.UploadId }, cb));
      assert.deepEqual([gone.statusCode, gone.code], [403, "InvalidAccessKeyId"]);
    });
  });

  it("the COS signature check agrees with getAuthorization of cos-nodejs-sdk-v5 2.x and 3.x", () => {
    const cases = [
      {
        Method: "put",
        Pathname: "/upload/x/f0.mp4",
        Query: { partNumber: "3", uploadId: "abc" },
        Headers: { host: "h", "content-md5": "Zm9v", "content-length": "12" },
      },
      {
        Method: "get",
        Pathname: "/",
        Query: { uploads: "", prefix: "upload/ä ö/(x)*!'" },
        Headers: { host: "b-1.cos.ap-guangzhou.myqcloud.com" },
      },
      {
        Method: "post",
        Pathname: "/dir/名字 + space.mp4",
        Query: { uploadId: "1+2=3&4" },
        Headers: { Host: "h", "x-cos-meta-a": "B c" },
      },
      {
        Method: "put",
        Pathname: "/upload/x/f0.mp4",
        Query: {},
        Headers: { host: "h", "content-type": 'video/mp4; codecs="avc1"', "content-length": "9" },
      },
    ];
    for (const [c, Cos] of cases.flatMap((c) => Object.values(COS_MAJORS).map((Cos) => [c, Cos] as const))) {
      const authorization = Cos.getAuthorization({ SecretId: "AKIDa", SecretKey: "sk", ...c } as any);
      const auth = parseCosAuthorization(authorization)!;
      assert.ok(auth, authorization);
      const headers = Object.fromEntries(Object.entries(c.Headers).map(([k, v]) => [k.toLowerCase(), v]));
      const expected = cosSignature("sk", auth, {
        method: c.Method,
        pathname: c.Pathname,
        query: new Map(Object.entries(c.Query)),
        headers,
      });
      assert.equal(expected, auth.signature, c.Pathname);
      assert.notEqual(
        cosSignature("sk2", auth, {
          method: c.Method,
          pathname: c.Pathname,
          query: new Map(Object.entries(c.Query)),
          headers,
        }),
        auth.signature,
      );
    }
  });
});

describe("upload sessions survive a restart", () => {
  it("an upload begun before a kill -9 is listed, finished and committed after it", async () => {
    const dataDir = tempDir("openvod-upload-restart-");
    const dir = tempDir();
    const tools = await locateMediaTools();
    await makeAudio(tools, join(dir, "tone.wav"), 12);
    const bytes = readFileSync(join(dir, "tone.wav"));
    assert.ok(bytes.length > MiB, `tone.wav has ${statSync(join(dir, "tone.wav")).size} bytes`);
    const first = await startOpenvod({ dataDir });
    let second: OpenvodProcess | undefined;
    try {
      const a = (await first
        .client()
        .ApplyUpload({ MediaType: "wav", MediaName: "tone" })) as unknown as Applied;
      const base = { Bucket: a.StorageBucket, Region: a.StorageRegion, Key: a.MediaStoragePath };
      const c1 = cosFor(first, a, "domain");
      const init = await cos((cb) => c1.multipartInit(base, cb));
      const part1 = await cos((cb) =>
        c1.multipartUpload(
          { ...base, UploadId: init.UploadId, PartNumber: 1, Body: bytes.subarray(0, MiB) } as any,
          cb,
        ),
      );
      await first.kill9();
      second = await startOpenvod({ dataDir });
      const c2 = cosFor(second, a, "domain");
      const parts = await cos((cb) => c2.multipartListPart({ ...base, UploadId: init.UploadId }, cb));
      assert.deepEqual(
        parts.Part.map((p: any) => p.ETag),
        [part1.ETag],
      );
      const part2 = await cos((cb) =>
        c2.multipartUpload(
          { ...base, UploadId: init.UploadId, PartNumber: 2, Body: bytes.subarray(MiB) } as any,
          cb,
        ),
      );
      await cos((cb) =>
        c2.multipartComplete(
          {
            ...base,
            UploadId: init.UploadId,
            Parts: [
              { PartNumber: 1, ETag: part1.ETag },
              { PartNumber: 2, ETag: part2.ETag },
            ],
          },
          cb,
        ),
      );
      const vod2 = second.client();
      const r: any = await vod2.CommitUpload({ VodSessionKey: a.VodSessionKey });
      const infos: any = await vod2.DescribeMediaInfos({ FileIds: [r.FileId] });
      assert.equal(sha1(await fetchBytes(infos.MediaInfoSet[0].BasicInfo.MediaUrl)), sha1(bytes));
      // Committed: the session's directory is gone.
      assert.equal(existsSync(join(dataDir, "uploads", key(a.MediaStoragePath).split("/")[1]!)), false);
    } finally {
      await second?.stop();
      await first.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
