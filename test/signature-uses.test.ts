// Signatures that only so many may use are recorded in the store, not in a process: a one-time
// client upload signature and a Key hotlink URL's rlimit hold across a kill -9 and restart
// (SQLite), and across two API processes on one PostgreSQL database, including two of them
// racing with the same one-time signature.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "./helpers/pg.js";
import { signPlaybackUrl, signUpload, statusFrom, ugcCall, uploadFields } from "./helpers/sign.js";
import {
  APP_ID,
  SECRET_ID,
  SECRET_KEY,
  startOpenvod,
  tempDir,
  type OpenvodProcess,
} from "./helpers/server.js";

const KEY = "signatureUsesKey01";
const oneTime = () => signUpload(uploadFields(SECRET_ID, { oneTimeValid: 1 }), SECRET_KEY);
const apply = (p: OpenvodProcess, signature: string) =>
  ugcCall(p.url, "ApplyUploadUGC", { signature, videoName: "v", videoType: "mp4", videoSize: 1000 });

/** Turns Key hotlink protection on, through `p`. */
async function enableUrlSigning(p: OpenvodProcess): Promise<void> {
  const vod = p.client();
  const domain = (await vod.DescribeVodDomains({})).DomainSet![0]!.Domain!;
  await vod.ModifyVodDomainConfig({
    Domain: domain,
    UrlSignatureAuthPolicy: { Status: "Enabled", EncryptedKey: KEY },
  });
}

/**
 * A file URL under the application's storage, signed with rlimit=1. The file is not there: the
 * signature check comes first, so 404 means "admitted" and 403 "refused".
 */
const rlimitUrl = (p: OpenvodProcess, us: string) =>
  signPlaybackUrl(`${p.url}/files/${APP_ID}/0000000000000000001/f0.mp4`, KEY, { rlimit: 1, us });

/** Until the process sees protection on (another process's policy cache lasts a second). */
async function untilProtected(p: OpenvodProcess): Promise<void> {
  const url = `${p.url}/files/${APP_ID}/0000000000000000001/f0.mp4`;
  for (let i = 0; (await fetch(url)).status !== 403; i++) {
    if (i > 100) assert.fail("Key hotlink protection never reached the process");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("signature uses survive a kill -9 and restart", () => {
  const dataDir = tempDir("openvod-siguses-");
  let server: OpenvodProcess | undefined;
  // The restarted process listens elsewhere; its public address (the domain) stays.
  const env = { OPENVOD_PUBLIC_URL: "http://vod.openvod.test" };
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a one-time signature used before the crash is refused after it; an rlimit IP count holds", async () => {
    server = await startOpenvod({ dataDir, env });
    await enableUrlSigning(server);
    const once = oneTime();
    const first = await apply(server, once);
    assert.equal(first.code, 0, first.message);
    const url = rlimitUrl(server, "restart");
    assert.equal(await statusFrom(url, "127.0.0.1"), 404, "admitted (no such file)");

    await server.kill9();
    server = await startOpenvod({ dataDir, env });
    const again = await apply(server, once);
    assert.equal(again.code, 10004);
    assert.match(again.message, /used already/);
    // Nor may it commit an upload other than its own.
    const other = await apply(server, signUpload(uploadFields(SECRET_ID), SECRET_KEY));
    assert.equal(other.code, 0, other.message);
    const commit = await ugcCall(server.url, "CommitUploadUGC", {
      signature: once,
      vodSessionKey: other.data.vodSessionKey,
    });
    assert.equal(commit.code, 10004);
    // The same signed path on the new listening port (a signature covers the path only).
    const moved = new URL(url);
    moved.port = new URL(server.url).port;
    assert.equal(await statusFrom(moved.href, "127.0.0.1"), 404, "the IP it already counted");
    assert.equal(await statusFrom(moved.href, "127.0.0.2"), 403, "a second IP, after the restart");
  });
});

describe("signature uses across two API processes on PostgreSQL", () => {
  let db: TestDatabase;
  const dataDir = tempDir("openvod-siguses-pg-");
  let a: OpenvodProcess;
  let b: OpenvodProcess;

  before(async () => {
    db = await createTestDatabase("openvod_test_siguses");
    const env = { OPENVOD_DATABASE_URL: db.url, OPENVOD_ROLE: "api" };
    a = await startOpenvod({ dataDir, env });
    // One public address for both, as behind a load balancer: one domain, one policy.
    b = await startOpenvod({ dataDir, env: { ...env, OPENVOD_PUBLIC_URL: a.url } });
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a one-time signature used on one process is refused on the other", async () => {
    const once = oneTime();
    const first = await apply(a, once);
    assert.equal(first.code, 0, first.message);
    const second = await apply(b, once);
    assert.equal(second.code, 10004);
    assert.match(second.message, /used already/);
    const commit = await ugcCall(b.url, "CommitUploadUGC", {
      signature: once,
      vodSessionKey: (await apply(b, signUpload(uploadFields(SECRET_ID), SECRET_KEY))).data.vodSessionKey,
    });
    assert.equal(commit.code, 10004);
  });

  it("two processes racing with one one-time signature: exactly one upload starts", async () => {
    for (let round = 0; round < 5; round++) {
      const once = oneTime();
      const answers = await Promise.all([apply(a, once), apply(b, once), apply(a, once), apply(b, once)]);
      const ok = answers.filter((r) => r.code === 0);
      assert.equal(ok.length, 1, JSON.stringify(answers.map((r) => [r.code, r.message])));
      for (const r of answers) if (r.code !== 0) assert.equal(r.code, 10004, r.message);
    }
  });

  it("rlimit counts client IPs across processes", async () => {
    await enableUrlSigning(a);
    await untilProtected(b);
    const onA = rlimitUrl(a, "two-processes");
    const onB = new URL(onA);
    onB.port = new URL(b.url).port;
    assert.equal(await statusFrom(onA, "127.0.0.1"), 404, "admitted on A (no such file)");
    assert.equal(await statusFrom(onB.href, "127.0.0.1"), 404, "the same IP on B");
    assert.equal(await statusFrom(onB.href, "127.0.0.2"), 403, "a second IP on B");
    assert.equal(await statusFrom(onA, "127.0.0.3"), 403, "a third on A");
  });
});
