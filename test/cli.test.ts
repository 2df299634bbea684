// The CLI as users run it: `openvod events` follows an application's events (PULL mode).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { locateMediaTools } from "../src/media/tools.js";
import { makeVideo } from "./helpers/media.js";
import {
  FileServer,
  REPO_ROOT,
  SECRET_ID,
  SECRET_KEY,
  startOpenvod,
  tempDir,
  waitForTask,
  type OpenvodProcess,
} from "./helpers/server.js";

const run = promisify(execFile);
const CLI = join(REPO_ROOT, "dist/src/cli/main.js");

describe("openvod events", () => {
  let server: OpenvodProcess;
  let files: FileServer;
  before(async () => {
    const dir = tempDir();
    await makeVideo(await locateMediaTools(), join(dir, "clip.mp4"), { seconds: 1, width: 160, height: 120 });
    writeFileSync(join(dir, "note.txt"), "not media");
    files = await new FileServer(dir).start();
    server = await startOpenvod();
  });
  after(async () => {
    await server?.stop();
    await files?.stop();
  });

  it("prints each event as a JSON line and confirms it", async () => {
    const vod = server.client();
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, SessionContext: "cli" });
    await waitForTask(vod, TaskId!);
    const args = [
      CLI,
      "events",
      "--endpoint",
      `127.0.0.1:${server.port}`,
      "--secret-id",
      SECRET_ID,
      "--secret-key",
      SECRET_KEY,
      "--once",
    ];
    const { stdout } = await run(process.execPath, args, { timeout: 20_000 });
    const events = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(events.length, 1);
    assert.equal(events[0].EventType, "PullComplete");
    assert.equal(events[0].PullCompleteEvent.TaskId, TaskId);
    assert.equal(events[0].PullCompleteEvent.SessionContext, "cli");
    assert.equal(((await vod.DescribeEventsState({})) as any).CountOfEventsToPull, 0);
    // Confirmed: nothing comes back (an empty pull holds up to 5 s, then prints nothing).
    const again = await run(process.execPath, args, { timeout: 20_000 });
    assert.equal(again.stdout, "");
  });

  it("reports a bad key as the API's error and exits non-zero", async () => {
    const args = [
      CLI,
      "events",
      "--endpoint",
      `127.0.0.1:${server.port}`,
      "--secret-id",
      SECRET_ID,
      "--secret-key",
      "wrong",
      "--once",
    ];
    await assert.rejects(run(process.execPath, args, { timeout: 20_000 }), (err: any) => {
      assert.match(err.stderr, /AuthFailure\.SignatureFailure/);
      return true;
    });
  });
});
