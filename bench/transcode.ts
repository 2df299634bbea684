// The media-processing sections of `npm run bench`, each against bare ffmpeg running the very
// command openvod runs (built by transcodeArgs from src/media/jobs/transcode.ts, and checked
// against the command line of openvod's own ffmpeg child in /proc):
//   3. wall time of one ProcessMedia transcode (submit → FINISH seen) per definition, against
//      that ffmpeg command alone; rounds alternate which goes first.
//   4. throughput of a queue of transcodes with OPENVOD_WORKERS=2, against the better of two
//      bare schedules on the same cores: `workers` at a time with the same thread split, or one
//      at a time with every thread.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { PRESETS } from "../src/domain/templates/presets.js";
import { transcodeArgs, type JobContext, type Template } from "../src/media/jobs/index.js";
import type { MediaTools } from "../src/media/tools.js";
import { threadsPerJob } from "../src/workers/procedure.js";
import { waitForTask, type OpenvodProcess, type Vod } from "../test/helpers/server.js";

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
const POLL_MS = 50;

function jobContext(tools: MediaTools, threads: number): JobContext {
  return {
    tools,
    signal: new AbortController().signal,
    timeoutMs: 3600_000,
    threads,
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
function runBare(tools: MediaTools, args: string[]): Promise<number> {
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

/** The arguments of the first ffmpeg child of `pid` that reads an input (Linux /proc). */
function watchFfmpeg(pid: number) {
  let seen: string[] | undefined;
  const look = () => {
    if (seen) return;
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        const kids = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/);
        for (const c of kids.filter(Boolean)) {
          try {
            if (readFileSync(`/proc/${c}/comm`, "utf8").trim() !== "ffmpeg") continue;
            const argv = readFileSync(`/proc/${c}/cmdline`, "utf8").split("\0").slice(0, -1);
            if (argv.includes("-i")) seen = argv.slice(1);
          } catch {
            // Gone already.
          }
        }
      }
    } catch {
      // No /proc: the command cannot be compared.
    }
  };
  const timer = setInterval(look, 10);
  return {
    stop(): string[] | undefined {
      clearInterval(timer);
      return seen;
    },
  };
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

async function processMedia(vod: Vod, fileId: string, definition: number): Promise<string> {
  const { TaskId } = await vod.ProcessMedia({
    FileId: fileId,
    MediaProcessTask: { TranscodeTaskSet: [{ Definition: definition }] },
  });
  return TaskId!;
}

function checkTranscode(detail: any, definition: number): void {
  const r = detail.ProcedureTask?.MediaProcessResultSet?.[0]?.TranscodeTask;
  if (detail.Status !== "FINISH" || r?.Status !== "SUCCESS" || r.Output?.Definition !== definition) {
    throw new Error(`transcode ${definition} did not succeed: ${JSON.stringify(detail).slice(0, 600)}`);
  }
}

/** Submit → FINISH seen by polling DescribeTaskDetail, as a client would. */
async function timedProcessMedia(vod: Vod, fileId: string, definition: number): Promise<number> {
  const t0 = performance.now();
  const taskId = await processMedia(vod, fileId, definition);
  for (;;) {
    const d: any = await vod.DescribeTaskDetail({ TaskId: taskId });
    if (d.Status === "FINISH" || d.Status === "ABORTED") {
      const seconds = (performance.now() - t0) / 1000;
      checkTranscode(d, definition);
      return seconds;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

// ---------------------------------------------------------------------------------------------
// 3. One transcode

export interface TranscodeBenchOptions {
  tools: MediaTools;
  openvod: OpenvodProcess;
  workers: number;
  source: string;
  fileId: string;
  sourceSeconds: number;
  definitions: number[];
  rounds: number;
  scratch: string;
  goal: number;
}

export async function benchTranscode(o: TranscodeBenchOptions) {
  const vod = o.openvod.client();
  const threads = threadsPerJob(o.workers);
  const rows = [];
  for (const definition of o.definitions) {
    const template = templateOf(definition);
    const out = join(o.scratch, `bare-${definition}.mp4`);
    const args = await transcodeArgs(jobContext(o.tools, threads), o.source, out, template, {
      sourceDuration: o.sourceSeconds,
    });
    // Warm-up, untimed: caches on both sides, and openvod's command line to compare with ours.
    const watch = watchFfmpeg(o.openvod.child.pid!);
    const { detail } = await waitForTask(vod, await processMedia(vod, o.fileId, definition), {
      timeoutMs: 3600_000,
    });
    const compared = assertSameCommand(`transcode ${definition}`, watch.stop(), args);
    checkTranscode(detail, definition);
    const output = detail.ProcedureTask.MediaProcessResultSet[0].TranscodeTask.Output;
    await runBare(o.tools, args);
    rmSync(out, { force: true });

    const bare: number[] = [];
    const openvod: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const order = r % 2 === 0 ? (["bare", "openvod"] as const) : (["openvod", "bare"] as const);
      for (const name of order) {
        const s =
          name === "bare" ? await runBare(o.tools, args) : await timedProcessMedia(vod, o.fileId, definition);
        rmSync(out, { force: true });
        (name === "bare" ? bare : openvod).push(s);
        log(`transcode ${definition} round ${r + 1}/${o.rounds} ${name.padEnd(7)} ${s.toFixed(3)} s`);
      }
    }
    const ratio = median(openvod) / median(bare);
    rows.push({
      definition,
      output: `${output.Width}x${output.Height} ${output.VideoStreamSet?.[0]?.Codec ?? ""}`.trim(),
      threads,
      sameCommand: compared,
      bareSeconds: round(median(bare), 3),
      openvodSeconds: round(median(openvod), 3),
      ratio: round(ratio, 3),
      roundRatios: openvod.map((x, i) => round(x / bare[i]!, 3)),
      goalMet: ratio <= o.goal,
    });
  }
  return { sourceSeconds: o.sourceSeconds, rounds: o.rounds, workers: o.workers, goal: o.goal, rows };
}

// ---------------------------------------------------------------------------------------------
// 4. A queue of transcodes

export interface QueueBenchOptions {
  tools: MediaTools;
  openvod: OpenvodProcess;
  workers: number;
  source: string;
  fileIds: string[];
  sourceSeconds: number;
  definition: number;
  rounds: number;
  scratch: string;
  goal: number;
}

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

export async function benchQueue(o: QueueBenchOptions) {
  const vod = o.openvod.client();
  const count = o.fileIds.length;
  const template = templateOf(o.definition);
  const split = threadsPerJob(o.workers);
  const whole = threadsPerJob(1);
  const outputs = Array.from({ length: count }, (_, i) => join(o.scratch, `queue-${i}.mp4`));
  const argsWith = async (threads: number) => {
    const ctx = jobContext(o.tools, threads);
    const base = await transcodeArgs(ctx, o.source, outputs[0]!, template, {
      sourceDuration: o.sourceSeconds,
    });
    return (i: number) => [...base.slice(0, -1), outputs[i]!];
  };
  const splitArgs = await argsWith(split);
  const wholeArgs = await argsWith(whole);
  const clean = () => outputs.forEach((f) => rmSync(f, { force: true }));

  // Warm-up, untimed, and the command check.
  const watch = watchFfmpeg(o.openvod.child.pid!);
  const { detail } = await waitForTask(vod, await processMedia(vod, o.fileIds[0]!, o.definition), {
    timeoutMs: 3600_000,
  });
  const compared = assertSameCommand(`queued transcode ${o.definition}`, watch.stop(), splitArgs(0));
  checkTranscode(detail, o.definition);

  const openvodRound = async (): Promise<number> => {
    const t0 = performance.now();
    const ids = await Promise.all(o.fileIds.map((f) => processMedia(vod, f, o.definition)));
    const pending = new Set(ids);
    while (pending.size) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      // The oldest first: tasks run in submission order, so one answer usually settles it.
      for (const id of [...pending]) {
        const d: any = await vod.DescribeTaskDetail({ TaskId: id });
        if (d.Status !== "FINISH" && d.Status !== "ABORTED") break;
        checkTranscode(d, o.definition);
        pending.delete(id);
      }
    }
    return (performance.now() - t0) / 1000;
  };

  const names = ["openvod", "bareSplit", "bareWhole"] as const;
  const runs: Record<(typeof names)[number], number[]> = { openvod: [], bareSplit: [], bareWhole: [] };
  for (let r = 0; r < o.rounds; r++) {
    // Rotate the order so that none of the three always goes first.
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    for (const name of order) {
      const s =
        name === "openvod"
          ? await openvodRound()
          : name === "bareSplit"
            ? await bareSchedule(o.tools, count, o.workers, splitArgs)
            : await bareSchedule(o.tools, count, 1, wholeArgs);
      clean();
      runs[name].push(s);
      log(`queue round ${r + 1}/${o.rounds} ${name.padEnd(9)} ${count} transcodes in ${s.toFixed(3)} s`);
    }
  }
  const m = {
    openvod: median(runs.openvod),
    bareSplit: median(runs.bareSplit),
    bareWhole: median(runs.bareWhole),
  };
  const best = Math.min(m.bareSplit, m.bareWhole);
  const ratio = m.openvod / best;
  return {
    tasks: count,
    sourceSeconds: o.sourceSeconds,
    definition: o.definition,
    rounds: o.rounds,
    workers: o.workers,
    threadsSplit: split,
    threadsWhole: whole,
    sameCommand: compared,
    openvodSeconds: round(m.openvod, 3),
    bareSplitSeconds: round(m.bareSplit, 3),
    bareWholeSeconds: round(m.bareWhole, 3),
    bestBare: m.bareSplit <= m.bareWhole ? "split" : "whole",
    ratio: round(ratio, 3),
    goal: o.goal,
    goalMet: ratio <= o.goal,
  };
}

export type TranscodeSummary = Awaited<ReturnType<typeof benchTranscode>>;
export type QueueSummary = Awaited<ReturnType<typeof benchQueue>>;
