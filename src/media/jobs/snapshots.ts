// Pictures from a video: SnapshotByTimeOffset (chosen instants), CoverBySnapshot (one instant)
// and SampleSnapshot (every N seconds or N percent, in one ffmpeg run with a select filter).

import { readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { writeAtomically } from "../run.js";
import { ffmpeg } from "./ffmpeg.js";
import { runJob, type Job } from "./job.js";
import { patternSafe, produceDir } from "./outputs.js";
import { num, secs, str } from "./values.js";
import { addScale, FilterGraph, targetGeometry, type Geometry } from "./geometry.js";
import { badParameter, badSource, type JobContext, type Template, type Watermark } from "./types.js";
import { planWatermarks } from "./watermark.js";

/** Picture format of a template (jpg, png, webp; default jpg) → extension and encoder options. */
export function imageFormat(v: unknown): { ext: string; codecArgs: string[] } {
  const f = str(v, "jpg").toLowerCase();
  switch (f) {
    case "jpg":
    case "jpeg":
      return { ext: "jpg", codecArgs: ["-c:v", "mjpeg", "-q:v", "2"] };
    case "png":
      return { ext: "png", codecArgs: ["-c:v", "png"] };
    case "webp":
      return { ext: "webp", codecArgs: ["-c:v", "libwebp", "-quality", "85"] };
    default:
      throw badParameter(`unsupported picture Format ${f}`);
  }
}

/**
 * ExtTimeOffsetSet → milliseconds: "3.5s" is 3.5 seconds, "10%" is 10 % of the duration.
 * Anything else (no unit, negative, above 100 %, not a string) is a JobError 40000.
 */
export function parseExtTimeOffsets(ext: string[], durationSec: number): number[] {
  if (!Array.isArray(ext)) throw badParameter("ExtTimeOffsetSet must be a list of strings");
  return ext.map((raw) => {
    if (typeof raw !== "string") throw badParameter(`invalid time offset ${String(raw)}`);
    const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(s|%)$/i.exec(raw.trim());
    if (!m) throw badParameter(`invalid time offset "${raw}": use "3.5s" or "10%"`);
    const value = Number(m[1]);
    if (m[2] === "%") {
      if (value > 100) throw badParameter(`invalid time offset "${raw}": a percentage is at most 100%`);
      return round3((Math.max(0, durationSec) * 1000 * value) / 100);
    }
    return round3(value * 1000);
  });
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

export interface SnapshotOptions {
  watermarks?: Watermark[];
  sourceDuration: number;
}

/** One picture per offset (ms); offsets beyond the end give the last frame. */
export async function snapshotsByTimeOffset(
  ctx: JobContext,
  input: string,
  outDir: string,
  template: Template,
  offsetsMs: number[],
  o: SnapshotOptions,
): Promise<{ timeOffsetMs: number; file: string }[]> {
  const fmt = imageFormat(template.Format);
  const names = offsetsMs.map((ms, i) => `snapshot_${i}_${Math.round(ms)}.${fmt.ext}`);
  const runs = Math.ceil(offsetsMs.length / CHUNK);
  await runJob(ctx, input, { video: true, runs }, async (job) => {
    if (offsetsMs.length === 0) throw badParameter("no time offset to take a snapshot at");
    for (const ms of offsetsMs) {
      if (!Number.isFinite(ms) || ms < 0) throw badParameter(`invalid time offset ${ms} ms`);
    }
    const geo = targetGeometry(job.src, template, { even: false });
    await produceDir(outDir, async (tmp) => {
      const shots = offsetsMs.map((ms, i) => ({ time: ms / 1000, file: path.join(tmp, names[i]!) }));
      await grabFrames(ctx, job, shots, geo, fmt.codecArgs, o.watermarks);
    });
  });
  const dir = path.resolve(outDir);
  return offsetsMs.map((ms, i) => ({ timeOffsetMs: ms, file: path.join(dir, names[i]!) }));
}

export interface CoverOptions {
  positionType: "Time" | "Percent";
  positionValue: number;
  watermarks?: Watermark[];
  sourceDuration: number;
}

/** CoverBySnapshot: one picture at a time or a percentage of the duration, written atomically. */
export async function coverSnapshot(
  ctx: JobContext,
  input: string,
  output: string,
  template: Template,
  o: CoverOptions,
): Promise<void> {
  const ext = path.extname(output).slice(1).toLowerCase() || "jpg";
  const fmt = imageFormat(ext === "jpeg" ? "jpg" : ext);
  await runJob(ctx, input, { video: true }, (job) => cover(ctx, job, output, fmt, template, o));
}

async function cover(
  ctx: JobContext,
  job: Job,
  output: string,
  fmt: ReturnType<typeof imageFormat>,
  template: Template,
  o: CoverOptions,
): Promise<void> {
  const duration = job.src.duration || o.sourceDuration;
  const value = num(o.positionValue);
  if (value < 0) throw badParameter(`invalid PositionValue ${o.positionValue}`);
  let time: number;
  if (o.positionType === "Percent") {
    if (value > 100) throw badParameter(`invalid PositionValue ${o.positionValue}: at most 100 percent`);
    time = (duration * value) / 100;
  } else if (o.positionType === "Time") {
    time = value;
  } else {
    throw badParameter(`invalid PositionType ${String(o.positionType)}`);
  }
  const geo = targetGeometry(job.src, template, { even: false });
  await writeAtomically(output, (tmp) =>
    grabFrames(ctx, job, [{ time, file: tmp }], geo, fmt.codecArgs, o.watermarks),
  );
}

/** How many instants one ffmpeg run handles (each is one seeking input of the same file). */
const CHUNK = 8;
/** Instants this close to the end of the video are taken as "the last frame at or before t". */
const TAIL_SECONDS = 1;

interface Shot {
  time: number;
  file: string;
}

/**
 * Writes one picture per shot. Each shot is its own input with its own fast seek (-ss before -i),
 * several per run. Near or beyond the end, the input starts a little before the end and every
 * frame up to the instant overwrites the picture (-update 1), so the last one wins: the frame
 * shown at that instant, or the last frame of the video.
 */
async function grabFrames(
  ctx: JobContext,
  job: Job,
  shots: Shot[],
  geo: Geometry,
  codecArgs: string[],
  watermarks: Watermark[] | undefined,
): Promise<void> {
  const { src, progress } = job;
  const vdur = src.videoDuration || src.duration;
  const chunks: Shot[][] = [];
  for (let i = 0; i < shots.length; i += CHUNK) chunks.push(shots.slice(i, i + CHUNK));
  for (const [ci, chunk] of chunks.entries()) {
    const tail = chunk.map((s) => !(vdur > 0) || s.time + TAIL_SECONDS >= vdur);
    await grabRun(ctx, job, chunk, tail, geo, codecArgs, watermarks, progress.run(ci));
    // A fast seek can land after the last frame when the container's duration is optimistic:
    // retry those instants as "last frame before t".
    const missing = chunk.map((s, i) => (!tail[i] && !existsSync(s.file) ? i : -1)).filter((i) => i >= 0);
    if (missing.length) {
      const redo = missing.map((i) => chunk[i]!);
      await grabRun(
        ctx,
        job,
        redo,
        redo.map(() => true),
        geo,
        codecArgs,
        watermarks,
        () => undefined,
      );
    }
    const still = chunk.filter((s) => !existsSync(s.file));
    if (still.length) throw badSource("no video frame could be decoded from the source");
  }
}

async function grabRun(
  ctx: JobContext,
  { budget, src, threads, threadArgs: t }: Job,
  shots: Shot[],
  tail: boolean[],
  geo: Geometry,
  codecArgs: string[],
  watermarks: Watermark[] | undefined,
  onProgress: (p: number) => void,
): Promise<void> {
  // Several decoders and encoders in one run share the job's threads.
  const each = String(Math.max(1, Math.floor(threads / shots.length)));
  const vdur = src.videoDuration || src.duration;
  const args = [...t.global];
  const windows: number[] = [];
  for (const [i, s] of shots.entries()) {
    let seek = s.time;
    if (tail[i]) {
      const end = Math.min(s.time, vdur > 0 ? vdur : s.time);
      seek = Math.max(0, end - 2 * TAIL_SECONDS);
      windows.push(Math.max(0, s.time - seek));
    } else windows.push(0);
    if (seek > 0) args.push("-ss", secs(seek));
    args.push("-threads", each, "-i", `file:${src.absolute}`);
  }
  const wm = planWatermarks(watermarks, { firstInput: shots.length, copies: shots.length, allowText: false });
  args.push(...wm.inputArgs);
  const g = new FilterGraph();
  const pads = shots.map((_, i) => {
    const pre = tail[i] ? [`select='lte(t,${secs(windows[i]!)})'`] : [];
    const p = addScale(g, `${i}:${src.videoIndex}`, geo, pre);
    return wm.apply(g, p, geo, i);
  });
  args.push("-filter_complex", g.toString());
  for (const [i, s] of shots.entries()) {
    args.push("-map", `[${pads[i]}]`, ...codecArgs, "-threads", each);
    if (!tail[i]) args.push("-frames:v", "1");
    args.push("-f", "image2", "-update", "1", s.file);
  }
  await ffmpeg(ctx, budget, src, { args, onProgress });
}

export interface SampleOptions {
  watermarks?: Watermark[];
  sourceDuration: number;
}

/** The sampling interval in seconds of a SampleSnapshot/ImageSprite template. */
export function sampleInterval(template: Template, duration: number): number {
  const type = str(template.SampleType, "Percent");
  const value = num(template.SampleInterval);
  if (!(value > 0)) throw badParameter(`invalid SampleInterval ${String(template.SampleInterval)}`);
  if (/^percent$/i.test(type)) {
    if (value > 100) throw badParameter(`invalid SampleInterval ${value}: at most 100 percent`);
    if (!(duration > 0)) throw badSource("the source's duration is unknown");
    return (duration * value) / 100;
  }
  if (/^time$/i.test(type)) return value;
  throw badParameter(`invalid SampleType ${type}`);
}

/**
 * The select expression keeping the first frame of every interval [k·I, (k+1)·I): the first
 * picture is the first frame, then one per interval, without drift. A 2 s video sampled every
 * 25 % (0.5 s) gives 4 pictures (0, 0.5, 1, 1.5 s): no picture at 100 %, which is the end.
 */
export function sampleSelect(interval: number): string {
  const i = secs(interval);
  return `select='isnan(prev_t)+gt(floor(t/${i}),floor(prev_t/${i}))'`;
}

/** SampleSnapshot: pictures every SampleInterval seconds or percent, in one ffmpeg run. */
export async function sampleSnapshots(
  ctx: JobContext,
  input: string,
  outDir: string,
  template: Template,
  o: SampleOptions,
): Promise<string[]> {
  const fmt = imageFormat(template.Format);
  return runJob(ctx, input, { video: true }, (job) => sample(ctx, job, outDir, fmt, template, o));
}

async function sample(
  ctx: JobContext,
  { budget, src, threads, threadArgs: t, progress }: Job,
  outDir: string,
  fmt: ReturnType<typeof imageFormat>,
  template: Template,
  o: SampleOptions,
): Promise<string[]> {
  const duration = src.videoDuration || src.duration || o.sourceDuration;
  const interval = sampleInterval(template, duration);
  const geo = targetGeometry(src, template, { even: false });
  let names: string[] = [];
  await produceDir(outDir, async (tmp) => {
    const args = [...t.global, ...t.input, "-i", `file:${src.absolute}`];
    const wm = planWatermarks(o.watermarks, { firstInput: 1, copies: 1, allowText: false });
    args.push(...wm.inputArgs);
    const g = new FilterGraph();
    const pad = wm.apply(g, addScale(g, `0:${src.videoIndex}`, geo, [sampleSelect(interval)]), geo);
    args.push(
      "-filter_complex",
      g.toString(),
      "-map",
      `[${pad}]`,
      ...fmt.codecArgs,
      "-threads",
      String(threads),
    );
    args.push("-vsync", "vfr", "-f", "image2", "-start_number", "0");
    args.push(path.join(patternSafe(tmp), `sample_%05d.${fmt.ext}`));
    await ffmpeg(ctx, budget, src, { args, durationSec: duration, onProgress: progress.run(0) });
    names = (await readdir(tmp)).filter((n) => n.startsWith("sample_")).sort();
    if (names.length === 0) throw badSource("no video frame could be decoded from the source");
  });
  const dir = path.resolve(outDir);
  return names.map((n) => path.join(dir, n));
}
