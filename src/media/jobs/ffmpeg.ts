// Running ffmpeg inside a job: the time budget, progress over several runs, failures mapped to
// JobError (by exit status first, then by what ffmpeg said), and the check that an output is whole.
import path from "node:path";
import { NotMediaError, probeMedia, type ProbedMedia } from "../probe.js";
import { MediaError, runFfmpeg } from "../run.js";
import { badSource, internalError, JobError, type JobContext } from "./types.js";
import type { SourceInfo } from "./source.js";

/** The job's deadline: every run gets what is left of ctx.timeoutMs. */
export class Budget {
  private readonly deadline: number;
  private readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    this.timeoutMs = Math.max(1, timeoutMs);
    this.deadline = Date.now() + this.timeoutMs;
  }
  runTimeout(cap = Infinity): number {
    const left = this.deadline - Date.now();
    if (left <= 0) throw this.timedOut();
    return Math.max(1, Math.min(cap, left));
  }
  /**
   * The JobError for a run killed by its timeout: "timed out after N s" (70000) when the job's
   * whole budget is spent, undefined when only a per-run cap (e.g. ffprobe's) ran out.
   */
  timeoutError(err: unknown): JobError | undefined {
    if (!(err instanceof MediaError) || err.kind !== "timeout") return undefined;
    // Timers may fire a little early; a run whose cap was within 50 ms of the deadline counts.
    return Date.now() >= this.deadline - 50 ? this.timedOut() : undefined;
  }
  private timedOut(): JobError {
    const s = this.timeoutMs / 1000;
    return internalError(
      `The media processing timed out after ${Number.isInteger(s) ? s : s.toFixed(1)} s and was stopped.`,
    );
  }
}

/** Spreads the job's progress over `runs` ffmpeg runs (weights optional); 100 only via done(). */
export class JobProgress {
  private last = -1;
  private readonly weights: number[];
  private readonly total: number;
  constructor(
    private readonly emit: (p: number) => void,
    runs: number | number[],
  ) {
    this.weights = typeof runs === "number" ? Array.from({ length: Math.max(1, runs) }, () => 1) : runs;
    this.total = this.weights.reduce((a, b) => a + b, 0) || 1;
  }
  /** The progress callback for run `i` (0-based). */
  run(i: number): (percent: number) => void {
    const before = this.weights.slice(0, i).reduce((a, b) => a + b, 0);
    const w = this.weights[i] ?? 0;
    return (p) => this.report(Math.min(99, Math.floor(((before + (w * p) / 100) / this.total) * 100)));
  }
  done(): void {
    this.report(100);
  }
  private report(p: number): void {
    if (p <= this.last) return;
    this.last = p;
    try {
      this.emit(p);
    } catch {
      // A failing progress callback must not fail the job.
    }
  }
}

export interface JobRun {
  args: string[];
  /** Output duration in seconds for progress. */
  durationSec?: number;
  onProgress?: (percent: number) => void;
}

/**
 * What demuxers report when the input ends before the data its index promises (an mp4 cut
 * short, a matroska file ended early). ffmpeg treats it as the end of the input and exits 0,
 * so a successful run must be checked for it: otherwise a snapshot "at 1.8 s" would be the last
 * frame before the cut, and samples or segments would silently stop there.
 */
const TRUNCATED_INPUT = [/: partial file\s*$/m, /File ended prematurely/];

/**
 * Runs ffmpeg with the job's signal and remaining time; failures become JobErrors (abort passes
 * through), and so does a run that succeeded only because it reached a cut in the source.
 */
export async function ffmpeg(ctx: JobContext, budget: Budget, src: SourceInfo | undefined, run: JobRun) {
  let stderrTail: string;
  try {
    ({ stderrTail } = await runFfmpeg(ctx.tools, {
      args: run.args,
      timeoutMs: budget.runTimeout(),
      signal: ctx.signal,
      durationSec: run.durationSec,
      onProgress: run.onProgress,
    }));
  } catch (err) {
    throw budget.timeoutError(err) ?? mapError(err, src?.absolute);
  }
  if (src && TRUNCATED_INPUT.some((re) => re.test(stderrTail))) {
    throw badSource(
      `The source file ${path.basename(src.file)} is truncated: its data ends before the part this task needs.`,
    );
  }
}

/** Input-side failures ffmpeg reports for a damaged source. */
const SOURCE_PROBLEMS = [
  /Invalid data found when processing input/i,
  /moov atom not found/i,
  /could not find codec parameters/i,
  /Error while decoding/i,
  /error while decoding/i,
  /corrupt/i,
  /partial file/i,
  /Invalid NAL unit/i,
  /no frame!/i,
  /Output file is empty, nothing was encoded/i,
  /does not contain any stream/i,
];

/** Any failure → JobError, except an abort, which is rethrown unchanged. */
export function mapError(err: unknown, inputAbsolute?: string): unknown {
  if (err instanceof JobError) return err;
  if (err instanceof MediaError) {
    if (err.kind === "aborted") return err;
    if (err.kind === "timeout") return internalError(`media processing failed: ${stripPaths(err.message)}`);
    // The spawn message names the binary and may echo an argument: neither belongs in a task.
    if (err.kind === "spawn") return internalError(`ffmpeg could not be started: ${stripPaths(err.message)}`);
    // By exit status first: a crashed tool is our fault, whatever its stderr said of the input.
    if (err.crashed) {
      const how = err.exitSignal ? `was killed by ${err.exitSignal}` : `exited with status ${err.exitCode}`;
      return internalError(`media processing failed: the media tool crashed (it ${how}).`);
    }
    const name = inputAbsolute ? path.basename(inputAbsolute) : "";
    const detail = inputAbsolute ? clean(err, inputAbsolute, name) : lastLine(err.stderrTail) || err.message;
    const tail = err.stderrTail;
    const aboutInput =
      (inputAbsolute !== undefined && tail.includes(inputAbsolute) && /error|invalid/i.test(tail)) ||
      SOURCE_PROBLEMS.some((re) => re.test(tail));
    if (aboutInput) return badSource(`The source file ${name} could not be processed: ${detail}`);
    return internalError(`media processing failed: ${stripPaths(detail)}`);
  }
  if (err instanceof NotMediaError) return badSource(err.message);
  if (isAbortError(err)) return err;
  return internalError(
    `media processing failed: ${stripPaths(err instanceof Error ? err.message : String(err))}`,
  );
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}

/** ffmpeg's telling line about the input, with its server path replaced by its name. */
export function clean(err: MediaError, absolute: string, name: string): string {
  const detail = lastLine(err.stderrTail) || err.message;
  return stripPaths(detail.split(`file:${absolute}`).join(name).split(absolute).join(name));
}

/** Server paths do not belong in a task's Message. */
function stripPaths(s: string): string {
  return s.replace(/(?:file:)?\/[^\s:'"]+\/([^\s/:'"]+)/g, "$1");
}

/** The most telling line of ffmpeg's stderr: the last one that is not a generic epilogue. */
function lastLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const generic =
    /^(Error initializing output stream|Conversion failed|Could not write header|Error while opening encoder|Svt\[)/;
  return [...lines].reverse().find((l) => !generic.test(l)) ?? lines.at(-1) ?? "";
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new MediaError("ffmpeg was aborted before it started", "aborted");
}

/** Options every run gets: decoder and filter threads (the encoder's are set by the caller). */
export function threadArgs(threads: number): { global: string[]; input: string[] } {
  const n = String(threads);
  return { global: ["-filter_threads", n, "-filter_complex_threads", n], input: ["-threads", n] };
}

/**
 * Input and filter options that decode the source's video as `width` x `height` grey frames
 * (area-averaged) at `fps`: what the pixel analyses in JavaScript read, as small as they can be.
 */
export function greyFrameArgs(
  t: { global: string[]; input: string[] },
  src: SourceInfo,
  fps: string,
  width: number,
  height: number,
): string[] {
  return [
    ...t.global,
    ...t.input,
    "-i",
    `file:${src.absolute}`,
    "-map",
    `0:${src.videoIndex}`,
    "-vf",
    `fps=${fps},scale=${width}:${height}:flags=area,format=gray`,
  ];
}

/**
 * Probes an output and fails with 60000 when it is clearly shorter than what the source
 * promised: ffmpeg exits 0 on some truncated inputs (a faststart mp4 cut short reads as
 * "partial file"), which must not pass for a complete transcode. Returns the probe, so that the
 * caller need not run ffprobe on the output again.
 */
export async function checkComplete(
  ctx: JobContext,
  budget: Budget,
  src: SourceInfo,
  output: string,
  expected: number,
): Promise<ProbedMedia> {
  let probed: ProbedMedia;
  try {
    probed = await probeMedia(
      ctx.tools,
      path.resolve(output),
      budget.runTimeout(30_000),
      ctx.signal,
      `output ${path.basename(output)}`,
    );
  } catch (err) {
    const timedOut = budget.timeoutError(err);
    if (timedOut) throw timedOut;
    if (err instanceof NotMediaError)
      throw internalError(`the output could not be read back: ${err.message}`);
    throw mapError(err);
  }
  const actual = probed.metaData.Duration;
  if (expected > 0 && Number.isFinite(actual) && actual + Math.max(1, expected * 0.1) < expected) {
    throw badSource(
      `The source file ${path.basename(src.file)} is truncated or damaged: only ${actual.toFixed(2)} of ` +
        `${expected.toFixed(2)} seconds could be decoded.`,
    );
  }
  return probed;
}
