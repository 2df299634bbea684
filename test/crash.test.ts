// kill -9 recovery: tasks interrupted mid-download or still queued finish after a restart on the
// same data directory, with no half-written files left; a task that takes the server down every
// time it runs is given up (70000) after OPENVOD_MAX_TASK_ATTEMPTS attempts.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { locateMediaTools } from "../src/media/tools.js";
import { makeVideo } from "./helpers/media.js";
import {
  FileServer,
  startOpenvod,
  tempDir,
  waitForTask,
  until,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

const hash = (alg: string, b: Buffer) => createHash(alg).update(b).digest("hex");

/** Every file under dir, recursively, as paths relative to it. */
function walk(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out;
}

async function status(vod: Vod, taskId: string): Promise<string> {
  return ((await vod.DescribeTaskDetail({ TaskId: taskId })) as any).Status;
}

describe("crash recovery", () => {
  let dir: string;
  let files: FileServer;
  let clip: Buffer;
  const dataDirs: string[] = [];
  const servers: OpenvodProcess[] = [];

  /** A route that sends the headers and half of the clip, then stalls until told otherwise. */
  function stallingRoute(state: { mode: "stall" | "serve"; hits: number; halfSent: number }) {
    return (_req: IncomingMessage, res: ServerResponse) => {
      state.hits++;
      res.writeHead(200, { "content-length": clip.length, "content-type": "video/mp4" });
      if (state.mode === "serve") return void res.end(clip);
      res.write(clip.subarray(0, clip.length >> 1), () => state.halfSent++);
      // ...and nothing more: the download stays in progress until the client goes away.
    };
  }

  async function start(dataDir: string, env: Record<string, string>): Promise<OpenvodProcess> {
    const s = await startOpenvod({ dataDir, env });
    servers.push(s);
    return s;
  }

  before(async () => {
    dir = tempDir();
    const tools = await locateMediaTools();
    await makeVideo(tools, join(dir, "clip.mp4"), { width: 320, height: 240, seconds: 2 });
    clip = readFileSync(join(dir, "clip.mp4"));
    files = await new FileServer(dir).start();
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.kill9()));
    await files?.stop();
    for (const d of [dir, ...dataDirs]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("finishes interrupted and queued tasks after kill -9 and a restart", async () => {
    const dataDir = tempDir("openvod-crash-");
    dataDirs.push(dataDir);
    const env = { OPENVOD_WORKERS: "1", OPENVOD_LEASE_MS: "2000" };
    const stall = { mode: "stall" as "stall" | "serve", hits: 0, halfSent: 0 };
    files.routes.set("/stall.mp4", stallingRoute(stall));

    const first = await start(dataDir, env);
    let vod = first.client();
    const seed = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, MediaName: "seed" });
    const { detail: seeded } = await waitForTask(vod, seed.TaskId!);
    assert.equal(seeded.PullUploadTask.ErrCode, 0, seeded.PullUploadTask.Message);
    const fileId: string = seeded.PullUploadTask.FileId;

    const pull = await vod.PullUpload({ MediaUrl: `${files.url}/stall.mp4`, MediaName: "interrupted" });
    await until("the pull to be PROCESSING", async () => (await status(vod, pull.TaskId!)) === "PROCESSING");
    await until("half of the body to be sent", () => stall.halfSent === 1);
    const queued: string[] = [];
    for (let i = 0; i < 3; i++) queued.push((await vod.DescribeFileAttributes({ FileId: fileId })).TaskId!);
    for (const t of queued) assert.equal(await status(vod, t), "WAITING", "one worker, busy with the pull");
    assert.equal(await status(vod, pull.TaskId!), "PROCESSING");

    await first.kill9();
    stall.mode = "serve";
    const second = await start(dataDir, env);
    vod = second.client();

    const { detail: pulled } = await waitForTask(vod, pull.TaskId!, { timeoutMs: 30_000 });
    assert.equal(pulled.Status, "FINISH");
    const t = pulled.PullUploadTask;
    assert.equal(t.ErrCode, 0, t.Message);
    assert.equal(t.Progress, 100);
    assert.equal(t.MediaBasicInfo.Name, "interrupted");
    assert.equal(t.MetaData.Width, 320);
    assert.equal(stall.hits, 2, "downloaded again from the start after the restart");
    assert.ok(t.FileUrl.startsWith(second.url + "/files/"), t.FileUrl);
    const res = await fetch(t.FileUrl);
    assert.equal(res.status, 200);
    const served = Buffer.from(await res.arrayBuffer());
    assert.equal(served.length, clip.length);
    assert.equal(hash("sha256", served), hash("sha256", clip));

    for (const id of queued) {
      const { detail } = await waitForTask(vod, id, { timeoutMs: 30_000 });
      assert.equal(detail.Status, "FINISH");
      const fa = detail.DescribeFileAttributesTask;
      assert.equal(fa.ErrCode, 0, fa.Message);
      assert.equal(fa.Status, "SUCCESS");
      assert.equal(fa.FileId, fileId);
      assert.equal(fa.Output.Md5, hash("md5", clip));
      assert.equal(fa.Output.Sha1, hash("sha1", clip));
    }

    // Exactly one media item came out of the interrupted pull, and nothing is left unfinished.
    const found: any = await vod.SearchMedia({ Names: ["interrupted"] });
    assert.equal(found.TotalCount, 1);
    assert.equal(found.MediaInfoSet[0].FileId, t.FileId);
    const all: any = await vod.DescribeTasks({ Limit: 100 });
    assert.equal(all.TaskSet.length, 5);
    for (const task of all.TaskSet) assert.equal(task.Status, "FINISH", task.TaskId);

    // No half-written file anywhere in the store, and the scratch space is clean.
    const stored = walk(join(dataDir, "files"));
    assert.deepEqual(
      stored.filter((f) => /\.tmp|(^|\/)\./.test(f)),
      [],
      `stored: ${stored.join(", ")}`,
    );
    assert.equal(stored.length, 2, `one original per media item: ${stored.join(", ")}`);
    await until("the tmp directory to be empty", () => readdirSync(join(dataDir, "tmp")).length === 0);
    await second.kill9();
  });

  it("does not count graceful stops (SIGTERM) as crashed attempts", async () => {
    const dataDir = tempDir("openvod-graceful-");
    dataDirs.push(dataDir);
    const env = { OPENVOD_WORKERS: "1", OPENVOD_LEASE_MS: "2000", OPENVOD_MAX_TASK_ATTEMPTS: "2" };
    const stall = { mode: "stall" as "stall" | "serve", hits: 0, halfSent: 0 };
    files.routes.set("/slow.mp4", stallingRoute(stall));

    let server = await start(dataDir, env);
    let vod = server.client();
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/slow.mp4`, MediaName: "slow" });
    // Three orderly restarts (a deploy, say) while the download is under way: more than
    // OPENVOD_MAX_TASK_ATTEMPTS, yet none of them is the task's fault.
    for (let attempt = 1; attempt <= 3; attempt++) {
      await until(`attempt ${attempt} to be downloading`, () => stall.halfSent === attempt);
      const exited = new Promise((r) => server.child.once("exit", r));
      server.child.kill("SIGTERM");
      assert.equal(await exited, 0, "a clean exit");
      if (attempt === 3) stall.mode = "serve";
      server = await start(dataDir, env);
      vod = server.client();
    }
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 30_000 });
    const t = detail.PullUploadTask;
    assert.equal(t.ErrCode, 0, t.Message);
    assert.equal(stall.hits, 4);
    const res = await fetch(t.FileUrl);
    assert.equal(hash("sha256", Buffer.from(await res.arrayBuffer())), hash("sha256", clip));
    await server.kill9();
  });

  it("gives up with 70000 on a task that crashes the server every time", async () => {
    const dataDir = tempDir("openvod-crashloop-");
    dataDirs.push(dataDir);
    const env = { OPENVOD_WORKERS: "1", OPENVOD_LEASE_MS: "2000", OPENVOD_MAX_TASK_ATTEMPTS: "2" };
    const stall = { mode: "stall" as "stall" | "serve", hits: 0, halfSent: 0 };
    files.routes.set("/poison.mp4", stallingRoute(stall));

    let server = await start(dataDir, env);
    let vod = server.client();
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/poison.mp4`, MediaName: "poison" });
    for (let attempt = 1; attempt <= 2; attempt++) {
      await until(`attempt ${attempt} to be downloading`, () => stall.halfSent === attempt);
      assert.equal(await status(vod, TaskId!), "PROCESSING");
      await server.kill9();
      server = await start(dataDir, env);
      vod = server.client();
    }

    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 30_000 });
    assert.equal(detail.Status, "FINISH");
    const t = detail.PullUploadTask;
    assert.equal(t.ErrCode, 70000, t.Message);
    assert.match(t.Message, /interrupted 2 times/);
    assert.equal(t.FileId, "");
    assert.equal(t.FileUrl, "");
    assert.equal(stall.hits, 2, "not run a third time");
    assert.equal(((await vod.SearchMedia({})) as any).TotalCount, 0);
    assert.deepEqual(walk(join(dataDir, "files")), []);

    // The server is not stuck behind it: new work still runs.
    const next = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4` });
    const { detail: ok } = await waitForTask(vod, next.TaskId!);
    assert.equal(ok.PullUploadTask.ErrCode, 0, ok.PullUploadTask.Message);
    await server.kill9();
  });
});
