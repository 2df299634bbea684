// PullUpload's network guards through a real server: private addresses refused before any
// connection, download size limits (declared and chunked), redirect limits, no scratch files left
// behind; plus download() and the outbound client's isPublicAddress() directly, and secrets never
// reaching the logs.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { locateMediaTools } from "../src/media/tools.js";
import { download, DownloadError } from "../src/net/download.js";
import { isPublicAddress } from "../src/net/http.js";
import { makeVideo } from "./helpers/media.js";
import {
  FileServer,
  SECRET_ID,
  SECRET_KEY,
  sdkError,
  startOpenvod,
  tempDir,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

const LIMIT = 100_000;
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Polls until dataDir/tmp holds nothing (scratch of finished tasks is removed when they end). */
async function tmpEmpty(server: OpenvodProcess): Promise<void> {
  const tmp = join(server.dataDir, "tmp");
  const deadline = Date.now() + 10_000;
  for (;;) {
    const left = readdirSync(tmp);
    if (left.length === 0) return;
    if (Date.now() > deadline) assert.fail(`scratch left in ${tmp}: ${left.join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function pullTask(vod: Vod, url: string): Promise<any> {
  const { TaskId } = await vod.PullUpload({ MediaUrl: url });
  const { detail } = await waitForTask(vod, TaskId!);
  assert.equal(detail.Status, "FINISH");
  return detail.PullUploadTask;
}

describe("network guards", () => {
  let dir: string;
  let files: FileServer;
  let guarded: OpenvodProcess;
  let limited: OpenvodProcess;
  let clip: Buffer;
  /** How the chunked route ended: "closed" when the client hung up before the stream ended. */
  const chunked = { sent: 0, outcome: "" };

  before(async () => {
    dir = tempDir();
    const tools = await locateMediaTools();
    await makeVideo(tools, join(dir, "clip.mp4"), { width: 160, height: 120, seconds: 1 });
    clip = readFileSync(join(dir, "clip.mp4"));
    assert.ok(clip.length < LIMIT, `the test clip must fit the limit (${clip.length} bytes)`);
    writeFileSync(join(dir, "big.bin"), randomBytes(LIMIT * 3));
    files = await new FileServer(dir).start();

    // No content-length: the size is only known by counting. Streams until the client hangs up
    // (or 50 MB, far past the limit, so a download that never stops would be seen).
    files.routes.set("/endless.mp4", (req, res) => {
      res.writeHead(200, { "content-type": "video/mp4" });
      const chunk = randomBytes(16 * 1024);
      let ended = false;
      res.on("close", () => {
        if (!ended) chunked.outcome = "closed";
      });
      const pump = () => {
        while (!res.destroyed && chunked.sent < 50 * 1024 * 1024) {
          chunked.sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        if (!res.destroyed) {
          ended = true;
          chunked.outcome = "ended";
          res.end();
        }
      };
      pump();
    });
    const redirect = (to: string) => (_req: unknown, res: import("node:http").ServerResponse) =>
      res.writeHead(302, { location: to }).end();
    // /r6 → /r5 → ... → /r1 → /clip.mp4: six redirects; /r5 starts a chain of five.
    for (let i = 1; i <= 6; i++) files.routes.set(`/r${i}`, redirect(i === 1 ? "/clip.mp4" : `/r${i - 1}`));
    files.routes.set("/hop-a", redirect("/hop-b"));
    files.routes.set("/hop-b", redirect(`${files.url}/clip.mp4`));
    files.routes.set("/to-ftp", redirect("ftp://127.0.0.1/clip.mp4"));
    // Headers and a little of the body, then silence: a remote that would hold a worker forever.
    files.routes.set("/stalls.mp4", (_req, res) => {
      res.writeHead(200, { "content-length": clip.length, "content-type": "video/mp4" });
      res.write(clip.subarray(0, 1000));
    });

    [guarded, limited] = await Promise.all([
      startOpenvod({ env: { OPENVOD_ALLOW_PRIVATE_URLS: "false", OPENVOD_LOG_LEVEL: "debug" } }),
      startOpenvod({ env: { OPENVOD_PULL_MAX_BYTES: String(LIMIT), OPENVOD_PULL_TIMEOUT_MS: "3000" } }),
    ]);
  });
  after(async () => {
    await Promise.all([guarded?.stop(), limited?.stop()]);
    await files?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe("private addresses (OPENVOD_ALLOW_PRIVATE_URLS off)", () => {
    it("refuses loopback URLs with 40000 without connecting", async () => {
      const vod = guarded.client();
      const port = new URL(files.url).port;
      const before = files.requests;
      const cases: Array<[string, RegExp]> = [
        [`http://127.0.0.1:${port}/clip.mp4`, /127\.0\.0\.1.*private address/],
        [`http://localhost:${port}/clip.mp4`, /localhost.*private address/],
        [`http://[::1]:${port}/clip.mp4`, /\[::1\].*private address/],
        [`http://[::ffff:127.0.0.1]:${port}/clip.mp4`, /private address/],
        [`http://0x7f000001:${port}/clip.mp4`, /private address/],
        [`http://0.0.0.0:${port}/clip.mp4`, /private address/],
        [`http://10.0.0.1:${port}/clip.mp4`, /10\.0\.0\.1.*private address/],
        [`http://169.254.169.254/latest/meta-data/`, /169\.254\.169\.254.*private address/],
      ];
      for (const [url, message] of cases) {
        const t = await pullTask(vod, url);
        assert.equal(t.ErrCode, 40000, `${url}: ${t.Message}`);
        assert.match(t.Message, message, url);
        assert.match(t.Message, /OPENVOD_ALLOW_PRIVATE_URLS/);
        assert.equal(t.FileId, "");
        assert.equal(t.FileUrl, "");
      }
      assert.equal(files.requests, before, "the file server was never contacted");
      assert.equal(((await vod.SearchMedia({})) as any).TotalCount, 0);
      await tmpEmpty(guarded);
    });

    it("download() refuses private hosts itself and writes nothing", async () => {
      const out = tempDir("openvod-dl-");
      try {
        const before = files.requests;
        const port = new URL(files.url).port;
        for (const url of [`http://127.0.0.1:${port}/clip.mp4`, `http://localhost:${port}/clip.mp4`]) {
          const dest = join(out, "x");
          await assert.rejects(
            download(url, dest, { maxBytes: 1e9, timeoutMs: 10_000, allowPrivate: false }),
            (err: unknown) => {
              assert.ok(err instanceof DownloadError, String(err));
              assert.equal(err.badRequest, true);
              assert.match(err.message, /private address/);
              return true;
            },
          );
          assert.equal(existsSync(dest), false);
        }
        assert.equal(files.requests, before);
        // The same URL is fetched when private addresses are allowed: the refusal was the guard.
        const ok = await download(`http://localhost:${port}/clip.mp4`, join(out, "y"), {
          maxBytes: 1e9,
          timeoutMs: 10_000,
          allowPrivate: true,
        });
        assert.equal(ok.bytes, clip.length);
        assert.equal(sha256(readFileSync(join(out, "y"))), sha256(clip));
        assert.equal(files.requests, before + 1);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });

    it("isPublicAddress tells public from private, loopback, link-local and mapped addresses", () => {
      for (const a of [
        "127.0.0.1",
        "10.0.0.1",
        "192.168.1.1",
        "172.16.0.1",
        "172.31.255.254",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "fd00::1",
        "fe80::1",
        "not an address",
        "",
      ]) {
        assert.equal(isPublicAddress(a), false, a);
      }
      for (const a of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "::ffff:8.8.8.8", "2001:4860:4860::8888"]) {
        assert.equal(isPublicAddress(a), true, a);
      }
    });
  });

  describe("download limits (OPENVOD_PULL_MAX_BYTES=100000)", () => {
    it("stops a file whose declared size is over the limit", async () => {
      const before = files.requests;
      const t = await pullTask(limited.client(), `${files.url}/big.bin`);
      assert.equal(t.ErrCode, 60000, t.Message);
      assert.match(t.Message, new RegExp(`${LIMIT * 3} bytes, over the limit of ${LIMIT}`));
      assert.equal(t.FileId, "");
      assert.equal(files.requests, before + 1);
      await tmpEmpty(limited);
    });

    it("stops a chunked response once it passes the limit, and hangs up", async () => {
      const t = await pullTask(limited.client(), `${files.url}/endless.mp4`);
      assert.equal(t.ErrCode, 60000, t.Message);
      assert.match(t.Message, new RegExp(`over the limit of ${LIMIT} bytes`));
      // The download was cut, not read to the end.
      const deadline = Date.now() + 10_000;
      while (chunked.outcome === "" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(chunked.outcome, "closed");
      assert.ok(chunked.sent < 50 * 1024 * 1024);
      await tmpEmpty(limited);
      assert.equal(((await limited.client().SearchMedia({})) as any).TotalCount, 0);
    });

    it("gives up on a download that stalls, after OPENVOD_PULL_TIMEOUT_MS", async () => {
      const t = await pullTask(limited.client(), `${files.url}/stalls.mp4`);
      assert.equal(t.ErrCode, 60000, t.Message);
      assert.match(t.Message, /timed out/);
      assert.equal(t.FileId, "");
      await tmpEmpty(limited);
    });

    it("pulls a file under the limit", async () => {
      const t = await pullTask(limited.client(), `${files.url}/clip.mp4`);
      assert.equal(t.ErrCode, 0, t.Message);
      const res = await fetch(t.FileUrl);
      assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(clip));
      await tmpEmpty(limited);
    });
  });

  describe("redirects", () => {
    it("follows two hops to the file", async () => {
      const t = await pullTask(limited.client(), `${files.url}/hop-a`);
      assert.equal(t.ErrCode, 0, t.Message);
      assert.equal(t.MetaData.Width, 160);
      const res = await fetch(t.FileUrl);
      assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(clip));
    });

    it("follows five redirects and refuses six", async () => {
      const five = await pullTask(limited.client(), `${files.url}/r5`);
      assert.equal(five.ErrCode, 0, five.Message);
      const before = files.requests;
      const six = await pullTask(limited.client(), `${files.url}/r6`);
      assert.equal(six.ErrCode, 60000, six.Message);
      assert.match(six.Message, /Too many redirects/);
      assert.equal(files.requests - before, 6, "the file itself was never requested");
      await tmpEmpty(limited);
    });

    it("refuses a redirect to a scheme other than http(s)", async () => {
      const t = await pullTask(limited.client(), `${files.url}/to-ftp`);
      assert.equal(t.ErrCode, 40000, t.Message);
      assert.match(t.Message, /Only http and https/);
    });
  });

  describe("secrets", () => {
    it("never writes the SecretKey to the log, even for failed signatures", async () => {
      const good = guarded.client();
      await good.DescribeMediaInfos({ FileIds: ["1234567890123456789"] });
      await good.SearchMedia({ Names: ["x"] });
      assert.equal(
        (await sdkError(() => good.DescribeMediaInfos({ FileIds: [] }))).code,
        "InvalidParameterValue.FileIdsEmpty",
      );
      const wrongKey = guarded.client({ secretKey: SECRET_KEY + "x" });
      assert.equal(
        (await sdkError(() => wrongKey.DescribeMediaInfos({ FileIds: ["1"] }))).code,
        "AuthFailure.SignatureFailure",
      );
      const wrongId = guarded.client({ secretId: SECRET_ID + "x" });
      assert.equal(
        (await sdkError(() => wrongId.DescribeMediaInfos({ FileIds: ["1"] }))).code,
        "AuthFailure.SecretIdNotFound",
      );
      const legacy = guarded.client({ signMethod: "HmacSHA256", reqMethod: "GET" });
      await legacy.DescribeMediaInfos({ FileIds: ["1234567890123456789"] });
      const legacyWrong = guarded.client({ signMethod: "HmacSHA1", secretKey: "nope" });
      assert.equal(
        (await sdkError(() => legacyWrong.DescribeMediaInfos({ FileIds: ["1"] }))).code,
        "AuthFailure.SignatureFailure",
      );
      // Debug logging is really on (the failures above were logged), so the check below means something.
      const deadline = Date.now() + 5000;
      while (!guarded.stderr.includes("AuthFailure.SignatureFailure") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.match(guarded.stderr, /AuthFailure\.SignatureFailure/);
      assert.equal(guarded.stderr.includes(SECRET_KEY), false, "SecretKey in the log");
      assert.equal(guarded.stderr.includes(SECRET_KEY + "x"), false);
      assert.equal(limited.stderr.includes(SECRET_KEY), false, "SecretKey in the log");
    });

    it("generates a key pair once (mode 0600) and prints the SecretKey only then", async () => {
      const dataDir = tempDir("openvod-keys-");
      const env = { OPENVOD_SECRET_ID: "", OPENVOD_SECRET_KEY: "" };
      try {
        const first = await startOpenvod({ dataDir, env });
        await first.kill9();
        const creds = JSON.parse(readFileSync(join(dataDir, "credentials.json"), "utf8"));
        assert.match(creds.SecretKey, /^[A-Za-z0-9_-]{32}$/);
        assert.equal(statSync(join(dataDir, "credentials.json")).mode & 0o777, 0o600);
        assert.ok(first.stderr.includes(creds.SecretKey), "shown once, when generated");
        const second = await startOpenvod({ dataDir, env });
        await second.kill9();
        assert.equal(second.stderr.includes(creds.SecretKey), false, "SecretKey printed again");
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
