// The media-processing sections of `npm run bench`, each against bare ffmpeg running the very
// command openvod runs (built by transcodeArgs from src/media/jobs/transcode.ts, and checked
// against the command line of openvod's own ffmpeg child in /proc). openvod runs with its
// default settings (OPENVOD_WORKERS and OPENVOD_CPUS unset: as many workers as cores, and the
// cores shared by the jobs running, src/media/cpus.ts):
//   4. wall time of one ProcessMedia transcode per definition, against that ffmpeg command alone
//      (a lone job gets every core); rounds alternate which goes first.
//   5. throughput of a queue of transcodes, against the better of two bare schedules on the same
//      cores: one per core at a time with one thread each, or one at a time with every thread.
// Each section has an openvod process of its own. openvod's time runs from the ProcessMedia call
// to the arrival of the task's ProcedureStateChanged event through a PullEvents long poll (how a
// client learns of it without polling): no stream of DescribeTaskDetail requests competes with
// ffmpeg for the cores. The task details are checked after the clock has stopped.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { PRESETS } from "../src/domain/templates/presets.js";
import { CpuAllotment } from "../src/media/cpus.js";
import { transcodeArgs, type JobContext, type Template } from "../src/media/jobs/index.js";
import type { MediaTools } from "../src/media/tools.js";
import { OpenvodProcess, waitForTask, type FileServer, type Vod } from "../test/helpers/server.js";
import type { Cleanup } from "./proc.js";
import { log, median, round } from "./stats.js";

/** OPENVOD_WORKERS' and OPENVOD_CPUS' default, which the sections leave unset. */
const CORES = availableParallelism();

/** A job context whose job, alone, gets `threads` threads (as openvod's lone job gets every core). */
export function jobContext(tools: MediaTools, threads: number): JobContext {
  return {
    tools,
    signal: new AbortController().signal,
    timeoutMs: 3600_000,
    cpus: new CpuAllotment(threads),
    onProgress: () => undefined,
  };
}

/**
 * The preset as the worker receives it. Not DescribeTranscodeTemplates' answer: that one fills
 * in the fields the spec always returns (Bframes 0...), where the worker leaves them automatic.
 */
function templateOf(definition: number): Template {
  const t = PRESETS.Transcode.find((p) => String(p.Definition) === String(definition));
  if (!t) throw new Error(`no preset transcode template ${definition}`);
  return t;
}

/** Runs ffmpeg with exactly these arguments; resolves with the wall time in seconds. */
export function runBare(tools: MediaTools, args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(tools.ffmpeg, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve((performance.now() - t0) / 1000);
      else reject(new Error(`bare ffmpeg exited with ${code}: ${stderr}`));
    });
  });
}

/** The arguments of every ffmpeg child of `pid` that reads an input (Linux /proc), by pid. */
function watchFfmpeg(pid: number, everyMs = 10) {
  const seen = new Map<string, string[]>();
  const look = () => {
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        const kids = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/);
        for (const c of kids.filter(Boolean)) {
          if (seen.has(c)) continue;
          try {
            if (readFileSync(`/proc/${c}/comm`, "utf8").trim() !== "ffmpeg") continue;
            const argv = readFileSync(`/proc/${c}/cmdline`, "utf8").split("\0").slice(0, -1);
            if (argv.includes("-i")) seen.set(c, argv.slice(1));
          } catch {
            // Gone already.
          }
        }
      }
    } catch {
      // No /proc: the command cannot be compared.
    }
  };
  const timer = setInterval(look, everyMs);
  return {
    /** The commands seen, in the order they were. */
    stop(): string[][] {
      clearInterval(timer);
      return [...seen.values()];
    },
  };
}

/** The -threads value of an ffmpeg command (the first: the decoder's), as a number. */
function threadsOf(argv: string[]): number {
  return Number(argv[argv.indexOf("-threads") + 1]);
}

/** The input after -i and the output (the last argument) vary between runs; the rest may not. */
function normalize(args: string[]): string[] {
  return args.map((a, i) =>
    i === args.length - 1 ? "<output>" : args[i - 1] === "-i" && a.startsWith("file:") ? "<input>" : a,
  );
}

/** Compares openvod's ffmpeg command with ours; throws when they differ (the race would be unfair). */
function assertSameCommand(what: string, openvod: string[] | undefined, bare: string[]): boolean {
  if (!openvod) {
    log(`${what}: openvod's ffmpeg command line was not seen (no /proc?); not compared`);
    return false;
  }
  const a = normalize(openvod).join(" ");
  const b = normalize(bare).join(" ");
  if (a !== b)
    throw new Error(`${what}: openvod ran a different ffmpeg command:\n  openvod: ${a}\n  bare:    ${b}`);
  return true;
}

/** An openvod process of the section's own, with `count` pulled copies of the source. */
async function startServer(
  cleanup: Cleanup,
  files: FileServer,
  source: { name: string },
  count: number,
): Promise<{ openvod: OpenvodProcess; vod: Vod; fileIds: string[] }> {
  // Neither OPENVOD_WORKERS (which the test helper sets) nor OPENVOD_CPUS: the defaults users
  // run. spawn leaves variables that are undefined out of the child's environment.
  const unset = { OPENVOD_WORKERS: undefined, OPENVOD_CPUS: undefined } as unknown as Record<string, string>;
  const openvod = new OpenvodProcess({
    env: { ...unset, OPENVOD_RATE_LIMIT: "0", OPENVOD_LOG_LEVEL: "warn", OPENVOD_STRICT_SHAPE: "0" },
  });
  cleanup.dir(openvod.dataDir);
  cleanup.add("openvod (default settings)", () => openvod.stop());
  await openvod.start();
  cleanup.child(openvod.child);
  const vod = openvod.client();
  const fileIds = await Promise.all(
    Array.from({ length: count }, async () => {
      const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/${source.name}` });
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 600_000 });
      const t = detail.PullUploadTask;
      if (t?.ErrCode !== 0) throw new Error(`PullUpload of ${source.name} failed: ${JSON.stringify(t)}`);
      return t.FileId as string;
    }),
  );
  await drainEvents(vod);
  return { openvod, vod, fileIds };
}

/** Pulls and confirms whatever events are waiting (without a long poll on an empty queue). */
async function drainEvents(vod: Vod): Promise<void> {
  for (;;) {
    const state: any = await vod.DescribeEventsState({});
    if (!state.CountOfEventsToPull) return;
    const r: any = await vod.PullEvents({});
    if (r.EventSet.length)
      await vod.ConfirmEvents({ EventHandles: r.EventSet.map((e: any) => e.EventHandle) });
  }
}

/** Waits for the ProcedureStateChanged events of all these tasks (PullEvents long polls). */
async function finishEvents(vod: Vod, taskIds: Iterable<string>): Promise<void> {
  const pending = new Set(taskIds);
  const deadline = Date.now() + 3600_000;
  while (pending.size) {
    if (Date.now() > deadline) throw new Error(`no finish event for ${[...pending].join(", ")}`);
    const r: any = await vod.PullEvents({});
    for (const e of r.EventSet) pending.delete(e.ProcedureStateChangeEvent?.TaskId);
    if (r.EventSet.length)
      await vod.ConfirmEvents({ EventHandles: r.EventSet.map((e: any) => e.EventHandle) });
  }
}

async function processMedia(vod: Vod, fileId: string, definition: number): Promise<string> {
  const { TaskId } = await vod.ProcessMedia({
    FileId: fileId,
    MediaProcessTask: { TranscodeTaskSet: [{ Definition: definition }] },
  });
  return TaskId!;
}

/** The task really produced the transcode; returns its Output. */
async function checkTranscode(vod: Vod, taskId: string, definition: number): Promise<any> {
  const detail: any = await vod.DescribeTaskDetail({ TaskId: taskId });
  const r = detail.ProcedureTask?.MediaProcessResultSet?.[0]?.TranscodeTask;
  if (detail.Status !== "FINISH" || r?.Status !== "SUCCESS" || r.Output?.Definition !== definition) {
    throw new Error(`transcode ${definition} did not succeed: ${JSON.stringify(detail).slice(0, 600)}`);
  }
  return r.Output;
}

/** Submits one transcode per file, waits for every finish event; the wall time in seconds. */
async function timedProcessMedia(vod: Vod, fileIds: string[], definition: number): Promise<number> {
  const t0 = performance.now();
  const ids = await Promise.all(fileIds.map((f) => processMedia(vod, f, definition)));
  await finishEvents(vod, ids);
  const seconds = (performance.now() - t0) / 1000;
  for (const id of ids) await checkTranscode(vod, id, definition);
  return seconds;
}

interface SectionOptions {
  cleanup: Cleanup;
  files: FileServer;
  tools: MediaTools;
  /** A file in the directory `files` serves. */
  source: { name: string; path: string };
  sourceSeconds: number;
  rounds: number;
  scratch: string;
  goal: number;
}

// ---------------------------------------------------------------------------------------------
// 4. One transcode

export async function benchTranscode(o: SectionOptions & { definitions: number[] }) {
  const { openvod, vod, fileIds } = await startServer(o.cleanup, o.files, o.source, 1);
  const threads = CORES;
  const rows = [];
  for (const definition of o.definitions) {
    const out = join(o.scratch, `bare-${definition}.mp4`);
    const args = await transcodeArgs(
      jobContext(o.tools, threads),
      o.source.path,
      out,
      templateOf(definition),
      {
        sourceDuration: o.sourceSeconds,
      },
    );
    // Warm-up, untimed: caches on both sides, and openvod's command line to compare with ours.
    const watch = watchFfmpeg(openvod.child.pid!);
    const warm = await processMedia(vod, fileIds[0]!, definition);
    await finishEvents(vod, [warm]);
    const compared = assertSameCommand(`transcode ${definition}`, watch.stop()[0], args);
    const output = await checkTranscode(vod, warm, definition);
    await runBare(o.tools, args);
    rmSync(out, { force: true });

    const bare: number[] = [];
    const ours: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const order = r % 2 === 0 ? (["bare", "openvod"] as const) : (["openvod", "bare"] as const);
      for (const name of order) {
        const s =
          name === "bare" ? await runBare(o.tools, args) : await timedProcessMedia(vod, fileIds, definition);
        rmSync(out, { force: true });
        (name === "bare" ? bare : ours).push(s);
        log(`transcode ${definition} round ${r + 1}/${o.rounds} ${name.padEnd(7)} ${s.toFixed(3)} s`);
      }
    }
    const ratio = median(ours) / median(bare);
    rows.push({
      definition,
      output: `${output.Width}x${output.Height} ${output.VideoStreamSet?.[0]?.Codec ?? ""}`.trim(),
      threads,
      sameCommand: compared,
      bareSeconds: round(median(bare), 3),
      openvodSeconds: round(median(ours), 3),
      ratio: round(ratio, 3),
      roundRatios: ours.map((x, i) => round(x / bare[i]!, 3)),
      goalMet: ratio <= o.goal,
    });
  }
  await openvod.stop();
  return { sourceSeconds: o.sourceSeconds, rounds: o.rounds, cores: CORES, goal: o.goal, rows };
}

// ---------------------------------------------------------------------------------------------
// 5. A queue of transcodes

/** Runs `count` copies of a command, `parallel` at a time; the wall time in seconds. */
async function bareSchedule(
  tools: MediaTools,
  count: number,
  parallel: number,
  argsFor: (i: number) => string[],
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) await runBare(tools, argsFor(next++));
    }),
  );
  return (performance.now() - t0) / 1000;
}

export async function benchQueue(o: SectionOptions & { tasks: number; definition: number }) {
  const { openvod, vod, fileIds } = await startServer(o.cleanup, o.files, o.source, o.tasks);
  const template = templateOf(o.definition);
  const workers = CORES;
  const split = 1;
  const whole = CORES;
  const outputs = fileIds.map((_, i) => join(o.scratch, `queue-${i}.mp4`));
  const argsWith = async (threads: number) => {
    const base = await transcodeArgs(jobContext(o.tools, threads), o.source.path, outputs[0]!, template, {
      sourceDuration: o.sourceSeconds,
    });
    return (i: number) => [...base.slice(0, -1), outputs[i]!];
  };
  const splitArgs = await argsWith(split);
  const wholeArgs = await argsWith(whole);
  const clean = () => outputs.forEach((f) => rmSync(f, { force: true }));

  // Warm-up, untimed, and the command check: a transcode alone has every core.
  const watch = watchFfmpeg(openvod.child.pid!);
  const warm = await processMedia(vod, fileIds[0]!, o.definition);
  await finishEvents(vod, [warm]);
  const compared = assertSameCommand(`queued transcode ${o.definition}`, watch.stop()[0], wholeArgs(0));
  await checkTranscode(vod, warm, o.definition);
  // One untimed queue, watched: the threads each queued job was given (the timed rounds are not
  // watched, so that /proc sampling costs openvod nothing there).
  const queueWatch = watchFfmpeg(openvod.child.pid!, 20);
  await timedProcessMedia(vod, fileIds, o.definition);
  const allotted = queueWatch.stop().map(threadsOf);
  clean();

  const names = ["openvod", "bareSplit", "bareWhole"] as const;
  const runs: Record<(typeof names)[number], number[]> = { openvod: [], bareSplit: [], bareWhole: [] };
  for (let r = 0; r < o.rounds; r++) {
    // Rotate the order so that none of the three always goes first.
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    for (const name of order) {
      const s =
        name === "openvod"
          ? await timedProcessMedia(vod, fileIds, o.definition)
          : name === "bareSplit"
            ? await bareSchedule(o.tools, o.tasks, workers, splitArgs)
            : await bareSchedule(o.tools, o.tasks, 1, wholeArgs);
      clean();
      runs[name].push(s);
      log(`queue round ${r + 1}/${o.rounds} ${name.padEnd(9)} ${o.tasks} transcodes in ${s.toFixed(3)} s`);
    }
  }
  await openvod.stop();
  const m = {
    openvod: median(runs.openvod),
    bareSplit: median(runs.bareSplit),
    bareWhole: median(runs.bareWhole),
  };
  const best = Math.min(m.bareSplit, m.bareWhole);
  const ratio = m.openvod / best;
  return {
    tasks: o.tasks,
    sourceSeconds: o.sourceSeconds,
    definition: o.definition,
    rounds: o.rounds,
    workers,
    threadsSplit: split,
    threadsWhole: whole,
    /** The -threads of each queued job openvod ran in the watched queue, in start order. */
    allotted,
    sameCommand: compared,
    openvodSeconds: round(m.openvod, 3),
    bareSplitSeconds: round(m.bareSplit, 3),
    bareWholeSeconds: round(m.bareWhole, 3),
    bestBare: m.bareSplit <= m.bareWhole ? "split" : "whole",
    ratio: round(ratio, 3),
    roundRatios: runs.openvod.map((x, i) => round(x / Math.min(runs.bareSplit[i]!, runs.bareWhole[i]!), 3)),
    goal: o.goal,
    goalMet: ratio <= o.goal,
  };
}

export type TranscodeSummary = Awaited<ReturnType<typeof benchTranscode>>;
export type QueueSummary = Awaited<ReturnType<typeof benchQueue>>;
