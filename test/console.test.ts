// The web console at /console/ in a real headless Chromium against a real openvod process: the
// operator signs in with the key (kept in the tab's sessionStorage only), the console lists the
// application's media (a name with markup shows as text) and finds it by search, lists tasks
// and follows a new one to FINISH, shows a task's detail, and plays an HLS output with hls.js
// (the video's currentTime advances), also with Key hotlink protection on, when it signs the
// playlist's URL itself and every segment request is signed. The page carries no secret and a
// strict CSP.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { locateMediaTools } from "../src/media/tools.js";
import { withPage, WebRig, type Browser } from "./helpers/browser.js";
import {
  FileServer,
  REPO_ROOT,
  SECRET_ID,
  SECRET_KEY,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

/** docs/console.png: the viewport as a person sees it, pixels quantised to a palette by ffmpeg to stay small. */
async function docsScreenshot(page: Page): Promise<void> {
  const tools = await locateMediaTools();
  const raw = join(REPO_ROOT, "dist/test/screenshots/console-docs.png");
  mkdirSync(dirname(raw), { recursive: true });
  await page.setViewportSize({ width: 1000, height: 620 });
  await page.screenshot({ path: raw });
  const out = join(REPO_ROOT, "docs/console.png");
  mkdirSync(dirname(out), { recursive: true });
  await promisify(execFile)(tools.ffmpeg, [
    "-v",
    "error",
    "-y",
    "-i",
    raw,
    "-vf",
    "split[a][b];[a]palettegen=max_colors=64[p];[b][p]paletteuse=dither=none",
    out,
  ]);
}

const HOTLINK_KEY = "consoleHotlinkKey01";
const NAME = `console <img src=x onerror="window.pwned=1"> clip`;

describe("web console", () => {
  let rig: WebRig;
  let server: OpenvodProcess;
  let vod: Vod;
  let files: FileServer;
  let browser: Browser;
  let fileId = "";

  before(async () => {
    rig = await WebRig.start({ name: "console", clipSeconds: 3 });
    ({ server, vod, browser, site: files } = rig);
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, MediaName: NAME });
    const { detail } = await waitForTask(vod, TaskId!);
    assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
    fileId = detail.PullUploadTask.FileId;
  });

  after(async () => rig?.stop());

  const signIn = async (page: Page, key = SECRET_KEY) => {
    await page.goto(`${server.url}/console`);
    await page.fill("#secret-id", SECRET_ID);
    await page.fill("#secret-key", key);
    await page.click("#login button[type=submit]");
  };

  it("serves a page without secrets, under a strict Content-Security-Policy", async () => {
    const res = await fetch(`${server.url}/console/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get("content-security-policy")!;
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const html = await res.text();
    assert.ok(!html.includes(SECRET_ID) && !html.includes(SECRET_KEY));
    for (const name of ["console.js", "console.css", "hls.min.js"]) {
      assert.equal((await fetch(`${server.url}/console/${name}`)).status, 200, name);
    }
    assert.equal((await fetch(`${server.url}/console/..%2Fpackage.json`)).status, 404);
    assert.equal((await fetch(`${server.url}/console/credentials.json`)).status, 404);
  });

  it("refuses a wrong key with the API's error", async () => {
    await withPage(browser, "console-wrong-key", async (page) => {
      await signIn(page, "not-the-key-0000000000000000000");
      await page.waitForFunction(() => document.getElementById("login-error")!.textContent !== "");
      assert.match((await page.textContent("#login-error")) ?? "", /AuthFailure\.SignatureFailure/);
      assert.equal(await page.isHidden("#workspace"), true);
    });
  });

  it("lists and searches media, plays HLS, follows a task to FINISH, signs out", async () => {
    await withPage(browser, "console", async (page) => {
      await signIn(page);
      await page.waitForSelector("#login", { state: "hidden" });
      const row = page.locator(`#media tr[data-file-id="${fileId}"]`);
      await row.waitFor();
      assert.equal(await row.locator("td").nth(1).textContent(), NAME, "the name shows as text");
      assert.equal(await page.evaluate(() => (window as any).pwned), undefined);
      // The key is in this tab's sessionStorage only.
      assert.equal(await page.evaluate(() => localStorage.length), 0);
      assert.match(
        await page.evaluate(() => sessionStorage.getItem("openvod.console") ?? ""),
        /SecretKey|key/,
      );

      await page.fill("#search-text", "no such words");
      await page.click("#search button");
      await page.waitForFunction(() => document.querySelectorAll("#media tbody tr").length === 0);
      await page.fill("#search-text", "console");
      await page.click("#search button");
      await row.waitFor();

      // A task submitted elsewhere appears and is followed to FINISH while the list is shown.
      await page.click('nav button[data-tab="tasks"]');
      await page.locator("#tasks tbody tr").first().waitFor();
      const { TaskId } = await vod.ProcessMedia({
        FileId: fileId,
        MediaProcessTask: { AdaptiveDynamicStreamingTaskSet: [{ Definition: 10 }] },
      });
      const task = page.locator(`#tasks tr[data-task-id="${TaskId}"]`);
      await task.waitFor({ timeout: 20_000 });
      await page.waitForSelector(`#tasks tr[data-task-id="${TaskId}"][data-status="FINISH"]`, {
        timeout: 120_000,
      });
      await task.click();
      await page.waitForFunction(
        (id) => (document.getElementById("task-detail")!.textContent ?? "").includes(id),
        TaskId!,
      );
      const detail = JSON.parse((await page.textContent("#task-detail"))!);
      assert.equal(detail.TaskType, "Procedure");
      assert.equal(detail.ProcedureTask.FileId, fileId);

      // The player picks the HLS output and plays it through hls.js.
      await page.click('nav button[data-tab="media"]');
      await row.locator("button").click();
      await page.waitForFunction(() => /\.m3u8/.test(document.querySelector("video")!.dataset.src ?? ""));
      await page.waitForFunction(() => document.querySelector("video")!.currentTime > 0.5, null, {
        timeout: 30_000,
      });
      assert.ok(
        await page.evaluate(() => document.querySelector("video")!.src.startsWith("blob:")),
        "MSE via hls.js",
      );
      // The README's picture of the console, taken here when asked:
      // OPENVOD_DOCS_SCREENSHOT=1 node --test dist/test/console.test.js
      if (process.env.OPENVOD_DOCS_SCREENSHOT === "1") await docsScreenshot(page);

      await page.click("#signout");
      await page.waitForSelector("#login:not([hidden])");
      assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    });
  });
  it("with Key hotlink protection on, the player signs the HLS URL and plays it; segments are signed", async () => {
    const domain = (await vod.DescribeVodDomains({})).DomainSet![0]!.Domain!;
    await vod.ModifyVodDomainConfig({
      Domain: domain,
      UrlSignatureAuthPolicy: { Status: "Enabled", EncryptedKey: HOTLINK_KEY },
    });
    try {
      const info: any = await vod.DescribeMediaInfos({ FileIds: [fileId] });
      const master = info.MediaInfoSet[0].AdaptiveDynamicStreamingInfo.AdaptiveDynamicStreamingSet[0].Url;
      assert.equal((await fetch(master)).status, 403, "unsigned, the stream is refused");
      await withPage(browser, "console-signed-hls", async (page) => {
        const media: { url: string; status: number }[] = [];
        page.on("response", (r) => {
          if (r.url().includes("/files/")) media.push({ url: r.url(), status: r.status() });
        });
        await signIn(page);
        await page.waitForSelector("#login", { state: "hidden" });
        // The console's MD5 (WebCrypto has none) agrees with Node's.
        for (const text of ["", "abc", "ключ/dir/", "x".repeat(1000)]) {
          assert.equal(
            await page.evaluate((t) => (window as any).md5(t), text),
            createHash("md5").update(text).digest("hex"),
          );
        }
        const row = page.locator(`#media tr[data-file-id="${fileId}"]`);
        await row.locator("button").click();
        await page.waitForFunction(() => /\.m3u8\?/.test(document.querySelector("video")!.dataset.src ?? ""));
        await page.waitForFunction(() => document.querySelector("video")!.currentTime > 0.5, null, {
          timeout: 30_000,
        });
        const src = new URL(await page.evaluate(() => document.querySelector("video")!.dataset.src!));
        assert.equal(src.origin + src.pathname, master);
        assert.match(src.search, /^\?t=[0-9a-f]+&us=[0-9a-f]+&sign=[0-9a-f]{32}$/);
        const segments = media.filter((m) => /\.(ts|m4s)\?/.test(m.url) || /_init\.mp4\?/.test(m.url));
        assert.ok(segments.length > 0, `segment requests: ${media.map((m) => m.url).join("\n")}`);
        for (const m of media) {
          assert.match(new URL(m.url).search, /[?&]sign=[0-9a-f]{32}/, m.url);
          assert.ok(m.status === 200 || m.status === 206, `${m.status} ${m.url}`);
        }
      });
    } finally {
      await vod.ModifyVodDomainConfig({ Domain: domain, UrlSignatureAuthPolicy: { Status: "Disabled" } });
    }
  });
});
