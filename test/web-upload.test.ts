// Browser uploads with the unmodified vod-js-sdk-v6 bundle from npm, in a real headless
// Chromium, against a real openvod process: the page (served by a test "application" on its
// own origin) gets a client upload signature from its server, and the SDK calls
// ApplyUploadUGC / CommitUploadUGC (https://vod2.qcloud.com, behind a TLS front) and uploads
// the video and cover to COS (http://<bucket>.cos.<region>.myqcloud.com, since the page is
// http:). Chromium's resolver rules map both host names to openvod, as DNS would; nothing in
// the SDK is replaced. Every request is cross-origin, so the CORS preflights are real.
// The refusals (expired, tampered, reused one-time, other-application signatures) are checked
// over plain HTTP with their exact codes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { withPage, WebRig, type Browser } from "./helpers/browser.js";
import { nowSec, signUpload, ugcCall, uploadFields } from "./helpers/sign.js";
import {
  APP_ID,
  REPO_ROOT,
  SECRET_ID,
  SECRET_KEY,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

const require = createRequire(import.meta.url);
const SDK_BUNDLE = join(require.resolve("vod-js-sdk-v6/package.json"), "../dist/vod-js-sdk-v6.js");

const sign = (f: Record<string, string | number>, key = SECRET_KEY) => signUpload(f, key);
const now = nowSec;
const fields = (over: Record<string, string | number> = {}) => uploadFields(SECRET_ID, over);

const PAGE = `<!doctype html><meta charset="utf-8"><title>upload</title>
<script src="/vod-js-sdk-v6.js"></script>
<p id="state">ready</p>
<script>
window.runUpload = async (query, withCover) => {
  const file = async (path, name, type) => new File([await (await fetch(path)).blob()], name, { type });
  const mediaFile = await file("/clip.mp4", "clip.mp4", "video/mp4");
  const coverFile = withCover ? await file("/cover.png", "cover.png", "image/png") : undefined;
  const Vod = TcVod.default || TcVod;
  const tcVod = new Vod({
    getSignature: () => fetch("/signature?" + query).then((r) => r.text()),
    allowReport: false,
    enableResume: false,
  });
  const progress = { media: [], cover: [] };
  const uploader = tcVod.upload({ mediaFile, coverFile });
  uploader.on("media_progress", (i) => progress.media.push(i.percent));
  uploader.on("cover_progress", (i) => progress.cover.push(i.percent));
  document.getElementById("state").textContent = "uploading";
  try {
    const done = await uploader.done();
    document.getElementById("state").textContent = "done " + done.fileId;
    return { ok: true, done, progress };
  } catch (e) {
    document.getElementById("state").textContent = "failed " + e.message;
    return { ok: false, code: e.code, message: String(e.message), progress };
  }
};
</script>`;

describe("web upload: vod-js-sdk-v6 in Chromium, client upload signatures", () => {
  let rig: WebRig;
  let server: OpenvodProcess;
  let vod: Vod;
  let browser: Browser;
  let dir = "";
  let subApp = 0;

  const ugc = (action: string, body: unknown, raw = false) => ugcCall(server.url, action, body, raw);
  const apply = (signature: string, over: Record<string, unknown> = {}) =>
    ugc("ApplyUploadUGC", { signature, videoName: "v", videoType: "mp4", videoSize: 1000, ...over });

  before(async () => {
    rig = await WebRig.start({
      name: "web",
      clipSeconds: 2,
      cover: true,
      tls: true,
      hostRules: ({ openvod, tls }) => [
        `vod2.qcloud.com 127.0.0.1:${tls}`,
        `*.myqcloud.com 127.0.0.1:${openvod}`,
      ],
    });
    ({ server, vod, browser, dir } = rig);
    subApp = ((await vod.CreateSubAppId({ Name: "other" })) as any).SubAppId;
    await vod.CreateProcedureTemplate({
      Name: "webSnapshot",
      MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ["1s"] }] },
    } as any);
    await vod.ModifyEventConfig({ UploadMediaCompleteEventSwitch: "ON" });

    rig.serve("/upload.html", "text/html", PAGE);
    rig.serve("/vod-js-sdk-v6.js", "text/javascript", readFileSync(SDK_BUNDLE));
    // The application's own server: it decides what a browser may upload and signs it.
    rig.site.routes.set("/signature", (req, res) => {
      const q = Object.fromEntries(new URL(req.url!, "http://x").searchParams);
      res.writeHead(200, { "content-type": "text/plain" }).end(sign(fields(q)));
    });
  });

  after(async () => rig?.stop());

  it("uploads a video and a cover from the page: progress events, Procedure, NewFileUpload", async () => {
    const result: any = await withPage(browser, "web-upload", async (page) => {
      await page.goto(`${rig.site.url}/upload.html`);
      return await page.evaluate(
        ([q]) => (window as any).runUpload(q, true),
        [
          new URLSearchParams({
            procedure: "webSnapshot",
            sourceContext: "from-the-browser",
            sessionContext: "web-session",
          }).toString(),
        ],
      );
    });
    assert.ok(result.ok, `upload failed: ${result.code} ${result.message}`);
    const { fileId } = result.done;
    assert.match(fileId, /^\d+$/);
    // Progress reached the end for both files (cos-js-sdk reports 0..1).
    assert.equal(result.progress.media.at(-1), 1);
    assert.equal(result.progress.cover.at(-1), 1);

    const info: any = await vod.DescribeMediaInfos({ FileIds: [fileId] });
    const m = info.MediaInfoSet[0];
    assert.equal(m.BasicInfo.Name, "clip");
    assert.equal(m.BasicInfo.SourceInfo.SourceContext, "from-the-browser");
    assert.equal(m.MetaData.Width, 160);
    assert.equal(m.MetaData.Height, 90);
    assert.equal(m.MetaData.Size, readFileSync(join(dir, "clip.mp4")).length);
    const served = Buffer.from(await (await fetch(result.done.video.url)).arrayBuffer());
    assert.deepEqual(served, readFileSync(join(dir, "clip.mp4")));
    const cover = Buffer.from(await (await fetch(m.BasicInfo.CoverUrl)).arrayBuffer());
    assert.deepEqual(cover, readFileSync(join(dir, "cover.png")));
    assert.equal(result.done.cover.url, m.BasicInfo.CoverUrl);

    const pulled: any = await vod.PullEvents({});
    const ev = pulled.EventSet.find(
      (e: any) => e.EventType === "NewFileUpload" && e.FileUploadEvent.FileId === fileId,
    );
    assert.ok(ev, "NewFileUpload event");
    await vod.ConfirmEvents({ EventHandles: pulled.EventSet.map((e: any) => e.EventHandle) });
    const { detail } = await waitForTask(vod, ev.FileUploadEvent.ProcedureTaskId);
    assert.equal(detail.ProcedureTask.ErrCode, 0, detail.ProcedureTask.Message);
    assert.equal(detail.ProcedureTask.SessionContext, "web-session");
    const snap = detail.ProcedureTask.MediaProcessResultSet[0].SnapshotByTimeOffsetTask;
    assert.equal(snap.Status, "SUCCESS", snap.Message);
  });

  it("a refused signature reaches the page as the SDK's error with its code", async () => {
    const result: any = await withPage(browser, "web-upload-refused", async (page) => {
      await page.goto(`${rig.site.url}/upload.html`);
      // A procedure the application does not have: ApplyUpload's own refusal, relayed.
      return await page.evaluate(([q]) => (window as any).runUpload(q, false), ["procedure=noSuchOne"]);
    });
    assert.equal(result.ok, false);
    assert.equal(result.code, 10001);
    assert.match(result.message, /InvalidParameter\.ProcedureNameNotExist/);
  });

  it("CORS: preflights of the API and of COS are answered for any origin", async () => {
    const pre = await fetch(`${server.url}/v3/index.php?Action=ApplyUploadUGC`, {
      method: "OPTIONS",
      headers: {
        origin: "http://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*");
    assert.match(pre.headers.get("access-control-allow-methods")!, /POST/);
    assert.equal(pre.headers.get("access-control-allow-headers"), "content-type");
    const cos = await fetch(`${server.url}/cos/openvod-${APP_ID}/upload/f0.mp4`, {
      method: "OPTIONS",
      headers: {
        origin: "http://app.example",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "authorization,content-md5,x-cos-security-token",
      },
    });
    assert.equal(cos.headers.get("access-control-allow-origin"), "*");
    assert.match(cos.headers.get("access-control-allow-methods")!, /PUT/);
    assert.match(cos.headers.get("access-control-allow-headers")!, /x-cos-security-token/);
  });

  it("refuses expired, tampered, foreign-key and over-long signatures with 10004", async () => {
    const expired = await apply(sign(fields({ currentTimeStamp: now() - 100, expireTime: now() - 10 })));
    assert.equal(expired.code, 10004);
    assert.match(expired.message, /expired/);

    const good = sign(fields());
    const raw = Buffer.from(good, "base64");
    raw[raw.length - 1] ^= 1; // a digit of `random` changed after signing
    const tampered = await apply(raw.toString("base64"));
    assert.equal(tampered.code, 10004);
    assert.match(tampered.message, /does not match/);

    const foreign = await apply(sign(fields(), "another-account-secret-key"));
    assert.equal(foreign.code, 10004);
    const unknownId = await apply(sign(fields({ secretId: "AKIDnotAKeyOfThisAccount" })));
    assert.equal(unknownId.code, 10004);

    const tooLong = await apply(sign(fields({ expireTime: now() + 7_776_001 })));
    assert.equal(tooLong.code, 10004);
    assert.match(tooLong.message, /7776000/);
    for (const junk of ["", "not base64!", Buffer.alloc(20).toString("base64"), 42]) {
      assert.equal((await apply(junk as string)).code, 10004, String(junk));
    }
  });

  it("a one-time signature starts one upload only", async () => {
    const once = sign(fields({ oneTimeValid: 1 }));
    const first = await apply(once);
    assert.equal(first.code, 0, first.message);
    const again = await apply(once);
    assert.equal(again.code, 10004);
    assert.match(again.message, /used already/);
    // Nor can it commit another upload.
    const other = await apply(sign(fields()));
    assert.equal(other.code, 0);
    const commit = await ugc("CommitUploadUGC", { signature: once, vodSessionKey: other.data.vodSessionKey });
    assert.equal(commit.code, 10004);
    // Its own upload's commit is still its to make (nothing was uploaded: ApplyUpload's refusal).
    const own = await ugc("CommitUploadUGC", { signature: once, vodSessionKey: first.data.vodSessionKey });
    assert.equal(own.code, 10001);
    assert.match(own.message, /FailedOperation.*not been uploaded/);
  });

  it("signatures are bound to their application", async () => {
    const missing = await apply(sign(fields({ vodSubAppId: 1 })));
    assert.equal(missing.code, 10004);
    assert.match(missing.message, /vodSubAppId/);

    const mine = await apply(sign(fields()));
    assert.equal(mine.code, 0);
    assert.equal(mine.data.appId, APP_ID);
    assert.equal(`${mine.data.storageBucket}-${mine.data.storageAppId}`, `openvod-${APP_ID}`);
    const theirs = await apply(sign(fields({ vodSubAppId: subApp })));
    assert.equal(theirs.code, 0);
    assert.equal(theirs.data.appId, subApp);
    // The other application's signature cannot commit (or resume) this application's upload.
    const signature = sign(fields({ vodSubAppId: subApp }));
    const commit = await ugc("CommitUploadUGC", { signature, vodSessionKey: mine.data.vodSessionKey });
    assert.equal(commit.code, 10005);
    const resume = await apply(signature, { vodSessionKey: mine.data.vodSessionKey });
    assert.equal(resume.code, 10005);
    // Resuming with its own application's signature hands out the same session.
    const resumed = await apply(sign(fields()), { vodSessionKey: mine.data.vodSessionKey });
    assert.equal(resumed.code, 0);
    assert.equal(resumed.data.tempCertificate.secretId, mine.data.tempCertificate.secretId);
  });

  it("bad requests: 10001 with the reason", async () => {
    assert.equal((await ugc("ApplyUploadUGC", "{not json", true)).code, 10001);
    assert.equal((await ugc("ApplyUploadUGC", [1, 2])).code, 10001);
    assert.equal((await ugc("DeleteEverything", { signature: sign(fields()) })).code, 10001);
    const noType = await ugc("ApplyUploadUGC", { signature: sign(fields()), videoName: "x" });
    assert.equal(noType.code, 10001);
    const badType = await apply(sign(fields()), { videoType: "exe" });
    assert.equal(badType.code, 10001);
    assert.match(badType.message, /FailedOperation\.MediaType/);
    const unknownKey = await ugc("CommitUploadUGC", { signature: sign(fields()), vodSessionKey: "nope" });
    assert.equal(unknownKey.code, 10005);
    const prepared = await ugc("PrepareUploadUGC", { signature: sign(fields()) });
    assert.equal(prepared.code, 0);
    assert.equal(prepared.data.appId, APP_ID);
  });

  it("openvod sign-upload prints a signature openvod accepts, with its options", async () => {
    const run = (...args: string[]) =>
      promisify(execFile)(
        process.execPath,
        [join(REPO_ROOT, "dist/src/cli/main.js"), "sign-upload", ...args],
        {
          env: { ...process.env, OPENVOD_SECRET_ID: SECRET_ID, OPENVOD_SECRET_KEY: SECRET_KEY },
        },
      );
    const { stdout } = await run("--one-time", "--sub-app-id", String(subApp), "--source-context", "cli");
    const signature = stdout.trim();
    const original = new URLSearchParams(Buffer.from(signature, "base64").subarray(20).toString());
    assert.equal(original.get("secretId"), SECRET_ID);
    assert.equal(original.get("oneTimeValid"), "1");
    assert.equal(Number(original.get("expireTime")) - Number(original.get("currentTimeStamp")), 3600);
    const a = await apply(signature);
    assert.equal(a.code, 0, a.message);
    assert.equal(a.data.appId, subApp);
    assert.equal((await apply(signature)).code, 10004, "one-time");
    await assert.rejects(run("--expire-sec", "7776001"), /--expire-sec must be from 1 to 7776000/);
  });
});
