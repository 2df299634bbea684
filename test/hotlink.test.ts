// Key hotlink protection against a real openvod process: ModifyVodDomainConfig switches
// UrlSignatureAuthPolicy on for one application, then /files/ refuses unsigned, expired,
// tampered and over-limit URLs with 403 and serves correctly signed ones (signed here exactly
// as Tencent's doc 266/14047 says), HLS included: the playlists come back with every segment
// URL signed, and a preview (exper) playlist is cut. A Chromium <video> plays a signed URL and
// fails on an unsigned one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { withPage, WebRig, type Browser } from "./helpers/browser.js";
import { signPlaybackUrl, statusFrom } from "./helpers/sign.js";
import { FileServer, sdkError, waitForTask, type Vod } from "./helpers/server.js";

const KEY = "hotlinkTestKey0123";

const signUrl = (url: string, o: Parameters<typeof signPlaybackUrl>[2] & { key?: string } = {}) =>
  signPlaybackUrl(url, o.key ?? KEY, o);

const status = async (url: string) => (await fetch(url)).status;

/** Every URI line and URI="..." attribute of a playlist, resolved against its URL. */
function urisOf(text: string, base: string): string[] {
  return text.split("\n").flatMap((l) => {
    const line = l.trim();
    if (line.startsWith("#"))
      return [...line.matchAll(/URI="([^"]+)"/g)].map((m) => new URL(m[1]!, base).href);
    return line ? [new URL(line, base).href] : [];
  });
}

const sumExtinf = (text: string) =>
  [...text.matchAll(/#EXTINF:([\d.]+)/g)].reduce((s, m) => s + Number(m[1]), 0);

describe("Key hotlink protection on /files/", () => {
  let rig: WebRig;
  let vod: Vod;
  let files: FileServer;
  let browser: Browser;
  let dir = "";
  let mp4Url = "";
  let masterUrl = "";
  let otherAppUrl = "";
  let subApp = 0;
  let domain = "";

  const pull = async (subAppId?: number) => {
    const { TaskId } = await vod.PullUpload({
      MediaUrl: `${files.url}/clip.mp4`,
      ...(subAppId ? { SubAppId: subAppId } : {}),
    });
    const { detail } = await waitForTask(vod, TaskId!, { subAppId });
    assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
    return detail.PullUploadTask as { FileId: string; FileUrl: string };
  };

  before(async () => {
    rig = await WebRig.start({ name: "hotlink", clipSeconds: 8 });
    ({ vod, browser, dir, site: files } = rig);
    subApp = ((await vod.CreateSubAppId({ Name: "unprotected" })) as any).SubAppId;
    const main = await pull();
    mp4Url = main.FileUrl;
    otherAppUrl = (await pull(subApp)).FileUrl;
    const { TaskId } = await vod.ProcessMedia({
      FileId: main.FileId,
      MediaProcessTask: { AdaptiveDynamicStreamingTaskSet: [{ Definition: 10 }] },
    });
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
    const adp = detail.ProcedureTask.MediaProcessResultSet[0].AdaptiveDynamicStreamingTask;
    assert.equal(adp.Status, "SUCCESS", adp.Message);
    masterUrl = adp.Output.Url;
    domain = new URL(mp4Url).host;
  });

  after(async () => rig?.stop());

  it("is off by default; DescribeVodDomains shows the application's domain", async () => {
    assert.equal(await status(mp4Url), 200);
    const d: any = await vod.DescribeVodDomains({});
    assert.equal(d.TotalCount, 1);
    assert.equal(d.DomainSet[0].Domain, domain);
    assert.deepEqual(d.DomainSet[0].UrlSignatureAuthPolicy, { Status: "Disabled", EncryptedKey: "" });
    assert.equal((await vod.DescribeVodDomains({ Domains: ["other.example.com"] })).TotalCount, 0);
  });

  it("ModifyVodDomainConfig refuses bad configurations with the exact codes", async () => {
    const code = async (req: any) => (await sdkError(() => vod.ModifyVodDomainConfig(req))).code;
    assert.equal(
      await code({
        Domain: "other.example.com",
        UrlSignatureAuthPolicy: { Status: "Enabled", EncryptedKey: KEY },
      }),
      "InvalidParameterValue.Domain",
    );
    assert.equal(
      await code({ Domain: domain, UrlSignatureAuthPolicy: { Status: "Enabled", EncryptedKey: "short" } }),
      "InvalidParameterValue",
    );
    assert.equal(
      await code({
        Domain: domain,
        UrlSignatureAuthPolicy: { Status: "Enabled", EncryptedKey: "has space inside" },
      }),
      "InvalidParameterValue",
    );
    assert.equal(
      await code({ Domain: domain, UrlSignatureAuthPolicy: { Status: "Enabled" } }),
      "InvalidParameterValue",
    );
    assert.equal(
      await code({ Domain: domain, UrlSignatureAuthPolicy: { Status: "On", EncryptedKey: KEY } }),
      "InvalidParameterValue",
    );
    assert.equal(
      await code({
        Domain: domain,
        RefererAuthPolicy: { Status: "Enabled", AuthType: "White", Referers: ["a.com"] },
      }),
      "UnsupportedOperation",
    );
    assert.equal(await status(mp4Url), 200, "nothing was switched on");
  });

  it("once enabled: 403 for unsigned, expired, tampered, foreign-key and malformed URLs; signed ones play", async () => {
    await vod.ModifyVodDomainConfig({
      Domain: domain,
      UrlSignatureAuthPolicy: { Status: "Enabled", EncryptedKey: KEY },
    });
    const d: any = await vod.DescribeVodDomains({});
    assert.deepEqual(d.DomainSet[0].UrlSignatureAuthPolicy, { Status: "Enabled", EncryptedKey: KEY });

    assert.equal(await status(mp4Url), 403);
    const signed = signUrl(mp4Url, { us: "r4nd0m" });
    const res = await fetch(signed);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(join(dir, "clip.mp4")));
    // A Range request under the same signature (players seek).
    const part = await fetch(signed, { headers: { range: "bytes=0-99" } });
    assert.equal(part.status, 206);
    assert.equal((await part.arrayBuffer()).byteLength, 100);
    assert.equal((await fetch(signed, { method: "HEAD" })).status, 200);

    assert.equal(await status(signUrl(mp4Url, { t: Math.floor(Date.now() / 1000) - 1 })), 403, "expired");
    assert.equal(await status(signUrl(mp4Url, { key: "anotherKey0123" })), 403, "another key");
    const u = new URL(signed);
    u.searchParams.set("us", "changed");
    assert.equal(await status(u.href), 403, "us changed after signing");
    const later = new URL(signed);
    later.searchParams.set("t", (parseInt(later.searchParams.get("t")!, 16) + 3600).toString(16));
    assert.equal(await status(later.href), 403, "t extended after signing");
    const moved = new URL(signed);
    moved.pathname = moved.pathname.replace(/\/[^/]+\/f0\.mp4$/, "/1234567890/f0.mp4");
    assert.equal(await status(moved.href), 403, "signature of another directory");
    const upper = new URL(signed);
    upper.searchParams.set("t", upper.searchParams.get("t")!.toUpperCase());
    assert.equal(await status(upper.href), 403, "t not lowercase hex");
    assert.equal(await status(`${mp4Url}?t=zz&sign=${"0".repeat(32)}`), 403);
    assert.equal(await status(`${mp4Url}?sign=${"0".repeat(32)}`), 403);
    // Per application: another application's files are still open.
    assert.equal(await status(otherAppUrl), 200);
  });

  it("rlimit: a signature serves at most that many client IPs", async () => {
    const signed = signUrl(mp4Url, { rlimit: 2, us: "ip-test" });
    assert.equal(await statusFrom(signed, "127.0.0.1"), 200);
    assert.equal(await statusFrom(signed, "127.0.0.2"), 200);
    assert.equal(await statusFrom(signed, "127.0.0.1"), 200, "an IP already counted");
    assert.equal(await statusFrom(signed, "127.0.0.3"), 403, "a third IP");
    assert.equal(await status(signUrl(mp4Url, { rlimit: 10 })), 403, "rlimit past 9");
  });

  it("HLS: signed playlists hand out signed segment URLs that play; unsigned ones are refused", async () => {
    assert.equal(await status(masterUrl), 403);
    const master = signUrl(masterUrl, { us: "hls" });
    const mres = await fetch(master);
    assert.equal(mres.status, 200);
    assert.match(mres.headers.get("content-type")!, /mpegurl/);
    const masterText = await mres.text();
    const variants = urisOf(masterText, master);
    assert.ok(variants.length > 0, masterText);
    let segments = 0;
    let seconds = 0;
    for (const v of variants) {
      assert.match(v, /[?&]sign=[0-9a-f]{32}/);
      const unsignedVariant = v.slice(0, v.indexOf("?"));
      assert.equal(await status(unsignedVariant), 403, "the variant without its signature");
      const text = await (await fetch(v)).text();
      if (!text.includes("#EXTINF")) continue;
      seconds = Math.max(seconds, sumExtinf(text));
      for (const s of urisOf(text, v)) {
        const r = await fetch(s);
        assert.equal(r.status, 200, s);
        assert.ok((await r.arrayBuffer()).byteLength > 0);
        assert.equal(await status(s.slice(0, s.indexOf("?"))), 403, "a segment without its signature");
        segments++;
      }
    }
    assert.ok(segments >= 2, `segments: ${segments}`);
    assert.ok(Math.abs(seconds - 8) < 0.5, `playlist covers ${seconds} s`);

    // A preview: the media playlists stop after exper seconds and end there.
    const preview = signUrl(masterUrl, { exper: 3, us: "preview" });
    const ptext = await (await fetch(preview)).text();
    for (const v of urisOf(ptext, preview)) {
      const text = await (await fetch(v)).text();
      if (!text.includes("#EXTINF")) continue;
      const covered = sumExtinf(text);
      assert.ok(covered >= 3 && covered < seconds, `preview covers ${covered} s of ${seconds}`);
      assert.match(text, /#EXT-X-ENDLIST\n$/);
      for (const s of urisOf(text, v)) assert.equal(await status(s), 200, s);
    }
    assert.equal(await status(signUrl(mp4Url, { exper: 3 })), 403, "openvod cannot cut an mp4 preview");
  });

  // The <video> lives on a page of the test's own (an application's page embedding the player):
  // navigating to a bodiless 404 instead makes Chromium fail the navigation and commit its own
  // error page afterwards, which destroys whatever was being evaluated meanwhile.
  it("Chromium: a <video> plays the signed URL and fails on the unsigned one", async () => {
    rig.serve(
      "/player.html",
      "text/html; charset=utf-8",
      `<!doctype html><meta charset="utf-8"><title>player</title><body></body>`,
    );
    const signed = signUrl(mp4Url);
    const r = await withPage(browser, "hotlink-video", async (page) => {
      await page.goto(`${files.url}/player.html`);
      return await page.evaluate(
        async ([good, bad]) => {
          const play = (src: string) =>
            new Promise<string>((resolve) => {
              const v = document.createElement("video");
              v.muted = true;
              v.onerror = () => resolve(`error ${v.error?.code}`);
              v.ontimeupdate = () => v.currentTime > 0.5 && resolve(`played ${v.currentTime}`);
              v.src = src;
              document.body.appendChild(v);
              v.play().catch(() => {});
              setTimeout(() => resolve("timeout"), 15_000);
            });
          return { good: await play(good!), bad: await play(bad!) };
        },
        [signed, mp4Url],
      );
    });
    assert.match(r.good, /^played /);
    assert.match(r.bad, /^error /);
  });

  it("switched off again: unsigned URLs are served", async () => {
    await vod.ModifyVodDomainConfig({ Domain: domain, UrlSignatureAuthPolicy: { Status: "Disabled" } });
    assert.equal(await status(mp4Url), 200);
    const d: any = await vod.DescribeVodDomains({});
    assert.deepEqual(d.DomainSet[0].UrlSignatureAuthPolicy, { Status: "Disabled", EncryptedKey: KEY });
  });
});
