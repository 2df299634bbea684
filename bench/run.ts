// `npm run bench`: two throughput figures for the README, each a ratio against a baseline measured
// in the same run (the bench machine is small, shared and noisy; runs alternate and medians are
// reported).
//   1. DescribeTaskDetail on a real openvod process (full TC3 verification on every request)
//      versus a bare node:http process answering the same bytes to the same request.
//   2. DescribeFileAttributes tasks, submitted through the official SDK until all are FINISH,
//      versus computing the same MD5 + SHA-1 in a bare Node loop.
// Knobs (environment): BENCH_CONNECTIONS (32), BENCH_SECONDS (3), BENCH_ROUNDS (3),
// BENCH_TASKS (200), BENCH_TASK_ROUNDS (5); BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the
// openvod process there (open it in Chrome DevTools or speedscope).
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { request } from "undici";
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
import { runLoad, type LoadResult } from "./load.js";
import { Cleanup, processCpuSeconds } from "./proc.js";
import { signTc3 } from "./tc3.js";

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
const TASKS = Math.floor(envNumber("BENCH_TASKS", 200, 1));
const TASK_ROUNDS = Math.floor(envNumber("BENCH_TASK_ROUNDS", 5, 1));
const EVENT_TASKS = Math.floor(envNumber("BENCH_EVENT_TASKS", 10_000, 1));
const PUSH_TASKS = Math.floor(envNumber("BENCH_PUSH_TASKS", 2_000, 1));
/** DescribeFileAttributes submissions in flight at once (an eager but ordinary client). */
const SUBMIT_CONCURRENCY = 8;
/** How often the task benchmark asks whether anything is still WAITING or PROCESSING. */
const POLL_MS = 50;
const GOAL_DESCRIBE_RATIO = 0.5;
const WORKERS = 2;

const BARE_SERVER = fileURLToPath(new URL("./bare-server.js", import.meta.url));
const CPU_PROF = fileURLToPath(new URL("./cpu-prof.js", import.meta.url));

/** Set on SIGINT/SIGTERM: the run is being torn down, so failures after it are expected. */
let interrupted = false;

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

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
}

async function benchDescribe(
  cleanup: Cleanup,
  dir: string,
  openvod: OpenvodProcess,
  taskId: string,
): Promise<DescribeSummary> {
  const endpoint = `127.0.0.1:${openvod.port}`;
  const signed = () =>
    signTc3({
      endpoint,
      secretId: SECRET_ID,
      secretKey: SECRET_KEY,
      action: "DescribeTaskDetail",
      params: { TaskId: taskId },
    });

  // One request by hand: what openvod answers is what the bare server will answer.
  const probe = signed();
  const res = await request(`http://${endpoint}/`, {
    method: "POST",
    headers: probe.headers,
    body: probe.body,
  });
  const answer = await res.body.text();
  const parsed = JSON.parse(answer).Response;
  if (
    res.statusCode !== 200 ||
    parsed.Error ||
    parsed.Status !== "FINISH" ||
    parsed.TaskType !== "PullUpload"
  ) {
    throw new Error(`DescribeTaskDetail probe failed (HTTP ${res.statusCode}): ${answer.slice(0, 500)}`);
  }
  const contentType = String(res.headers["content-type"] ?? "application/json");
  const bodyFile = join(dir, "describe-task-detail.json");
  writeFileSync(bodyFile, answer);
  const bare = await startBare(cleanup, bodyFile, contentType);
  const echoed = await request(`${bare.origin}/`, {
    method: "POST",
    headers: probe.headers,
    body: probe.body,
  });
  if ((await echoed.body.text()) !== answer)
    throw new Error("the bare server does not answer openvod's bytes");

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
  return { taskId, responseBytes: Buffer.byteLength(answer), ...runs };
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

type Summary = ReturnType<typeof summarize>;

function summarize(
  describe: DescribeSummary,
  tasks: Record<"bare" | "openvod", TaskRoundResult[]>,
  media: MediaFile[],
) {
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
  const tBare = median(tasks.bare.map((r) => r.tasksPerSec));
  const tOpenvod = median(tasks.openvod.map((r) => r.tasksPerSec));
  return {
    node: process.version,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? "?",
    describeTaskDetail: {
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
    },
    describeFileAttributes: {
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
    },
  };
}

function report(s: Summary & { events: EventsResult }, elapsedMs: number): string {
  const d = s.describeTaskDetail;
  const f = s.describeFileAttributes;
  const n = (x: number | null, digits = 0) => (x === null ? "-" : x.toFixed(digits));
  const ratio = (a: number | null, b: number | null, digits = 2) =>
    a === null || b === null || b === 0 ? "-" : (a / b).toFixed(digits);
  const row = (name: string, r: typeof d.bare) => [
    name,
    n(r.rps),
    n(r.p50Ms, 2),
    n(r.p99Ms, 2),
    n(r.serverCpuUsPerReq),
    n(r.clientCpuUsPerReq),
  ];
  const totalBytes = f.files.reduce((sum, m) => sum + m.bytes, 0);
  const out = [
    "",
    `openvod bench — node ${s.node}, ${s.cores} cores (${s.cpu})`,
    "",
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
    "",
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
    ...reportEvents(s.events),
    "",
    `(bench took ${(elapsedMs / 1000).toFixed(0)} s)`,
    `BENCH_JSON ${JSON.stringify(s)}`,
    "",
  ];
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

    const describe = await benchDescribe(cleanup, dir, openvod, pulled[0]!.taskId);
    const tasks = await benchTasks(openvod, media);

    const events = await benchEvents(cleanup, openvod, `${files.url}/${local[0]!.name}`, {
      pullTasks: EVENT_TASKS,
      pushTasks: PUSH_TASKS,
      log,
    });

    const summary = { ...summarize(describe, tasks, media), events };
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
