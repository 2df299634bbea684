// `npm run bench`: figures for the README, each a ratio against a baseline measured in the same
// run (the bench machine is small, shared and noisy; runs alternate and medians are reported).
//   1. DescribeTaskDetail on a real openvod process (full TC3 verification on every request)
//      versus a bare node:http process answering the same bytes to the same request; then both
//      at a fixed 1,000 req/s (open loop), for the latency at that load (goal: p99 < 5 ms).
//   2. DescribeFileAttributes tasks, submitted through the official SDK until all are FINISH,
//      versus computing the same MD5 + SHA-1 in a bare Node loop.
//   3. Event delivery, PULL and PUSH (bench/events.ts).
//   4. One ProcessMedia transcode of a 720p clip to 100010 and to 100030 (OPENVOD_WORKERS=1),
//      versus the same ffmpeg command run directly (bench/transcode.ts).
//   5. A queue of ProcessMedia transcodes with OPENVOD_WORKERS=2, versus the faster of two bare
//      ffmpeg schedules on the same cores (bench/transcode.ts).
//   6. Task dispatch: submit → start latency and tasks/s, SQLite embedded against PostgreSQL with
//      1, 2 and 4 worker processes (bench/dispatch.ts; knobs BENCH_DISPATCH_* there).
//   7. Upload of a 1 GiB file through openvod's COS endpoint (ApplyUpload, PutObject, CommitUpload)
//      versus copying it with a bare node:http PUT handler, and openvod's peak RSS meanwhile
//      (bench/upload.ts; knobs BENCH_UPLOAD_MB (1024), BENCH_UPLOAD_ROUNDS (5)).
//   8. EditMedia of 3 cuts of a 720p clip versus the same ffmpeg command bare, and FastEditMedia
//      of the same cuts as HLS (bench/editing.ts; knobs BENCH_EDIT_SECONDS (20 per cut),
//      BENCH_EDIT_ROUNDS (2)).
//   9. Segment-parallel transcoding: a 10-minute 720p clip to 100030 on PostgreSQL with 1, 2 and 4
//      worker processes pinned to one core each, against 1, and the non-segmented path (bench/
//      segments.ts; knobs BENCH_SEGMENTS_SECONDS (600), BENCH_SEGMENTS_PIECE_SECONDS (60),
//      BENCH_SEGMENTS_WORKERS (1,2,4)).
//  10. The digital watermark: a marked transcode against the same one unmarked, its PSNR, and the
//      extraction time per minute (bench/watermark.ts; knobs BENCH_WATERMARK_SECONDS (60),
//      BENCH_WATERMARK_ROUNDS (2)).
//  11. AI: ProcessMedia AiRecognitionTask (OCR) frames/s and ReviewAudioVideo seconds per minute of
//      a 720p clip, one run, skipped without `npm run install:ai` (bench/ai.ts; knob
//      BENCH_AI_SECONDS (20)).
// Knobs (environment): BENCH_SECTIONS (describe,tasks,events,transcode,queue,dispatch,upload,editing,segments,watermark,ai), BENCH_CONNECTIONS (32),
// BENCH_SECONDS (3), BENCH_ROUNDS (3), BENCH_TASKS (200), BENCH_TASK_ROUNDS (5),
// BENCH_TRANSCODE_SECONDS (60), BENCH_TRANSCODE_ROUNDS (3), BENCH_QUEUE_TASKS (8),
// BENCH_QUEUE_SECONDS (20), BENCH_QUEUE_ROUNDS (2); BENCH_CPU_PROF=<dir> writes a V8 CPU profile
// of the openvod process there (open it in Chrome DevTools or speedscope).
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { locateMediaTools } from "../src/media/tools.js";
import { makeAudio, makeVideo } from "../test/helpers/media.js";
import {
  FileServer,
  OpenvodProcess,
  SECRET_ID,
  SECRET_KEY,
  tempDir,
  waitForTask,
  type Vod,
} from "../test/helpers/server.js";
import { benchEvents, reportEvents, type EventsResult } from "./events.js";
import { runFixedRate, runLoad, type FixedRateResult, type LoadResult } from "./load.js";
import { Cleanup, processCpuSeconds } from "./proc.js";
import { tc3Headers } from "../test/helpers/sign.js";
import { benchQueue, benchTranscode, type QueueSummary, type TranscodeSummary } from "./transcode.js";
import { benchDispatch, reportDispatch, type DispatchSummary } from "./dispatch.js";
import { benchUpload, reportUpload, type UploadSummary } from "./upload.js";
import { benchEditing, reportEditing, type EditingSummary } from "./editing.js";
import { benchSegments, reportSegments, type SegmentsSummary } from "./segments.js";
import { benchWatermark, reportWatermark, type WatermarkSummary } from "./watermark.js";
import { benchAi, reportAi, type AiSummary } from "./ai.js";
import { log, median, round } from "./stats.js";

function envNumber(name: string, def: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return n;
}

const CONNECTIONS = Math.floor(envNumber("BENCH_CONNECTIONS", 32, 1));
const SECONDS = envNumber("BENCH_SECONDS", 3, 0.5);
const ROUNDS = Math.floor(envNumber("BENCH_ROUNDS", 3, 1));
/** Section 1's open-loop part: requests a second and for how long. */
const FIXED_RATE = envNumber("BENCH_FIXED_RATE", 1000, 1);
const FIXED_SECONDS = envNumber("BENCH_FIXED_SECONDS", 5, 0.5);
const GOAL_FIXED_P99_MS = 5;
const TASKS = Math.floor(envNumber("BENCH_TASKS", 200, 1));
const TASK_ROUNDS = Math.floor(envNumber("BENCH_TASK_ROUNDS", 5, 1));
const EVENT_TASKS = Math.floor(envNumber("BENCH_EVENT_TASKS", 10_000, 1));
const PUSH_TASKS = Math.floor(envNumber("BENCH_PUSH_TASKS", 2_000, 1));
/** DescribeFileAttributes submissions in flight at once (an eager but ordinary client). */
const SUBMIT_CONCURRENCY = 8;
/** How often the task benchmark asks whether anything is still WAITING or PROCESSING. */
const POLL_MS = 50;
const GOAL_DESCRIBE_RATIO = 0.6;
const WORKERS = 2;
const SECTION_NAMES = [
  "describe",
  "tasks",
  "events",
  "transcode",
  "queue",
  "dispatch",
  "upload",
  "editing",
  "segments",
  "watermark",
  "ai",
] as const;
const AI_SECONDS = envNumber("BENCH_AI_SECONDS", 20, 1);
/** Section 9: the clip's length, the pieces', the worker process counts; efficiency goal at 2. */
const SEGMENTS_SECONDS = envNumber("BENCH_SEGMENTS_SECONDS", 600, 10);
const SEGMENTS_PIECE_SECONDS = envNumber("BENCH_SEGMENTS_PIECE_SECONDS", 60, 1);
const SEGMENTS_WORKERS = (process.env.BENCH_SEGMENTS_WORKERS || "1,2,4").split(",").map((x) => Number(x.trim()));
const GOAL_SEGMENTS_EFFICIENCY = 0.8;
const WATERMARK_SECONDS = envNumber("BENCH_WATERMARK_SECONDS", 60, 1);
const WATERMARK_ROUNDS = Math.floor(envNumber("BENCH_WATERMARK_ROUNDS", 2, 1));
const GOAL_WATERMARK_RATIO = 1.3;
const EDIT_SECONDS = envNumber("BENCH_EDIT_SECONDS", 20, 1);
const EDIT_ROUNDS = Math.floor(envNumber("BENCH_EDIT_ROUNDS", 2, 1));
const GOAL_EDIT_RATIO = 1.1;
const SECTIONS = new Set(
  (process.env.BENCH_SECTIONS || SECTION_NAMES.join(",")).split(",").map((x) => x.trim()),
);
for (const name of SECTIONS) {
  if (!(SECTION_NAMES as readonly string[]).includes(name))
    throw new Error(`BENCH_SECTIONS: unknown section "${name}" (known: ${SECTION_NAMES.join(", ")})`);
}
/** 720p source of section 4, and its transcodes (the issue's sizes by default). */
const TRANSCODE_SECONDS = envNumber("BENCH_TRANSCODE_SECONDS", 60, 1);
const TRANSCODE_ROUNDS = Math.floor(envNumber("BENCH_TRANSCODE_ROUNDS", 3, 1));
const TRANSCODE_DEFINITIONS = [100010, 100030];
const GOAL_TRANSCODE_RATIO = 1.05;
/** Section 5: this many queued transcodes of a 720p clip this long. */
const QUEUE_TASKS = Math.floor(envNumber("BENCH_QUEUE_TASKS", 8, 1));
const QUEUE_SECONDS = envNumber("BENCH_QUEUE_SECONDS", 20, 1);
const QUEUE_ROUNDS = Math.floor(envNumber("BENCH_QUEUE_ROUNDS", 2, 1));
const QUEUE_DEFINITION = 100010;
const GOAL_QUEUE_RATIO = 1.1;
/** Section 6: DescribeFileAttributes per round, rounds, single-task latency samples per round. */
const DISPATCH_TASKS = Math.floor(envNumber("BENCH_DISPATCH_TASKS", 200, 1));
const DISPATCH_ROUNDS = Math.floor(envNumber("BENCH_DISPATCH_ROUNDS", 3, 1));
const DISPATCH_SAMPLES = Math.floor(envNumber("BENCH_DISPATCH_SAMPLES", 20, 1));
const DISPATCH_WORKERS = (process.env.BENCH_DISPATCH_WORKERS || "1,2,4").split(",").map((x) => {
  const n = Number(x.trim());
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_DISPATCH_WORKERS: "${x}" is not a process count`);
  return n;
});

/** Section 7: the upload's size and rounds; openvod must reach this share of the bare copy's speed. */
const UPLOAD_BYTES = Math.floor(envNumber("BENCH_UPLOAD_MB", 1024, 1) * 1024 * 1024);
const UPLOAD_ROUNDS = Math.floor(envNumber("BENCH_UPLOAD_ROUNDS", 5, 1));
const GOAL_UPLOAD_RATIO = 0.8;

const BARE_SERVER = fileURLToPath(new URL("./bare-server.js", import.meta.url));
const CPU_PROF = fileURLToPath(new URL("./cpu-prof.js", import.meta.url));

/** Set on SIGINT/SIGTERM: the run is being torn down, so failures after it are expected. */
let interrupted = false;

interface MediaFile {
  name: string;
  path: string;
  bytes: number;
  fileId: string;
  md5: string;
  sha1: string;
}

// ---------------------------------------------------------------------------------------------
// Setup

async function startBare(
  cleanup: Cleanup,
  bodyFile: string,
  contentType: string,
): Promise<{ child: ChildProcess; origin: string }> {
  const child = cleanup.child(
    spawn(process.execPath, [BARE_SERVER, bodyFile, contentType], { stdio: ["pipe", "pipe", "pipe"] }),
  );
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const origin = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`bare server did not start:\n${stderr}`)), 10_000);
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /bare listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`bare server exited with ${code}:\n${stderr}`));
    });
  });
  cleanup.add("bare server", async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  });
  return { child, origin };
}

async function hashFile(path: string): Promise<{ md5: string; sha1: string }> {
  // The same streaming the worker does (src/workers/fileAttributes.ts): one pass, both digests.
  const md5 = createHash("md5");
  const sha1 = createHash("sha1");
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    md5.update(chunk);
    sha1.update(chunk);
  }
  return { md5: md5.digest("hex"), sha1: sha1.digest("hex") };
}

/** Runs fn over items with at most `limit` in flight. */
async function forEachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

async function prepareMedia(dir: string): Promise<{ name: string; path: string }[]> {
  const tools = await locateMediaTools();
  const specs: [string, (p: string) => Promise<void>][] = [
    ["clip-a.mp4", (p) => makeVideo(tools, p, { width: 160, height: 120, seconds: 1 })],
    ["clip-b.mp4", (p) => makeVideo(tools, p, { width: 320, height: 240, seconds: 2 })],
    ["clip-c.mkv", (p) => makeVideo(tools, p, { width: 240, height: 160, seconds: 1, audio: false })],
    ["tone.m4a", (p) => makeAudio(tools, p, 1)],
  ];
  await Promise.all(specs.map(([name, make]) => make(join(dir, name))));
  return specs.map(([name]) => ({ name, path: join(dir, name) }));
}

async function pullAll(vod: Vod, files: FileServer, local: { name: string; path: string }[]) {
  return Promise.all(
    local.map(async (f) => {
      const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/${f.name}`, MediaName: f.name });
      const { detail } = await waitForTask(vod, TaskId!);
      const t = detail.PullUploadTask;
      if (detail.Status !== "FINISH" || t?.ErrCode !== 0 || !t.FileId) {
        throw new Error(`PullUpload of ${f.name} failed: ${JSON.stringify(detail).slice(0, 500)}`);
      }
      const digests = await hashFile(f.path);
      const file: MediaFile = { ...f, bytes: statSync(f.path).size, fileId: t.FileId, ...digests };
      return { file, taskId: TaskId! };
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// 1. DescribeTaskDetail requests/s

interface ServerRun extends LoadResult {
  serverCpuUsPerReq: number;
}

interface DescribeSummary {
  taskId: string;
  responseBytes: number;
  bare: ServerRun[];
  openvod: ServerRun[];
  fixedRate: Record<"bare" | "openvod", FixedRateResult>;
}

async function benchDescribe(
  cleanup: Cleanup,
  dir: string,
  openvod: OpenvodProcess,
  taskId: string,
): Promise<DescribeSummary> {
  const endpoint = `127.0.0.1:${openvod.port}`;
  // Signed as the official SDK signs for this endpoint: service "127", host without the port.
  const signed = () => {
    const body = JSON.stringify({ TaskId: taskId });
    const headers = tc3Headers({
      secretId: SECRET_ID,
      secretKey: SECRET_KEY,
      body,
      action: "DescribeTaskDetail",
      service: "127",
      signedHost: "127.0.0.1",
    });
    return { body, headers: { ...headers, "X-TC-Region": "ap-guangzhou" } };
  };

  // One request by hand: what openvod answers is what the bare server will answer.
  const probe = signed();
  const res = await fetch(`http://${endpoint}/`, {
    method: "POST",
    headers: probe.headers,
    body: probe.body,
  });
  const answer = await res.text();
  const parsed = JSON.parse(answer).Response;
  if (res.status !== 200 || parsed.Error || parsed.Status !== "FINISH" || parsed.TaskType !== "PullUpload") {
    throw new Error(`DescribeTaskDetail probe failed (HTTP ${res.status}): ${answer.slice(0, 500)}`);
  }
  const contentType = res.headers.get("content-type") ?? "application/json";
  const bodyFile = join(dir, "describe-task-detail.json");
  writeFileSync(bodyFile, answer);
  const bare = await startBare(cleanup, bodyFile, contentType);
  const echoed = await fetch(`${bare.origin}/`, {
    method: "POST",
    headers: probe.headers,
    body: probe.body,
  });
  if ((await echoed.text()) !== answer) throw new Error("the bare server does not answer openvod's bytes");

  // RequestId is a UUID, so every good answer has exactly this length; an error never does.
  const answerBytes = Buffer.byteLength(answer);
  const check = (status: number, body: Buffer) =>
    status === 200 && body.length === answerBytes && !body.includes('"Error":{');

  const targets = {
    bare: { origin: bare.origin, pid: bare.child.pid },
    openvod: { origin: openvod.url, pid: openvod.child.pid },
  };
  const runs: Record<"bare" | "openvod", ServerRun[]> = { bare: [], openvod: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? (["bare", "openvod"] as const) : (["openvod", "bare"] as const);
    for (const name of order) {
      const t = targets[name];
      const req = signed(); // a fresh timestamp each run, well inside the 5-minute window
      let cpu0: number | undefined;
      let cpu1: number | undefined;
      const result = await runLoad({
        origin: t.origin,
        headers: req.headers,
        body: req.body,
        connections: CONNECTIONS,
        durationMs: SECONDS * 1000,
        check,
        onMeasureStart: () => (cpu0 = processCpuSeconds(t.pid)),
        onMeasureEnd: () => (cpu1 = processCpuSeconds(t.pid)),
      });
      if (result.errors > 0) {
        throw new Error(`${name}: ${result.errors} bad answers during the run; first: ${result.firstError}`);
      }
      const serverCpuUsPerReq =
        cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) * 1e6) / result.requests : NaN;
      runs[name].push({ ...result, serverCpuUsPerReq });
      log(
        `DescribeTaskDetail round ${r + 1}/${ROUNDS} ${name.padEnd(7)} ${result.rps.toFixed(0).padStart(6)} req/s` +
          `  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms` +
          `  server ${serverCpuUsPerReq.toFixed(0)} µs CPU/req  client ${result.clientCpuUsPerReq.toFixed(0)} µs CPU/req`,
      );
    }
  }
  const fixedRate = {} as DescribeSummary["fixedRate"];
  for (const name of ["bare", "openvod"] as const) {
    const req = signed();
    const result = await runFixedRate({
      origin: targets[name].origin,
      headers: req.headers,
      body: req.body,
      connections: CONNECTIONS,
      durationMs: FIXED_SECONDS * 1000,
      rate: FIXED_RATE,
      check,
    });
    if (result.errors > 0) {
      throw new Error(`${name} at ${FIXED_RATE} req/s: ${result.errors} bad answers; first: ${result.firstError}`);
    }
    fixedRate[name] = result;
    log(
      `DescribeTaskDetail at ${FIXED_RATE} req/s ${name.padEnd(7)} p50 ${result.p50Ms.toFixed(2)} ms` +
        `  p99 ${result.p99Ms.toFixed(2)} ms  max ${result.maxMs.toFixed(1)} ms`,
    );
  }
  return { taskId, responseBytes: Buffer.byteLength(answer), ...runs, fixedRate };
}

// ---------------------------------------------------------------------------------------------
// 2. DescribeFileAttributes tasks/s

interface TaskRoundResult {
  seconds: number;
  tasksPerSec: number;
  /** openvod only: time until the last submission was answered. */
  submitSeconds?: number;
  /** openvod only: CPU the server process used per task (ms). */
  serverCpuMsPerTask?: number;
}

async function bareHashRound(files: MediaFile[]): Promise<TaskRoundResult> {
  const t0 = performance.now();
  for (let i = 0; i < TASKS; i++) {
    const f = files[i % files.length]!;
    const d = await hashFile(f.path);
    if (d.md5 !== f.md5 || d.sha1 !== f.sha1) throw new Error(`bare hash of ${f.name} changed`);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, tasksPerSec: TASKS / seconds };
}

async function idle(vod: Vod): Promise<boolean> {
  // WAITING first, then PROCESSING: a task can only move forward, so two empty answers in this
  // order mean that nothing was unfinished when the second one was taken.
  for (const Status of ["WAITING", "PROCESSING"]) {
    const r = await vod.DescribeTasks({ Status, Limit: 1 });
    if ((r.TaskSet ?? []).length > 0) return false;
  }
  return true;
}

async function openvodTaskRound(
  vod: Vod,
  pid: number | undefined,
  files: MediaFile[],
): Promise<TaskRoundResult> {
  if (!(await idle(vod))) throw new Error("tasks are still running before the round starts");
  const cpu0 = processCpuSeconds(pid);
  const jobs = Array.from({ length: TASKS }, (_, i) => files[i % files.length]!);
  const taskIds: string[] = new Array(TASKS);
  const t0 = performance.now();
  await forEachLimited(jobs, SUBMIT_CONCURRENCY, async (f, i) => {
    const { TaskId } = await vod.DescribeFileAttributes({ FileId: f.fileId });
    taskIds[i] = TaskId!;
  });
  const submitSeconds = (performance.now() - t0) / 1000;
  while (!(await idle(vod))) await new Promise((r) => setTimeout(r, POLL_MS));
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = processCpuSeconds(pid);
  const serverCpuMsPerTask = cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) * 1000) / TASKS : NaN;

  // Outside the clock: every task really finished with the right digests.
  await forEachLimited(taskIds, SUBMIT_CONCURRENCY, async (taskId, i) => {
    const d: any = await vod.DescribeTaskDetail({ TaskId: taskId });
    const t = d.DescribeFileAttributesTask;
    const f = jobs[i]!;
    if (d.Status !== "FINISH" || t?.ErrCode !== 0 || t.Output?.Md5 !== f.md5 || t.Output?.Sha1 !== f.sha1) {
      throw new Error(`task ${taskId} on ${f.name} did not finish right: ${JSON.stringify(d).slice(0, 500)}`);
    }
  });
  return { seconds, tasksPerSec: TASKS / seconds, submitSeconds, serverCpuMsPerTask };
}

async function benchTasks(openvod: OpenvodProcess, files: MediaFile[]) {
  const vod = openvod.client();
  const runs: Record<"bare" | "openvod", TaskRoundResult[]> = { bare: [], openvod: [] };
  for (let r = 0; r < TASK_ROUNDS; r++) {
    const order = r % 2 === 0 ? (["bare", "openvod"] as const) : (["openvod", "bare"] as const);
    for (const name of order) {
      const result =
        name === "bare" ? await bareHashRound(files) : await openvodTaskRound(vod, openvod.child.pid, files);
      runs[name].push(result);
      log(
        `DescribeFileAttributes round ${r + 1}/${TASK_ROUNDS} ${name.padEnd(7)} ${TASKS} tasks in ` +
          `${result.seconds.toFixed(3)} s = ${result.tasksPerSec.toFixed(1)} tasks/s` +
          (result.submitSeconds !== undefined
            ? ` (all submitted after ${result.submitSeconds.toFixed(3)} s; server CPU ` +
              `${result.serverCpuMsPerTask?.toFixed(2)} ms/task)`
            : ""),
      );
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Report

function table(rows: string[][], align: ("l" | "r")[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (align[c] === "l" ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

type Summary = ReturnType<typeof summarize> & {
  events?: EventsResult;
  transcode?: TranscodeSummary;
  queue?: QueueSummary;
  dispatch?: DispatchSummary;
  upload?: UploadSummary;
  editing?: EditingSummary;
  segments?: SegmentsSummary;
  watermark?: WatermarkSummary;
  ai?: AiSummary;
};

function summarize(
  describe: DescribeSummary | undefined,
  tasks: Record<"bare" | "openvod", TaskRoundResult[]> | undefined,
  media: MediaFile[],
) {
  const base = {
    node: process.version,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? "?",
  };
  return {
    ...base,
    describeTaskDetail: describe ? summarizeDescribe(describe) : undefined,
    describeFileAttributes: tasks ? summarizeTasks(tasks, media) : undefined,
  };
}

function summarizeDescribe(describe: DescribeSummary) {
  const medians = (runs: ServerRun[]) => ({
    rps: round(median(runs.map((r) => r.rps))),
    p50Ms: round(median(runs.map((r) => r.p50Ms)), 2),
    p99Ms: round(median(runs.map((r) => r.p99Ms)), 2),
    serverCpuUsPerReq: round(median(runs.map((r) => r.serverCpuUsPerReq))),
    clientCpuUsPerReq: round(median(runs.map((r) => r.clientCpuUsPerReq))),
  });
  const bare = medians(describe.bare);
  const openvod = medians(describe.openvod);
  const describeRatio = median(describe.openvod.map((r) => r.rps)) / median(describe.bare.map((r) => r.rps));
  return {
    connections: CONNECTIONS,
    seconds: SECONDS,
    rounds: ROUNDS,
    responseBytes: describe.responseBytes,
    bare,
    openvod,
    ratio: round(describeRatio, 3),
    roundRatios: describe.openvod.map((o, i) => round(o.rps / describe.bare[i]!.rps, 3)),
    goal: GOAL_DESCRIBE_RATIO,
    goalMet: describeRatio >= GOAL_DESCRIBE_RATIO,
    fixedRate: {
      rate: FIXED_RATE,
      seconds: FIXED_SECONDS,
      ...Object.fromEntries(
        (["bare", "openvod"] as const).map((k) => {
          const f = describe.fixedRate[k];
          return [k, { p50Ms: round(f.p50Ms, 2), p99Ms: round(f.p99Ms, 2), maxMs: round(f.maxMs, 1) }];
        }),
      ) as Record<"bare" | "openvod", { p50Ms: number; p99Ms: number; maxMs: number }>,
      goalP99Ms: GOAL_FIXED_P99_MS,
      goalMet: describe.fixedRate.openvod.p99Ms < GOAL_FIXED_P99_MS,
    },
  };
}

function summarizeTasks(tasks: Record<"bare" | "openvod", TaskRoundResult[]>, media: MediaFile[]) {
  const tBare = median(tasks.bare.map((r) => r.tasksPerSec));
  const tOpenvod = median(tasks.openvod.map((r) => r.tasksPerSec));
  return {
    tasks: TASKS,
    rounds: TASK_ROUNDS,
    files: media.map((m) => ({ name: m.name, bytes: m.bytes })),
    workers: WORKERS,
    bare: { tasksPerSec: round(tBare, 1) },
    openvod: {
      tasksPerSec: round(tOpenvod, 1),
      submitSeconds: round(median(tasks.openvod.map((r) => r.submitSeconds ?? NaN)), 3),
      serverCpuMsPerTask: round(median(tasks.openvod.map((r) => r.serverCpuMsPerTask ?? NaN)), 2),
    },
    ratio: round(tOpenvod / tBare, 4),
    roundRatios: tasks.openvod.map((o, i) => round(o.tasksPerSec / tasks.bare[i]!.tasksPerSec, 3)),
  };
}

function report(s: Summary, elapsedMs: number): string {
  const d = s.describeTaskDetail;
  const f = s.describeFileAttributes;
  const n = (x: number | null, digits = 0) => (x === null ? "-" : x.toFixed(digits));
  const ratio = (a: number | null, b: number | null, digits = 2) =>
    a === null || b === null || b === 0 ? "-" : (a / b).toFixed(digits);
  const row = (name: string, r: NonNullable<typeof d>["bare"]) => [
    name,
    n(r.rps),
    n(r.p50Ms, 2),
    n(r.p99Ms, 2),
    n(r.serverCpuUsPerReq),
    n(r.clientCpuUsPerReq),
  ];
  const out = ["", `openvod bench — node ${s.node}, ${s.cores} cores (${s.cpu})`, ""];
  if (d) {
    out.push(
      `1. DescribeTaskDetail (${d.responseBytes}-byte answer), ${d.connections} keep-alive connections, ` +
        `${d.seconds} s × ${d.rounds} alternating rounds, medians`,
      table(
        [
          ["server", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "client CPU µs/req"],
          row("bare node:http (same bytes)", d.bare),
          row("openvod (TC3 verified)", d.openvod),
          [
            "ratio openvod/bare",
            n(d.ratio, 2),
            ratio(d.openvod.p50Ms, d.bare.p50Ms),
            ratio(d.openvod.p99Ms, d.bare.p99Ms),
            ratio(d.openvod.serverCpuUsPerReq, d.bare.serverCpuUsPerReq),
            "",
          ],
        ],
        ["l", "r", "r", "r", "r", "r"],
      ),
      `   req/s ratio ${n(d.ratio, 2)} (goal ≥ ${d.goal}: ${d.goalMet ? "met" : "NOT met"}); ` +
        `per round ${d.roundRatios.map((x) => n(x, 2)).join(", ")}`,
      `   at a fixed ${d.fixedRate.rate} req/s for ${d.fixedRate.seconds} s (open loop, latency from each ` +
        `request's due time): openvod p50 ${n(d.fixedRate.openvod.p50Ms, 2)} ms, p99 ` +
        `${n(d.fixedRate.openvod.p99Ms, 2)} ms, max ${n(d.fixedRate.openvod.maxMs, 1)} ms (goal p99 < ` +
        `${d.fixedRate.goalP99Ms} ms: ${d.fixedRate.goalMet ? "met" : "NOT met"}); bare p50 ` +
        `${n(d.fixedRate.bare.p50Ms, 2)} ms, p99 ${n(d.fixedRate.bare.p99Ms, 2)} ms`,
      "",
    );
  }
  if (f) {
    const totalBytes = f.files.reduce((sum, m) => sum + m.bytes, 0);
    out.push(
      `2. DescribeFileAttributes, ${f.tasks} tasks over ${f.files.length} pulled files (${totalBytes} B in all), ` +
        `${f.rounds} alternating rounds, medians`,
      table(
        [
          ["", "tasks/s", `s per ${f.tasks}`],
          ["bare Node loop (MD5+SHA-1)", n(f.bare.tasksPerSec, 1), ratio(f.tasks, f.bare.tasksPerSec, 3)],
          [
            `openvod (SDK submit → all FINISH, ${f.workers} workers)`,
            n(f.openvod.tasksPerSec, 1),
            ratio(f.tasks, f.openvod.tasksPerSec, 3),
          ],
          ["ratio openvod/bare", n(f.ratio, 3), ""],
        ],
        ["l", "r", "r"],
      ),
      `   per round ${f.roundRatios.map((x) => n(x, 3)).join(", ")}; submissions answered after ` +
        `${n(f.openvod.submitSeconds, 3)} s; openvod CPU ${n(f.openvod.serverCpuMsPerTask, 2)} ms/task (medians)`,
      "",
    );
  }
  if (s.events) out.push(...reportEvents(s.events), "");
  const t = s.transcode;
  if (t) {
    out.push(
      `4. ProcessMedia, one transcode of a ${t.sourceSeconds} s 1280x720 clip (h264 + aac), ` +
        `default settings (${t.cores} cores), ${t.rounds} alternating rounds, medians`,
      table(
        [
          ["definition", "output", "threads", "bare ffmpeg s", "openvod s", "ratio", "per round"],
          ...t.rows.map((r) => [
            String(r.definition),
            r.output,
            String(r.threads),
            n(r.bareSeconds, 3),
            n(r.openvodSeconds, 3),
            n(r.ratio, 3),
            r.roundRatios.map((x) => n(x, 3)).join(", "),
          ]),
        ],
        ["l", "l", "r", "r", "r", "r", "l"],
      ),
      `   openvod = ProcessMedia submitted → its finish event (PullEvents long poll); bare = the same ffmpeg command ` +
        `(${t.rows.every((r) => r.sameCommand) ? "checked identical in /proc" : "NOT compared"}); ` +
        `goal ratio ≤ ${t.goal}: ${t.rows.every((r) => r.goalMet) ? "met" : "NOT met"}`,
      "",
    );
  }
  const q = s.queue;
  if (q) {
    out.push(
      `5. ${q.tasks} queued ProcessMedia transcodes to ${q.definition} of a ${q.sourceSeconds} s 1280x720 clip, ` +
        `${q.rounds} rotating rounds, medians`,
      table(
        [
          ["schedule", "seconds", "transcodes/min"],
          [
            `openvod, default settings (${q.workers} workers, threads as allotted)`,
            n(q.openvodSeconds, 3),
            ratio(q.tasks * 60, q.openvodSeconds, 1),
          ],
          [
            `bare ffmpeg, ${q.workers} at a time, ${q.threadsSplit} thread${q.threadsSplit === 1 ? "" : "s"} each`,
            n(q.bareSplitSeconds, 3),
            ratio(q.tasks * 60, q.bareSplitSeconds, 1),
          ],
          [
            `bare ffmpeg, 1 at a time, ${q.threadsWhole} threads`,
            n(q.bareWholeSeconds, 3),
            ratio(q.tasks * 60, q.bareWholeSeconds, 1),
          ],
        ],
        ["l", "r", "r"],
      ),
      `   ratio openvod / best bare (${q.bestBare === "split" ? `${q.workers} at a time` : "1 at a time"}) ` +
        `${n(q.ratio, 3)} (goal ≤ ${q.goal}: ${q.goalMet ? "met" : "NOT met"}); per round ` +
        `${q.roundRatios.map((x) => n(x, 3)).join(", ")}; same command as openvod: ` +
        `${q.sameCommand ? "checked in /proc" : "NOT compared"}`,
      `   threads openvod allotted to the queued jobs, in start order (one watched, untimed queue): ` +
        `${q.allotted.join(", ") || "not seen"}`,
      "",
    );
  }
  if (s.dispatch) out.push(...reportDispatch(s.dispatch, table), "");
  if (s.upload) out.push(...reportUpload(s.upload, table), "");
  if (s.editing) out.push(...reportEditing(s.editing), "");
  if (s.segments) out.push(...reportSegments(s.segments), "");
  if (s.watermark) out.push(...reportWatermark(s.watermark), "");
  if (s.ai) out.push(...reportAi(s.ai), "");
  out.push(`(bench took ${(elapsedMs / 1000).toFixed(0)} s)`, `BENCH_JSON ${JSON.stringify(s)}`, "");
  return out.join("\n");
}

async function main(): Promise<void> {
  const started = performance.now();
  const cleanup = new Cleanup();
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: cleaning up`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    const dir = cleanup.dir(tempDir("openvod-bench-"));
    log("generating media with ffmpeg");
    const local = await prepareMedia(dir);
    const tools = await locateMediaTools();
    const hd = { long: join(dir, "hd-long.mp4"), short: join(dir, "hd-short.mp4") };
    if (SECTIONS.has("transcode")) {
      log(`generating a ${TRANSCODE_SECONDS} s 1280x720 clip`);
      await makeVideo(tools, hd.long, { width: 1280, height: 720, seconds: TRANSCODE_SECONDS });
    }
    if (SECTIONS.has("queue")) {
      log(`generating a ${QUEUE_SECONDS} s 1280x720 clip`);
      await makeVideo(tools, hd.short, { width: 1280, height: 720, seconds: QUEUE_SECONDS });
    }

    const hdEdit = join(dir, "hd-edit.mp4");
    if (SECTIONS.has("editing")) {
      log(`generating a ${3 * EDIT_SECONDS} s 1280x720 clip`);
      await makeVideo(tools, hdEdit, { width: 1280, height: 720, seconds: 3 * EDIT_SECONDS });
    }

    const files = await new FileServer(dir).start();
    cleanup.add("file server", () => files.stop());

    const openvod = new OpenvodProcess({
      env: {
        OPENVOD_RATE_LIMIT: "0",
        OPENVOD_LOG_LEVEL: "warn",
        OPENVOD_WORKERS: String(WORKERS),
        // Callbacks that failed while the bench receiver was down are retried within 0.5 s.
        OPENVOD_EVENT_RETRY_BASE_MS: "20",
        OPENVOD_EVENT_RETRY_MAX_MS: "500",
        // Production shaping (the test harness turns strict mode on).
        OPENVOD_STRICT_SHAPE: "0",
        ...(process.env.BENCH_CPU_PROF
          ? {
              NODE_OPTIONS: `--import=${pathToFileURL(CPU_PROF).href}`,
              BENCH_CPU_PROF_DIR: resolve(process.env.BENCH_CPU_PROF),
            }
          : {}),
      },
    });
    cleanup.dir(openvod.dataDir);
    cleanup.add("openvod", () => openvod.stop());
    await openvod.start();
    cleanup.child(openvod.child);
    log(`openvod at ${openvod.url} (pid ${openvod.child.pid})`);

    const pulled = await pullAll(openvod.client(), files, local);
    const media = pulled.map((p) => p.file);
    log(`pulled ${media.map((m) => `${m.name} (${m.bytes} B)`).join(", ")}`);

    const describe = SECTIONS.has("describe")
      ? await benchDescribe(cleanup, dir, openvod, pulled[0]!.taskId)
      : undefined;
    const tasks = SECTIONS.has("tasks") ? await benchTasks(openvod, media) : undefined;

    const events = SECTIONS.has("events")
      ? await benchEvents(cleanup, openvod, `${files.url}/${local[0]!.name}`, {
          pullTasks: EVENT_TASKS,
          pushTasks: PUSH_TASKS,
          log,
        })
      : undefined;

    let transcode: TranscodeSummary | undefined;
    if (SECTIONS.has("transcode")) {
      transcode = await benchTranscode({
        cleanup,
        files,
        tools,
        source: { name: "hd-long.mp4", path: hd.long },
        sourceSeconds: TRANSCODE_SECONDS,
        definitions: TRANSCODE_DEFINITIONS,
        rounds: TRANSCODE_ROUNDS,
        scratch: dir,
        goal: GOAL_TRANSCODE_RATIO,
      });
    }

    let queue: QueueSummary | undefined;
    if (SECTIONS.has("queue")) {
      queue = await benchQueue({
        cleanup,
        files,
        tools,
        tasks: QUEUE_TASKS,
        source: { name: "hd-short.mp4", path: hd.short },
        sourceSeconds: QUEUE_SECONDS,
        definition: QUEUE_DEFINITION,
        rounds: QUEUE_ROUNDS,
        scratch: dir,
        goal: GOAL_QUEUE_RATIO,
      });
    }

    let dispatch: DispatchSummary | undefined;
    if (SECTIONS.has("dispatch")) {
      const digests = await Promise.all(
        local.map(async (f) => ({ name: f.name, md5: (await hashFile(f.path)).md5 })),
      );
      dispatch = await benchDispatch({
        cleanup,
        files,
        media: digests,
        tasks: DISPATCH_TASKS,
        rounds: DISPATCH_ROUNDS,
        samples: DISPATCH_SAMPLES,
        workerProcesses: DISPATCH_WORKERS,
        log,
      });
    }

    const upload = SECTIONS.has("upload")
      ? await benchUpload({
          cleanup,
          tools,
          scratch: dir,
          bytes: UPLOAD_BYTES,
          rounds: UPLOAD_ROUNDS,
          goal: GOAL_UPLOAD_RATIO,
          log,
        })
      : undefined;

    const editing = SECTIONS.has("editing")
      ? await benchEditing({
          cleanup,
          files,
          tools,
          source: { name: "hd-edit.mp4", path: hdEdit },
          cutSeconds: EDIT_SECONDS,
          rounds: EDIT_ROUNDS,
          scratch: dir,
          goal: GOAL_EDIT_RATIO,
        })
      : undefined;

    const segments = SECTIONS.has("segments")
      ? await benchSegments({
          cleanup,
          files,
          served: dir,
          tools,
          seconds: SEGMENTS_SECONDS,
          pieceSeconds: SEGMENTS_PIECE_SECONDS,
          processes: SEGMENTS_WORKERS,
          goal: GOAL_SEGMENTS_EFFICIENCY,
        })
      : undefined;
    const hdMark = join(dir, "hd-mark.mp4");
    let watermark: WatermarkSummary | undefined;
    if (SECTIONS.has("watermark")) {
      log(`generating a ${WATERMARK_SECONDS} s 1280x720 clip`);
      await makeVideo(tools, hdMark, { width: 1280, height: 720, seconds: WATERMARK_SECONDS });
      watermark = await benchWatermark({
        tools,
        source: hdMark,
        seconds: WATERMARK_SECONDS,
        rounds: WATERMARK_ROUNDS,
        scratch: dir,
        threads: availableParallelism(),
        goal: GOAL_WATERMARK_RATIO,
      });
    }

    const ai = SECTIONS.has("ai")
      ? await benchAi({ cleanup, files, tools, scratch: dir, seconds: AI_SECONDS })
      : undefined;

    const summary: Summary = {
      ...summarize(describe, tasks, media),
      events,
      transcode,
      queue,
      dispatch,
      upload,
      editing,
      segments,
      watermark,
      ai,
    };
    process.stdout.write(report(summary, performance.now() - started));
  } finally {
    await cleanup.run();
  }
}

main().catch((err) => {
  if (interrupted) return;
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
