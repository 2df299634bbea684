// The README must match the code: its generated tables are the code's, and its SDK snippets run
// against a real server, so the docs cannot drift.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { promisify } from "node:util";
import { supportTable } from "../src/actions/supportTable.js";
import { settingsTable } from "../src/config.js";
import { locateMediaTools } from "../src/media/tools.js";
import { makeVideo } from "./helpers/media.js";
import { FileServer, REPO_ROOT, SECRET_ID, SECRET_KEY, startOpenvod, tempDir } from "./helpers/server.js";

const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");

function section(name: string): string {
  const m = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(readme);
  assert.ok(m, `README has no ${name} section`);
  return m[1]!;
}

/** The first ```js block under the heading that starts with `heading`. */
function snippet(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}`);
  assert.ok(start >= 0, `README has no "## ${heading}" section`);
  const end = readme.indexOf("\n## ", start + 1);
  const m = /```js\n([\s\S]*?)\n```/.exec(readme.slice(start, end < 0 ? undefined : end));
  assert.ok(m, `no js snippet under "## ${heading}"`);
  return m[1]!;
}

/** Replaces every `from` (which must be there, so a README edit cannot silently skip it). */
function substitute(code: string, pairs: [string, string][]): string {
  for (const [from, to] of pairs) {
    assert.ok(code.includes(from), `the README snippet no longer contains ${from}`);
    code = code.split(from).join(to);
  }
  return code;
}

it("lists exactly the implemented actions (regenerate with `npm run docs`)", () => {
  assert.equal(section("support-table"), supportTable());
});

it("documents every setting", () => {
  assert.equal(section("settings-table"), settingsTable());
});

it("the SDK and upload snippets run as written against a real server", async () => {
  const media = tempDir();
  // Inside the repository, so that its imports resolve to the installed SDKs.
  const scratch = mkdtempSync(join(REPO_ROOT, "dist", "readme-snippet-"));
  const server = await startOpenvod();
  const files = await new FileServer(media).start();
  try {
    await makeVideo(await locateMediaTools(), join(media, "clip.mp4"), {
      width: 160,
      height: 120,
      seconds: 1,
    });
    const program = substitute(`${snippet("Pointing the official SDK")}\n${snippet("Uploading")}\n`, [
      ["<SecretId printed at start>", SECRET_ID],
      ["<SecretKey>", SECRET_KEY],
      ["127.0.0.1:9080", `127.0.0.1:${server.port}`],
      ["https://example.com/video.mp4", `${files.url}/clip.mp4`],
    ]);
    const file = join(scratch, "example.mjs");
    writeFileSync(file, program);
    // Run where clip.mp4 is, as the upload snippet expects.
    const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: media, timeout: 60_000 });
    const [pulled, uploaded] = stdout.trim().split("\n");
    const [fileId, fileUrl, duration] = pulled!.split(" ");
    assert.match(fileId!, /^\d{19}$/, stdout);
    assert.ok(fileUrl!.startsWith(`${server.url}/files/`), stdout);
    assert.ok(Number(duration) > 0.5, stdout);
    const [uploadedId, mediaUrl] = uploaded!.split(" ");
    assert.match(uploadedId!, /^\d{19}$/, stdout);
    assert.notEqual(uploadedId, fileId);
    const served = await fetch(mediaUrl!);
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), readFileSync(join(media, "clip.mp4")));
  } finally {
    await files.stop();
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
    rmSync(media, { recursive: true, force: true });
  }
});
