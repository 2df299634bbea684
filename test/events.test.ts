// Events through the official SDK: the PULL queue (long-poll, confirm, redelivery after 30 s
// on a controllable clock) and PUSH callbacks (Sign/T, retries, isolation, crash safety).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { locateMediaTools } from "../src/media/tools.js";
import { makeVideo } from "./helpers/media.js";
import {
  FileServer,
  sdkError,
  startOpenvod,
  tempDir,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

async function advanceClock(server: OpenvodProcess, ms: number): Promise<void> {
  const res = await fetch(`${server.url}/_openvod/test/clock`, {
    method: "POST",
    body: JSON.stringify({ advanceMs: ms }),
  });
  assert.equal(res.status, 200);
}

/** Pulls until `count` events arrived (confirming none), or fails after a few empty polls. */
async function pullAll(vod: Vod, count: number, subAppId?: number): Promise<any[]> {
  const got: any[] = [];
  for (let empty = 0; got.length < count && empty < 3;) {
    const r: any = await vod.PullEvents(subAppId ? { SubAppId: subAppId } : {});
    if (r.EventSet.length === 0) empty++;
    got.push(...r.EventSet);
  }
  return got;
}

async function confirmAll(vod: Vod, events: any[], subAppId?: number): Promise<void> {
  for (let i = 0; i < events.length; i += 16) {
    await vod.ConfirmEvents({
      EventHandles: events.slice(i, i + 16).map((e) => e.EventHandle),
      ...(subAppId ? { SubAppId: subAppId } : {}),
    });
  }
}

class Receiver {
  server!: Server;
  url = "";
  bodies: any[] = [];
  handler: (req: IncomingMessage, res: ServerResponse, body: any) => void = (_q, res) =>
    res.writeHead(200).end("ok");
  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let raw = "";
      req.on("data", (d) => (raw += d));
      req.on("end", () => {
        const body = JSON.parse(raw);
        this.bodies.push(body);
        this.handler(req, res, body);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/callback`;
    return this;
  }
  async until(pred: () => boolean, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`receiver condition not met; got ${this.bodies.length} bodies`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

describe("events", () => {
  let dir: string;
  let files: FileServer;
  before(async () => {
    dir = tempDir();
    await makeVideo(await locateMediaTools(), join(dir, "clip.mp4"), { seconds: 1, width: 160, height: 120 });
    writeFileSync(join(dir, "small.bin"), "x");
    files = await new FileServer(dir).start();
  });
  after(async () => files?.stop());

  describe("PULL", () => {
    let server: OpenvodProcess;
    let vod: Vod;
    before(async () => {
      server = await startOpenvod({ env: { OPENVOD_TEST_HOOKS: "true" } });
      vod = server.client();
    });
    after(async () => server?.stop());

    it("delivers PullComplete and, with the switch on, NewFileUpload; confirmed events are gone", async () => {
      const cfg: any = await vod.DescribeEventConfig({});
      assert.equal(cfg.Mode, "PULL");
      assert.equal(cfg.UploadMediaCompleteEventSwitch, "OFF");
      await vod.ModifyEventConfig({ UploadMediaCompleteEventSwitch: "ON" });
      assert.equal(((await vod.DescribeEventConfig({})) as any).UploadMediaCompleteEventSwitch, "ON");

      const { TaskId } = await vod.PullUpload({
        MediaUrl: `${files.url}/clip.mp4`,
        SessionContext: "sc",
        SessionId: "pull-ev-1",
      });
      const { detail } = await waitForTask(vod, TaskId!);
      const events = await pullAll(vod, 2);
      assert.deepEqual(events.map((e) => e.EventType).sort(), ["NewFileUpload", "PullComplete"]);
      const pull = events.find((e) => e.EventType === "PullComplete");
      assert.equal(pull.PullCompleteEvent.TaskId, TaskId);
      assert.equal(pull.PullCompleteEvent.FileId, detail.PullUploadTask.FileId);
      assert.equal(pull.PullCompleteEvent.SessionContext, "sc");
      assert.equal(pull.PullCompleteEvent.SessionId, "pull-ev-1");
      assert.equal(pull.FileUploadEvent, null);
      assert.ok(pull.EventHandle);
      const upload = events.find((e) => e.EventType === "NewFileUpload");
      assert.equal(upload.FileUploadEvent.FileId, detail.PullUploadTask.FileId);
      assert.equal(upload.FileUploadEvent.MetaData.Width, 160);

      assert.equal(
        ((await vod.DescribeEventsState({})) as any).CountOfEventsToPull,
        0,
        "pulled events are hidden",
      );
      await confirmAll(vod, events);
      await advanceClock(server, 31_000);
      assert.equal(
        ((await vod.DescribeEventsState({})) as any).CountOfEventsToPull,
        0,
        "confirmed events never return",
      );
      await vod.ModifyEventConfig({ UploadMediaCompleteEventSwitch: "OFF" });
    });

    it("redelivers an event not confirmed within 30 s, under a new handle", async () => {
      const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4` });
      await waitForTask(vod, TaskId!);
      const [first] = await pullAll(vod, 1);
      assert.equal(first.EventType, "PullComplete");
      await advanceClock(server, 20_000);
      assert.equal(((await vod.DescribeEventsState({})) as any).CountOfEventsToPull, 0);
      await advanceClock(server, 11_000);
      assert.equal(((await vod.DescribeEventsState({})) as any).CountOfEventsToPull, 1);
      const [again] = await pullAll(vod, 1);
      assert.equal(again.PullCompleteEvent.TaskId, TaskId);
      assert.notEqual(again.EventHandle, first.EventHandle);
      const stale = await sdkError(() => vod.ConfirmEvents({ EventHandles: [first.EventHandle] }));
      assert.equal(stale.code, "InvalidParameterValue.EventHandles");
      await vod.ConfirmEvents({ EventHandles: [again.EventHandle] });
      await advanceClock(server, 31_000);
      assert.equal(((await vod.DescribeEventsState({})) as any).CountOfEventsToPull, 0);
    });

    it("wakes a waiting PullEvents as soon as an event is written", async () => {
      const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4` });
      const { detail } = await waitForTask(vod, TaskId!);
      await confirmAll(vod, await pullAll(vod, 1));
      const started = Date.now();
      const waiting = vod.PullEvents({}) as Promise<any>;
      await new Promise((r) => setTimeout(r, 300));
      const attr = await vod.DescribeFileAttributes({ FileId: detail.PullUploadTask.FileId });
      const r = await waiting;
      const elapsed = Date.now() - started;
      assert.equal(r.EventSet.length, 1);
      assert.equal(r.EventSet[0].EventType, "DescribeFileAttributesComplete");
      assert.equal(r.EventSet[0].DescribeFileAttributesCompleteEvent.TaskId, attr.TaskId);
      assert.match(r.EventSet[0].DescribeFileAttributesCompleteEvent.Output.Md5, /^[0-9a-f]{32}$/);
      // Functional, not a benchmark: a poll that only re-checks at its 5 s deadline fails this.
      assert.ok(elapsed < 4500, `PullEvents returned after ${elapsed} ms`);
      await confirmAll(vod, r.EventSet);
    });

    it("answers an empty EventSet after holding, and refuses bad handles", async () => {
      const r: any = await vod.PullEvents({});
      assert.deepEqual(r.EventSet, []);
      assert.equal(
        (await sdkError(() => vod.ConfirmEvents({ EventHandles: [] }))).code,
        "InvalidParameterValue.EventHandles",
      );
      assert.equal(
        (await sdkError(() => vod.ConfirmEvents({ EventHandles: ["nope"] }))).code,
        "InvalidParameterValue.EventHandles",
      );
      assert.equal(
        (await sdkError(() => vod.ModifyEventConfig({ Mode: "EMAIL" }))).code,
        "InvalidParameterValue.Mode",
      );
      assert.equal(
        (await sdkError(() => vod.ModifyEventConfig({ SignKey: "bad key!" }))).code,
        "InvalidParameterValue.SignKey",
      );
    });

    it("keeps applications' events apart and loses none of a burst", async () => {
      const { SubAppId } = await vod.CreateSubAppId({ Name: "burst" });
      const { TaskId } = await vod.PullUpload({
        MediaUrl: `${files.url}/small.bin`,
        MediaType: "bin",
        SubAppId,
      });
      const { detail } = await waitForTask(vod, TaskId!, { subAppId: SubAppId });
      assert.equal(detail.PullUploadTask.ErrCode, 60000, "a 1-byte file is not media");
      const pulled = await pullAll(vod, 1, SubAppId);
      assert.equal(pulled.length, 1);
      assert.equal(pulled[0].PullCompleteEvent.ErrCode, 60000);
      await confirmAll(vod, pulled, SubAppId);
      assert.deepEqual(((await vod.PullEvents({})) as any).EventSet, [], "the default app sees none of them");

      // A burst: 60 hashing tasks finish close together; exactly 60 events, each once.
      const media = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, SubAppId });
      const { detail: d2 } = await waitForTask(vod, media.TaskId!, { subAppId: SubAppId });
      await confirmAll(vod, await pullAll(vod, 1, SubAppId), SubAppId);
      const ids = new Set<string>();
      for (let i = 0; i < 60; i++) {
        ids.add((await vod.DescribeFileAttributes({ FileId: d2.PullUploadTask.FileId, SubAppId })).TaskId!);
      }
      const seen = new Map<string, number>();
      while ([...seen.keys()].length < 60) {
        const r: any = await vod.PullEvents({ SubAppId });
        for (const e of r.EventSet) {
          const id = e.DescribeFileAttributesCompleteEvent.TaskId;
          seen.set(id, (seen.get(id) ?? 0) + 1);
        }
        if (r.EventSet.length) await confirmAll(vod, r.EventSet, SubAppId);
        else if ([...seen.keys()].length < 60) continue;
      }
      assert.deepEqual([...seen.keys()].sort(), [...ids].sort());
      assert.ok([...seen.values()].every((n) => n === 1));
      await advanceClock(server, 31_000);
      assert.equal(((await vod.DescribeEventsState({ SubAppId })) as any).CountOfEventsToPull, 0);
    });
  });

  describe("PUSH", () => {
    let server: OpenvodProcess;
    let vod: Vod;
    let receiver: Receiver;
    const dataDir = tempDir("openvod-push-");
    const env = { OPENVOD_EVENT_RETRY_BASE_MS: "50", OPENVOD_TEST_HOOKS: "true" };
    before(async () => {
      receiver = await new Receiver().start();
      server = await startOpenvod({ env, dataDir });
      vod = server.client();
      await vod.ModifyEventConfig({ Mode: "PUSH", NotificationUrl: receiver.url, SignKey: "abc123" });
    });
    after(async () => {
      await server?.stop();
      await receiver?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("POSTs the EventContent with Sign = MD5(SignKey + T), retrying until a 2xx", async () => {
      let failures = 0;
      receiver.handler = (_req, res) => {
        if (failures < 3) {
          failures++;
          res.writeHead(500).end();
        } else res.writeHead(200).end();
      };
      receiver.bodies = [];
      const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, SessionContext: "push" });
      await waitForTask(vod, TaskId!);
      await receiver.until(() => receiver.bodies.length >= 4);
      // Give a wrongly repeated delivery the chance to show up before counting.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(receiver.bodies.length, 4, "three failures, then exactly one more delivery");
      for (const b of receiver.bodies) {
        assert.equal(b.EventType, "PullComplete");
        assert.equal(b.PullCompleteEvent.TaskId, TaskId);
        assert.equal(b.PullCompleteEvent.SessionContext, "push");
        assert.equal(b.EventHandle, undefined);
        assert.equal(b.FileUploadEvent, undefined, "null payloads are left out");
        assert.ok(b.T > Date.now() / 1000, "T is an expiry time in the future");
        assert.equal(
          b.Sign,
          createHash("md5")
            .update("abc123" + b.T)
            .digest("hex"),
        );
      }
      assert.deepEqual(((await vod.PullEvents({})) as any).EventSet, [], "PUSH events are not pullable");
    });

    it("does not let one application's dead receiver delay another's", async () => {
      const hung: ServerResponse[] = [];
      const slow = await new Receiver().start();
      slow.handler = (_req, res) => hung.push(res); // never answers
      const { SubAppId } = await vod.CreateSubAppId({ Name: "slow" });
      await vod.ModifyEventConfig({ SubAppId, Mode: "PUSH", NotificationUrl: slow.url });
      for (let i = 0; i < 6; i++) await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, SubAppId });
      await slow.until(() => slow.bodies.length >= 1);
      receiver.handler = (_req, res) => res.writeHead(204).end();
      receiver.bodies = [];
      const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4` });
      await receiver.until(() => receiver.bodies.some((b) => b.PullCompleteEvent?.TaskId === TaskId));
      for (const r of hung) r.destroy();
      await slow.stop();
    });

    it("still delivers an event whose delivery was cut short by kill -9", async (t) => {
      // Relies on a restart voiding the dead process's callback leases (embedded mode only).
      if (process.env.OPENVOD_TEST_ON_POSTGRES === "1") return t.skip("leases run out on PostgreSQL");
      const hung: ServerResponse[] = [];
      receiver.handler = (_req, res) => hung.push(res);
      receiver.bodies = [];
      const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4` });
      await receiver.until(() => receiver.bodies.some((b) => b.PullCompleteEvent?.TaskId === TaskId));
      await server.kill9();
      for (const r of hung) r.destroy();
      receiver.handler = (_req, res) => res.writeHead(200).end();
      receiver.bodies = [];
      server = await startOpenvod({ env, dataDir });
      vod = server.client();
      await receiver.until(() => receiver.bodies.some((b) => b.PullCompleteEvent?.TaskId === TaskId));
    });
  });
});
