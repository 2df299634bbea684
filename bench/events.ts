// Event delivery throughput (issue 5): a burst of tasks in an application in PULL mode, every
// event pulled and confirmed exactly once; and the same in PUSH mode to a local receiver.
// Knobs: BENCH_EVENT_TASKS (10000 pulled events), BENCH_PUSH_TASKS (2000 pushed events).
import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import type { OpenvodProcess, Vod } from "../test/helpers/server.js";
import type { Cleanup } from "./proc.js";

export interface EventsResult {
  pull: { events: number; seconds: number; eventsPerSec: number; duplicates: number; lost: number };
  push: { events: number; seconds: number; eventsPerSec: number; duplicates: number; lost: number };
}

const SUBMIT_CONCURRENCY = 16;

/** Submits `n` DescribeFileAttributes tasks in an application; resolves with their TaskIds. */
async function submit(vod: Vod, subAppId: number, fileId: string, n: number): Promise<Set<string>> {
  const ids = new Set<string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
      while (next < n) {
        next++;
        const { TaskId } = await vod.DescribeFileAttributes({ FileId: fileId, SubAppId: subAppId });
        ids.add(TaskId!);
      }
    }),
  );
  return ids;
}

/** Pulls the media into the application so tasks there have a file to hash. */
async function mediaIn(vod: Vod, subAppId: number, mediaUrl: string): Promise<string> {
  const { TaskId } = await vod.PullUpload({ MediaUrl: mediaUrl, SubAppId: subAppId });
  for (;;) {
    const d: any = await vod.DescribeTaskDetail({ TaskId: TaskId!, SubAppId: subAppId });
    if (d.Status === "FINISH") {
      if (d.PullUploadTask.ErrCode !== 0) throw new Error(`pull failed: ${d.PullUploadTask.Message}`);
      return d.PullUploadTask.FileId;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitIdle(vod: Vod, subAppId: number): Promise<void> {
  for (const Status of ["WAITING", "PROCESSING"]) {
    for (;;) {
      const r: any = await vod.DescribeTasks({ SubAppId: subAppId, Status, Limit: 1 });
      if (r.TaskSet.length === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function benchEvents(
  cleanup: Cleanup,
  openvod: OpenvodProcess,
  mediaUrl: string,
  o: { pullTasks: number; pushTasks: number; log: (s: string) => void },
): Promise<EventsResult> {
  const vod = openvod.client();

  // PULL: the whole burst is written first, then drained 16 at a time with confirmation.
  const { SubAppId: pullApp } = await vod.CreateSubAppId({ Name: "bench-pull" });
  const pullFile = await mediaIn(vod, pullApp!, mediaUrl);
  const drainFirst: any = await vod.PullEvents({ SubAppId: pullApp });
  if (drainFirst.EventSet.length) {
    await vod.ConfirmEvents({
      SubAppId: pullApp,
      EventHandles: drainFirst.EventSet.map((e: any) => e.EventHandle),
    });
  }
  o.log(`events: ${o.pullTasks} tasks for PULL`);
  const pullIds = await submit(vod, pullApp!, pullFile, o.pullTasks);
  await waitIdle(vod, pullApp!);
  const seen = new Map<string, number>();
  const t0 = performance.now();
  let drained = t0;
  for (;;) {
    const r: any = await vod.PullEvents({ SubAppId: pullApp });
    if (r.EventSet.length === 0) break;
    for (const e of r.EventSet) {
      const id = e.DescribeFileAttributesCompleteEvent?.TaskId;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    await vod.ConfirmEvents({ SubAppId: pullApp, EventHandles: r.EventSet.map((e: any) => e.EventHandle) });
    drained = performance.now();
  }
  // Up to the last confirmation: the final, empty PullEvents only held until its 5 s ran out.
  const pullSeconds = (drained - t0) / 1000;
  const pulled = [...seen.keys()].filter((id) => pullIds.has(id)).length;

  // PUSH: events pile up while the receiver is down, then are delivered as fast as they can be.
  const received = new Map<string, number>();
  let first = 0;
  let last = 0;
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const id = JSON.parse(body).DescribeFileAttributesCompleteEvent?.TaskId;
      received.set(id, (received.get(id) ?? 0) + 1);
      last = performance.now();
      first ||= last;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const port = (receiver.address() as { port: number }).port;
  await new Promise((r) => receiver.close(r));
  cleanup.add("push receiver", () => new Promise((r) => receiver.close(() => r(undefined))));

  const { SubAppId: pushApp } = await vod.CreateSubAppId({ Name: "bench-push" });
  const pushFile = await mediaIn(vod, pushApp!, mediaUrl);
  await vod.ModifyEventConfig({
    SubAppId: pushApp,
    Mode: "PUSH",
    NotificationUrl: `http://127.0.0.1:${port}/cb`,
  });
  o.log(`events: ${o.pushTasks} tasks for PUSH`);
  const pushIds = await submit(vod, pushApp!, pushFile, o.pushTasks);
  await waitIdle(vod, pushApp!);
  await new Promise<void>((r) => receiver.listen(port, "127.0.0.1", r));
  const deadline = Date.now() + 120_000;
  while ([...pushIds].some((id) => !received.has(id)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  // Late duplicates would show up now if there were any.
  await new Promise((r) => setTimeout(r, 1000));
  const pushed = [...pushIds].filter((id) => received.has(id)).length;
  const pushSeconds = (last - first) / 1000;

  const count = (m: Map<string, number>) => [...m.values()].filter((n) => n > 1).length;
  return {
    pull: {
      events: pulled,
      seconds: pullSeconds,
      eventsPerSec: pulled / pullSeconds,
      duplicates: count(seen),
      lost: pullIds.size - pulled,
    },
    push: {
      events: pushed,
      seconds: pushSeconds,
      eventsPerSec: pushed / pushSeconds,
      duplicates: count(received),
      lost: pushIds.size - pushed,
    },
  };
}

export function reportEvents(r: EventsResult): string[] {
  const line = (name: string, x: EventsResult["pull"]) =>
    `   ${name}: ${x.events} events in ${x.seconds.toFixed(2)} s = ${x.eventsPerSec.toFixed(0)} events/s; ` +
    `lost ${x.lost}, delivered twice ${x.duplicates}`;
  return [
    "3. Events (DescribeFileAttributesComplete), delivered after the burst was written",
    line("PULL (PullEvents + ConfirmEvents, 16 per call)", r.pull),
    line("PUSH (HTTP callbacks to a local receiver)", r.push),
  ];
}
