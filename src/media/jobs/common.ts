// Plumbing shared by the jobs: probing the source once per job, the capabilities of the ffmpeg
// build, running ffmpeg inside the job's time budget with its errors mapped to JobError, progress
// over several runs, temporary directories committed by rename, and filtergraph escaping.

import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { TaskFailure } from "../../protocol/errors.js";
import {
  interpretProbe,
  probeMedia,
  rotation,
  type FfprobeOutput,
  type FfprobeStream,
  type ProbedMedia,
} from "../probe.js";
import { MediaError, runFfmpeg, runFfprobe, runProcess } from "../run.js";
import type { MediaTools } from "../tools.js";
import { badParameter, badSource, internalError, JobError, type JobContext } from "./types.js";

// ---------------------------------------------------------------------------------------------
// The source

export interface SourceInfo {
  file: string;
  /** Absolute path, as given to ffmpeg. */
  absolute: string;
  category: "Video" | "Audio" | "Image";
  duration: number;
  hasVideo: boolean;
  hasAudio: boolean;
  /** Absolute stream indexes (the first real video stream: cover art is skipped). */
  videoIndex: number;
  audioIndex: number;
  /** Display size: rotation and sample aspect ratio applied (what ffmpeg's filters see upright). */
  width: number;
  height: number;
  /** Clockwise rotation recorded in the file; ffmpeg's autorotation undoes it. */
  rotate: number;
  fps: number;
  videoBitrate: number;
  videoDuration: number;
  audioDuration: number;
  audioChannels: number;
  /** "hdr10" | "hlg" | "" */
  hdr: string;
}

interface RawStream extends FfprobeStream {
  sample_aspect_ratio?: string;
  channels?: number;
}

/**
 * Probes the source once. A missing, empty or unreadable file (or one without audio and video) is
 * a JobError 60000; an abort passes through as the MediaError.
 */
export async function inspectSource(ctx: JobContext, budget: Budget, file: string): Promise<SourceInfo> {
  const absolute = path.resolve(file);
  const name = path.basename(file);
  let size: number;
  try {
    const st = await stat(absolute);
    if (!st.isFile()) throw badSource(`The source file ${name} is not a regular file.`);
    size = st.size;
  } catch (err) {
    if (err instanceof JobError) throw err;
    throw badSource(`The source file ${name} does not exist.`);
  }
  if (size === 0) throw badSource(`The source file ${name} is empty (0 bytes).`);

  let data: FfprobeOutput;
  const known = ctx.sourceProbe;
  if (known && path.resolve(known.file) === absolute && known.size === size) {
    data = known.data;
  } else {
    let stdout: string;
    try {
      stdout = await runFfprobe(
        ctx.tools,
        ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", `file:${absolute}`],
        budget.runTimeout(60_000),
        ctx.signal,
      );
    } catch (err) {
      const timedOut = budget.timeoutError(err);
      if (timedOut) throw timedOut;
      if (err instanceof MediaError && ((err.kind === "exit" && !err.crashed) || err.kind === "timeout")) {
        throw badSource(`The source file ${name} could not be read as media: ${clean(err, absolute, name)}`);
      }
      throw mapError(err, absolute);
    }
    try {
      data = JSON.parse(stdout) as FfprobeOutput;
    } catch {
      throw badSource(`The source file ${name} could not be read as media: unparsable ffprobe output.`);
    }
  }
  let probed;
  try {
    probed = interpretProbe(data, { file, size });
  } catch (err) {
    if (err instanceof TaskFailure) throw badSource(err.message);
    throw err;
  }
  const streams = (data.streams ?? []) as RawStream[];
  const video = streams.find(
    (s) =>
      s.codec_type === "video" && s.disposition?.attached_pic !== 1 && s.disposition?.timed_thumbnails !== 1,
  );
  const audio = streams.find((s) => s.codec_type === "audio");
  const m = probed.metaData;
  const rotate = video ? rotation(video) : 0;
  let width = video?.width ?? 0;
  let height = video?.height ?? 0;
  const sar = ratio(video?.sample_aspect_ratio);
  if (sar && sar !== 1) width = Math.max(1, Math.round(width * sar));
  if (rotate === 90 || rotate === 270) [width, height] = [height, width];
  const v0 = m.VideoStreamSet[0];
  return {
    file,
    absolute,
    category: probed.category,
    duration: m.Duration,
    hasVideo: video !== undefined && width > 0 && height > 0,
    hasAudio: audio !== undefined,
    videoIndex: video?.index ?? -1,
    audioIndex: audio?.index ?? -1,
    width,
    height,
    rotate,
    fps: exactRate(video?.avg_frame_rate) ?? exactRate(video?.r_frame_rate) ?? v0?.Fps ?? 0,
    videoBitrate: v0?.Bitrate ?? 0,
    videoDuration: m.VideoDuration || m.Duration,
    audioDuration: m.AudioDuration || (audio ? m.Duration : 0),
    audioChannels: audio?.channels ?? 0,
    hdr: v0?.DynamicRangeInfo.Type === "HDR" ? v0.DynamicRangeInfo.HDRType : "",
  };
}

export function requireVideo(src: SourceInfo): void {
  if (!src.hasVideo) throw badParameter("the source has no video stream");
}

function ratio(r: string | undefined): number | undefined {
  if (!r) return undefined;
  const [a, b] = r.split(":").map(Number);
  if (!a || !b || !Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  return a / b;
}

function exactRate(r: string | undefined): number | undefined {
  if (!r) return undefined;
  const [num, den] = r.split("/").map(Number);
  if (num === undefined || !Number.isFinite(num)) return undefined;
  const v = den === undefined ? num : den > 0 ? num / den : NaN;
  // Rates above 1000 fps are timebase artefacts, not frame rates.
  return Number.isFinite(v) && v > 0 && v < 1000 ? v : undefined;
}

// ---------------------------------------------------------------------------------------------
// What this ffmpeg build can do

export interface Capabilities {
  encoders: Set<string>;
  filters: Set<string>;
}

const capsCache = new Map<string, Promise<Capabilities>>();

export function capabilities(tools: MediaTools): Promise<Capabilities> {
  let p = capsCache.get(tools.ffmpeg);
  if (!p) {
    p = (async () => {
      const list = async (what: string) => {
        const { stdout } = await runProcess({
          name: "ffmpeg",
          command: tools.ffmpeg,
          args: ["-hide_banner", what],
          timeoutMs: 15_000,
          collectStdoutMax: 4 * 1024 * 1024,
        });
        const names = new Set<string>();
        for (const line of stdout.toString("utf8").split("\n")) {
          // " V....D libx264   description" and " TSC gblur   V->V   description".
          const m = /^\s*[A-Z.|]{3,6}\s+(\S+)\s/.exec(line);
          if (m) names.add(m[1]!);
        }
        return names;
      };
      // One after the other: a worker never has more than one ffmpeg child at a time.
      const encoders = await list("-encoders");
      const filters = await list("-filters");
      return { encoders, filters };
    })();
    // A failed listing is not cached: the next job tries again.
    p.catch(() => capsCache.delete(tools.ffmpeg));
    capsCache.set(tools.ffmpeg, p);
  }
  return p;
}

/** The build's capabilities for a job: a failed listing is the job's internal error. */
export async function loadCaps(ctx: JobContext): Promise<Capabilities> {
  try {
    return await capabilities(ctx.tools);
  } catch (err) {
    throw mapError(err);
  }
}

// ---------------------------------------------------------------------------------------------
// Time budget, progress, running ffmpeg

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
  if (err instanceof TaskFailure) return badSource(err.message);
  if (isAbortError(err)) return err;
  return internalError(
    `media processing failed: ${stripPaths(err instanceof Error ? err.message : String(err))}`,
  );
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}

function clean(err: MediaError, absolute: string, name: string): string {
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
  const n = String(threadCount(threads));
  return { global: ["-filter_threads", n, "-filter_complex_threads", n], input: ["-threads", n] };
}

export function threadCount(threads: number): number {
  return Math.max(1, Math.floor(Number(threads) || 1));
}

// ---------------------------------------------------------------------------------------------
// Temporary directories

/** A hidden sibling of `target` (same file system, so rename works). */
export function siblingTemp(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
}

/**
 * Runs `produce` in a fresh temporary directory beside `outDir`, then moves the result into
 * `outDir`: a rename of the whole directory when `outDir` does not exist (or is empty), else a
 * rename per file. The temporary directory is removed in every case.
 */
export async function produceDir<T>(outDir: string, produce: (tmpDir: string) => Promise<T>): Promise<T> {
  await mkdir(path.dirname(path.resolve(outDir)), { recursive: true });
  const tmp = siblingTemp(path.resolve(outDir));
  await mkdir(tmp);
  try {
    const result = await produce(tmp);
    await commitDir(tmp, path.resolve(outDir));
    return result;
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function commitDir(tmp: string, outDir: string): Promise<void> {
  try {
    await rename(tmp, outDir);
    return;
  } catch {
    // outDir exists: replace it if empty, else merge file by file.
  }
  try {
    await rmdir(outDir);
    await rename(tmp, outDir);
    return;
  } catch {
    // Not empty (or not removable).
  }
  await mkdir(outDir, { recursive: true });
  for (const name of await readdir(tmp)) await rename(path.join(tmp, name), path.join(outDir, name));
}

/** A scratch directory for helper files (e.g. watermark text), always removed. */
export async function withScratch<T>(near: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = siblingTemp(path.resolve(near));
  await mkdir(path.dirname(dir), { recursive: true });
  await mkdir(dir);
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/**
 * Escapes a value for a filter option inside a -filter_complex string (ffmpeg-filters,
 * "Notes on filtergraph escaping"): first the option level, then the graph level.
 */
export function escapeFilterValue(v: string): string {
  const level1 = v.replace(/[\\':]/g, (c) => "\\" + c);
  return level1.replace(/[\\'[\],;]/g, (c) => "\\" + c);
}

/**
 * A directory given to a muxer that expands patterns (image2 "%05d", hls "%v"): ffmpeg's hls and
 * image2 muxers do not accept an escaped "%%", so a directory containing "%" is refused.
 */
export function patternSafe(dir: string): string {
  if (dir.includes("%")) throw internalError(`output path ${path.basename(dir)} contains "%"`);
  return dir;
}

export function num(v: unknown, fallback = 0): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

export function str(v: unknown, fallback = ""): string {
  return typeof v === "string" && v !== "" ? v : fallback;
}

/** Formats seconds for ffmpeg options (no exponent notation). */
export function secs(v: number): string {
  return (Math.round(v * 1e6) / 1e6).toFixed(6).replace(/\.?0+$/, "") || "0";
}

/**
 * The [start, end) window of a trim in source seconds, as the cloud documents offsets: 0 or
 * missing means the beginning (start) or the end (end); negative counts back from the end.
 */
export function resolveWindow(
  duration: number,
  startOffset: number | undefined,
  endOffset: number | undefined,
): { start: number; end: number } {
  const d = Math.max(0, duration);
  let start = num(startOffset);
  let end = num(endOffset);
  if (start < 0) start = Math.max(0, d + start);
  if (end < 0) end = d + end;
  // An unknown duration (0) leaves the end open.
  else if (end === 0) end = d > 0 ? d : Infinity;
  if (d > 0) {
    start = Math.min(start, d);
    end = Math.min(end, d);
  }
  if (d > 0 && start >= d)
    throw badParameter(`StartTimeOffset ${startOffset} is beyond the source's end (${d} s)`);
  if (end <= start)
    throw badParameter(`EndTimeOffset ${endOffset} is not after StartTimeOffset ${startOffset}`);
  return { start, end };
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
    if (err instanceof TaskFailure) throw internalError(`the output could not be read back: ${err.message}`);
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
