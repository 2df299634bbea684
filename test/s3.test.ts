// openvod with S3-compatible storage (a local s3rver) end to end through the official SDK:
// PullUpload, FileUrls (bytes, Range, HEAD, 404), DescribeFileAttributes through the download
// cache, ProcessMedia (transcode, HLS, snapshots) with outputs in the bucket and nothing in the
// local files directory, DeleteMedia emptying the bucket, a bounded cache, and presigned mode.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { probeMedia } from "../src/media/probe.js";
import { runFfprobe } from "../src/media/run.js";
import { video, withOpenvod } from "./helpers/openvod.js";
import { LocalS3 } from "./helpers/s3.js";
import { APP_ID, startOpenvod, waitForTask, type OpenvodProcess } from "./helpers/server.js";
import { rawGet } from "./helpers/sign.js";

const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");

/** A raw HTTP request: the path goes on the wire exactly as given. */

/** Every file under a directory (relative paths); [] when it does not exist. */
function filesUnder(dir: string, rel = ""): string[] {
  if (!existsSync(join(dir, rel))) return [];
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, join(rel, e.name)) : [join(rel, e.name)],
  );
}

describe("S3-compatible storage", () => {
  let s3: LocalS3;
  let presigned: OpenvodProcess;
  let clip: Buffer;
  let pulled: any;
  let outputs: { mp4: any; hls: any; shots: any[] };

  // Before the fixture's hooks: its server keeps files in this bucket; after them, the bucket goes.
  before(async () => {
    s3 = await new LocalS3("openvod-media").start();
  });
  after(() => s3?.stop());
  const { server, vod, files, tools, dir } = withOpenvod({
    media: { "clip.mp4": video({ width: 320, height: 240, seconds: 2 }) },
    // A cache limit smaller than any file: every copy goes as soon as its reader is done.
    env: () => s3.env({ OPENVOD_S3_CACHE_MAX_BYTES: "1000", OPENVOD_TASK_TIMEOUT_MS: "120000" }),
  });
  before(async () => {
    clip = readFileSync(join(dir(), "clip.mp4"));
    // A second process on the same bucket, redirecting to presigned URLs.
    presigned = await startOpenvod({
      env: s3.env({ OPENVOD_S3_PRESIGNED_URLS: "true", OPENVOD_S3_PRESIGN_EXPIRES_SECONDS: "120" }),
    });
  });
  after(() => presigned?.stop());

  it("pulls a video into the bucket, never into the local files directory", async () => {
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, MediaName: "clip" });
    const { detail } = await waitForTask(vod, TaskId!);
    pulled = detail.PullUploadTask;
    assert.equal(pulled.ErrCode, 0, pulled.Message);
    assert.equal(pulled.MetaData.Width, 320);
    assert.equal(pulled.MediaBasicInfo.Type, "mp4");
    assert.ok(pulled.FileUrl.startsWith(`${server.url}/files/${APP_ID}/${pulled.FileId}/`));
    assert.deepEqual(await s3.keys(`${APP_ID}/${pulled.FileId}/`), [`${APP_ID}/${pulled.FileId}/f0.mp4`]);
    assert.deepEqual(filesUnder(join(server.dataDir, "files")), []);
  });

  it("serves the FileUrl from the bucket: same bytes, Range, HEAD, content type, 404", async () => {
    const res = await fetch(pulled.FileUrl);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "video/mp4");
    assert.equal(sha1(Buffer.from(await res.arrayBuffer())), sha1(clip));

    const path = new URL(pulled.FileUrl).pathname;
    const range = await rawGet(server.port, path, "GET", { range: "bytes=100-227" });
    assert.equal(range.status, 206);
    assert.equal(range.headers["content-range"], `bytes 100-227/${clip.length}`);
    assert.equal(Number(range.headers["content-length"]), 128);
    assert.deepEqual(range.body, clip.subarray(100, 228));
    const open = await rawGet(server.port, path, "GET", { range: `bytes=${clip.length - 5}-` });
    assert.equal(open.status, 206);
    assert.deepEqual(open.body, clip.subarray(clip.length - 5));
    const tail = await rawGet(server.port, path, "GET", { range: "bytes=-10" });
    assert.equal(tail.status, 206);
    assert.equal(
      tail.headers["content-range"],
      `bytes ${clip.length - 10}-${clip.length - 1}/${clip.length}`,
    );
    assert.deepEqual(tail.body, clip.subarray(clip.length - 10));
    const beyond = await rawGet(server.port, path, "GET", { range: `bytes=${clip.length}-` });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers["content-range"], `bytes */${clip.length}`);

    const head = await rawGet(server.port, path, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers["content-length"]), clip.length);
    assert.equal(head.headers["content-type"], "video/mp4");
    assert.equal(head.headers["accept-ranges"], "bytes");
    assert.equal(head.body.length, 0);
    const etag = String(head.headers["etag"]);
    assert.ok(etag, "an ETag");
    assert.equal((await rawGet(server.port, path, "GET", { "if-none-match": etag })).status, 304);

    for (const p of [
      `/files/${APP_ID}/${pulled.FileId}/missing.mp4`,
      `/files/${APP_ID}/${pulled.FileId}/`,
      "/files/",
      "/files/../openvod.db",
      "/files/..%2fopenvod.db",
      `/files/${APP_ID}/%2e%2e/%2e%2e/openvod.db`,
      "/files/..%5copenvod.db",
    ]) {
      const r = await rawGet(server.port, p);
      assert.equal(r.status, 404, p);
      assert.equal(r.body.includes(Buffer.from("SQLite format 3")), false, p);
    }
  });

  it("hashes the original through the download cache (DescribeFileAttributes)", async () => {
    const attr = await vod.DescribeFileAttributes({ FileId: pulled.FileId });
    const { detail } = await waitForTask(vod, attr.TaskId!);
    const out = detail.DescribeFileAttributesTask;
    assert.equal(out.Status, "SUCCESS", out.Message);
    assert.equal(out.Output.Md5, createHash("md5").update(clip).digest("hex"));
    assert.equal(out.Output.Sha1, sha1(clip));
  });

  it("processes media from the bucket and stores every output there (ProcessMedia)", async () => {
    const { TaskId } = await vod.ProcessMedia({
      FileId: pulled.FileId,
      MediaProcessTask: {
        TranscodeTaskSet: [{ Definition: 100010 }, { Definition: 100210, EndTimeOffset: 1 }],
        SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ["0.5s", "1s"] }],
      },
    });
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
    const results = detail.ProcedureTask.MediaProcessResultSet;
    for (const r of results) {
      const item = r.TranscodeTask ?? r.SnapshotByTimeOffsetTask;
      assert.equal(item.Status, "SUCCESS", `${r.Type}: ${item.Message}`);
    }
    const [mp4, hls] = results
      .filter((r: any) => r.Type === "Transcode")
      .map((r: any) => r.TranscodeTask.Output);
    const shots = results.find((r: any) => r.Type === "SnapshotByTimeOffset").SnapshotByTimeOffsetTask.Output
      .PicInfoSet;
    outputs = { mp4, hls, shots };

    const keys = await s3.keys(`${APP_ID}/${pulled.FileId}/`);
    const base = `${APP_ID}/${pulled.FileId}/`;
    assert.ok(keys.includes(`${base}v.f100010.mp4`), keys.join(" "));
    assert.ok(keys.includes(`${base}v.f100210/v.f100210.m3u8`), keys.join(" "));
    assert.ok(
      keys.some((k) => k.startsWith(`${base}v.f100210/`) && k.endsWith(".ts")),
      keys.join(" "),
    );
    assert.equal(keys.filter((k) => k.startsWith(`${base}snapshot-10/`)).length, 2);
    assert.deepEqual(filesUnder(join(server.dataDir, "files")), []);

    // The transcoded file serves what the task measured.
    const body = Buffer.from(await (await fetch(mp4.Url)).arrayBuffer());
    assert.equal(body.length, mp4.Size);
    assert.equal(createHash("md5").update(body).digest("hex"), mp4.Md5);
    writeFileSync(join(dir(), "out.mp4"), body);
    assert.equal((await probeMedia(tools, join(dir(), "out.mp4"))).metaData.Height, 360);
    // HLS plays through openvod: the playlist's relative segment URLs resolve under /files/.
    const probed = JSON.parse(
      await runFfprobe(tools, ["-v", "error", "-print_format", "json", "-show_format", hls.Url], 30_000),
    );
    assert.ok(Math.abs(Number(probed.format.duration) - 1) < 0.5, `hls duration ${probed.format.duration}`);
    const shot = await fetch(shots[0].Url);
    assert.equal(shot.status, 200);
    assert.equal(shot.headers.get("content-type"), "image/jpeg");
  });

  it("keeps the download cache within its limit, holding nothing once tasks are done", async () => {
    const cache = join(server.dataDir, "cache");
    assert.ok(existsSync(cache), "the cache directory exists");
    const usage = () => {
      const entries = readdirSync(cache);
      return { entries, bytes: entries.reduce((n, f) => n + statSync(join(cache, f)).size, 0) };
    };
    // Evictions follow the release of a copy; give the last one a moment.
    for (let i = 0; i < 40 && (usage().bytes > 1000 || usage().entries.length); i++)
      await new Promise((r) => setTimeout(r, 50));
    const { entries, bytes } = usage();
    assert.ok(bytes <= 1000, `cache holds ${bytes} bytes in ${entries.join(", ")}`);
    assert.deepEqual(
      entries.filter((e) => e.startsWith(".")),
      [],
      "no held copies or partial downloads",
    );
  });

  it("answers with a 302 to a presigned URL in presigned mode (manifests still proxied)", async () => {
    const path = new URL(pulled.FileUrl).pathname;
    const r = await fetch(`${presigned.url}${path}`, { redirect: "manual" });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("cache-control"), "no-store");
    const location = r.headers.get("location")!;
    assert.ok(location.startsWith(`${s3.endpoint}/openvod-media/${path.slice("/files/".length)}?`), location);
    assert.match(location, /X-Amz-Expires=120/);
    const bytes = Buffer.from(await (await fetch(location)).arrayBuffer());
    assert.equal(sha1(bytes), sha1(clip));
    // Following the redirect gives the bytes straight away.
    assert.equal(sha1(Buffer.from(await (await fetch(`${presigned.url}${path}`)).arrayBuffer())), sha1(clip));
    assert.equal(
      (await fetch(`${presigned.url}/files/${APP_ID}/0/missing.mp4`, { redirect: "manual" })).status,
      404,
    );

    const hlsPath = new URL(outputs.hls.Url).pathname;
    const playlist = await fetch(`${presigned.url}${hlsPath}`, { redirect: "manual" });
    assert.equal(playlist.status, 200, "the playlist itself is served by openvod");
    assert.match(await playlist.text(), /#EXTM3U/);
    const probed = JSON.parse(
      await runFfprobe(
        tools,
        ["-v", "error", "-print_format", "json", "-show_format", `${presigned.url}${hlsPath}`],
        30_000,
      ),
    );
    assert.ok(Math.abs(Number(probed.format.duration) - 1) < 0.5, `hls duration ${probed.format.duration}`);
  });

  it("DeleteMedia removes every object of the media from the bucket", async () => {
    await vod.DeleteMedia({
      FileId: pulled.FileId,
      DeleteParts: [{ Type: "TranscodeFiles", Definition: 100210 }],
    });
    const base = `${APP_ID}/${pulled.FileId}/`;
    const keys = await s3.keys(base);
    assert.equal(
      keys.some((k) => k.startsWith(`${base}v.f100210/`)),
      false,
    );
    assert.ok(keys.includes(`${base}v.f100010.mp4`));
    assert.equal((await fetch(outputs.hls.Url)).status, 404);

    await vod.DeleteMedia({ FileId: pulled.FileId });
    assert.deepEqual(await s3.keys(base), []);
    assert.equal((await fetch(pulled.FileUrl)).status, 404);
    assert.equal((await fetch(outputs.mp4.Url)).status, 404);
    assert.equal((await fetch(outputs.shots[0].Url)).status, 404);
  });
});
