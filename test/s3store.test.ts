// S3BlobStore against a local S3-compatible server (s3rver): multipart uploads, putDir replacing
// a prefix, prefix removal, the bounded download cache, ranged reads and presigned URLs.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { text } from "node:stream/consumers";
import { S3BlobStore } from "../src/blobs/s3.js";
import { LocalS3, S3_KEY_ID, S3_SECRET } from "./helpers/s3.js";
import { tempDir } from "./helpers/server.js";

const MiB = 1024 * 1024;
const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");

describe("S3BlobStore", () => {
  let s3: LocalS3;
  let dir: string;
  /** Every request the store sent: command name and headers as signed. */
  const sent: { command: string; headers: Record<string, string> }[] = [];

  const store = (o: { cacheMaxBytes?: number; cacheDir?: string } = {}) => {
    const s = new S3BlobStore({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: "us-east-1",
      accessKeyId: S3_KEY_ID,
      secretAccessKey: S3_SECRET,
      forcePathStyle: true,
      cacheDir: o.cacheDir ?? join(dir, `cache-${randomBytes(4).toString("hex")}`),
      cacheMaxBytes: o.cacheMaxBytes ?? 100 * MiB,
      partSize: 5 * MiB,
    });
    s.client.middlewareStack.add(
      (next, context) => async (args) => {
        const req = args.request as { headers: Record<string, string> };
        sent.push({ command: context.commandName!, headers: { ...req.headers } });
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "testRecorder" },
    );
    return s;
  };
  const count = (command: string, since = 0) => sent.slice(since).filter((r) => r.command === command).length;

  const file = (name: string, bytes: Buffer | string): string => {
    const p = join(dir, name);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, bytes);
    return p;
  };

  before(async () => {
    s3 = await new LocalS3("unit").start();
    dir = tempDir("openvod-s3-unit-");
  });
  after(async () => {
    await s3?.stop();
  });

  it("streams a 12 MB file up in 5 MB parts, removes the local file, and reads it back", async () => {
    const blobs = store();
    await blobs.init();
    const bytes = randomBytes(12 * MiB);
    const local = file("big.mp4", bytes);
    const mark = sent.length;
    await blobs.putFile("1/big/f0.mp4", local);
    assert.equal(count("CreateMultipartUploadCommand", mark), 1);
    assert.equal(count("UploadPartCommand", mark), 3);
    assert.equal(count("CompleteMultipartUploadCommand", mark), 1);
    assert.equal(existsSync(local), false, "putFile moves the file: the local copy is gone");
    assert.deepEqual(await s3.keys("1/big/"), ["1/big/f0.mp4"]);
    assert.deepEqual(await blobs.stat("1/big/f0.mp4"), { size: 12 * MiB });

    // A range across a part boundary, streamed.
    const r = await blobs.openRead("1/big/f0.mp4", { range: { start: 5 * MiB - 10, end: 5 * MiB + 9 } });
    const chunks: Buffer[] = [];
    for await (const c of r.body) chunks.push(c as Buffer);
    assert.deepEqual(Buffer.concat(chunks), bytes.subarray(5 * MiB - 10, 5 * MiB + 10));
    assert.deepEqual(r.range, { start: 5 * MiB - 10, end: 5 * MiB + 9 });
    assert.equal(r.size, 12 * MiB);

    // Three readers at once share one download into the cache.
    const before = count("GetObjectCommand");
    const copies = await Promise.all([1, 2, 3].map(() => blobs.openLocal("1/big/f0.mp4")));
    assert.equal(count("GetObjectCommand") - before, 1);
    for (const c of copies) assert.equal(sha1(readFileSync(c.path)), sha1(bytes));
    for (const c of copies) c.release();
    // Cached: a later reader downloads nothing.
    const again = await blobs.localPath("1/big/f0.mp4");
    assert.equal(count("GetObjectCommand") - before, 1);
    assert.equal(sha1(readFileSync(again)), sha1(bytes));
  });

  it("putDir replaces a prefix: new files up, stale keys gone", async () => {
    const blobs = store();
    await blobs.init();
    file("tree1/a.m3u8", "old a");
    file("tree1/seg/0.ts", "old 0");
    file("tree1/seg/1.ts", "old 1");
    await blobs.putDir("1/f/v.f100", join(dir, "tree1"));
    assert.deepEqual(await s3.keys("1/f/"), [
      "1/f/v.f100/a.m3u8",
      "1/f/v.f100/seg/0.ts",
      "1/f/v.f100/seg/1.ts",
    ]);
    assert.equal(existsSync(join(dir, "tree1")), false);

    file("tree2/a.m3u8", "new a");
    file("tree2/seg/0.ts", "new 0");
    await blobs.putDir("1/f/v.f100", join(dir, "tree2"));
    assert.deepEqual(await s3.keys("1/f/"), ["1/f/v.f100/a.m3u8", "1/f/v.f100/seg/0.ts"]);
    assert.equal(readFileSync(await blobs.localPath("1/f/v.f100/a.m3u8"), "utf8"), "new a");
    assert.equal(
      (await blobs.head("1/f/v.f100/a.m3u8"))!.contentType,
      "application/vnd.apple.mpegurl",
      "stored with the content type of its extension",
    );
    // An empty tree empties the prefix; a sibling that merely starts the same way stays.
    await blobs.putFile("1/f/v.f1000.mp4", file("other.mp4", "x"));
    mkdirSync(join(dir, "tree3"));
    await blobs.putDir("1/f/v.f100", join(dir, "tree3"));
    assert.deepEqual(await s3.keys("1/f/"), ["1/f/v.f1000.mp4"]);
  });

  it("removes one key or a whole prefix (in batches), and stat says undefined for missing keys", async () => {
    const blobs = store();
    await blobs.init();
    for (let i = 0; i < 5; i++) await blobs.putFile(`2/x/p/${i}.jpg`, file(`r${i}.jpg`, `img ${i}`));
    await blobs.putFile("2/x/keep.mp4", file("keep.mp4", "keep"));
    await blobs.putFile("2/xy/other.mp4", file("other2.mp4", "other"));
    const mark = sent.length;
    await blobs.remove("2/x/p/");
    assert.deepEqual(await s3.keys("2/"), ["2/x/keep.mp4", "2/xy/other.mp4"]);
    // DeleteObjects carries Content-MD5 (required by the API; some servers insist on it).
    const del = sent.slice(mark).find((r) => r.command === "DeleteObjectsCommand")!;
    assert.ok(del, "a batch delete was sent");
    const headers = Object.fromEntries(Object.entries(del.headers).map(([k, v]) => [k.toLowerCase(), v]));
    assert.match(headers["content-md5"] ?? "", /^[A-Za-z0-9+/]{22}==$/);
    assert.equal(
      Object.keys(headers).some((h) => h.startsWith("x-amz-checksum-")),
      false,
    );
    await blobs.remove("2/x/keep.mp4");
    assert.deepEqual(await s3.keys("2/"), ["2/xy/other.mp4"]);
    await blobs.remove("2/nothing/"); // nothing there: fine
    await blobs.remove("2/nothing.mp4");
    assert.equal(await blobs.stat("2/x/keep.mp4"), undefined);
    assert.equal(await blobs.stat("9/never/there.mp4"), undefined);
    await assert.rejects(blobs.localPath("9/never/there.mp4"), /does not exist/);
    await assert.rejects(blobs.remove("/"), /unsafe/);
    await assert.rejects(blobs.remove("../x"), /unsafe/);
  });

  it("keeps the download cache within its limit, least recently used out, held copies kept", async () => {
    const cacheDir = join(dir, "bounded-cache");
    const blobs = store({ cacheDir, cacheMaxBytes: 2.5 * MiB });
    await blobs.init();
    const data = [0, 1, 2].map(() => randomBytes(MiB));
    for (const [i, b] of data.entries()) await blobs.putFile(`3/c/${i}.mp4`, file(`c${i}.mp4`, b));
    const entries = () => readdirSync(cacheDir).filter((n) => !n.startsWith("."));
    const cached = () => entries().reduce((n, f) => n + statSync(join(cacheDir, f)).size, 0);

    await blobs.localPath("3/c/0.mp4");
    await blobs.localPath("3/c/1.mp4");
    await blobs.localPath("3/c/0.mp4"); // 0 is now the most recently used
    assert.equal(entries().length, 2);
    const held = await blobs.openLocal("3/c/2.mp4"); // third: 1 (least recent) goes
    await settle();
    assert.equal(entries().length, 2);
    assert.ok(cached() <= 2.5 * MiB, `cache holds ${cached()} bytes`);
    const mark = count("GetObjectCommand");
    await blobs.localPath("3/c/0.mp4");
    assert.equal(count("GetObjectCommand"), mark, "0 stayed cached");
    await blobs.localPath("3/c/1.mp4");
    assert.equal(count("GetObjectCommand"), mark + 1, "1 was evicted and is fetched again");
    await settle();
    // 2 is held: it stays readable (and was not evicted) while 0 made room for 1.
    assert.deepEqual(readFileSync(held.path), data[2]);
    assert.ok(cached() <= 2.5 * MiB, `cache holds ${cached()} bytes`);
    held.release();
    await settle();
    assert.equal(existsSync(held.path), false, "the reader's own link goes on release");

    // A key replaced in storage is fetched anew, never served stale from the cache.
    await blobs.putFile("3/c/1.mp4", file("c1b.mp4", "replaced"));
    assert.equal(readFileSync(await blobs.localPath("3/c/1.mp4"), "utf8"), "replaced");

    // A new process finds the cache as left, and still keeps it within bounds.
    const next = store({ cacheDir, cacheMaxBytes: MiB });
    await next.init();
    assert.ok(cached() <= MiB, `cache holds ${cached()} bytes after a restart with a smaller limit`);
  });

  it("presigns GET URLs that serve the object without credentials", async () => {
    const blobs = store();
    await blobs.init();
    await blobs.putFile("4/p/f0.mp4", file("p.mp4", "presigned bytes"));
    const url = await blobs.presignedUrl("4/p/f0.mp4", 60);
    assert.ok(url.startsWith(`${s3.endpoint}/unit/4/p/f0.mp4?`), url);
    assert.match(url, /X-Amz-Expires=60/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await text(res.body as any), "presigned bytes");
  });
});

/** Lets fire-and-forget evictions and unlinks finish. */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 50));
}
