// Transcode (TranscodeTaskInput + TranscodeTemplate): one ffmpeg run; mp4/flv/audio containers
// are written with writeAtomically, HLS is built in a temporary directory whose segments are
// moved beside the final .m3u8 before the playlist itself is renamed into place.

import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  audioArgs,
  audioCodec,
  AUDIO_CONTAINERS,
  checkVideoContainer,
  colorPlan,
  containerExtension,
  muxerOf,
  videoArgs,
  videoCodec,
} from "./codecs.js";
import { loadCaps } from "./caps.js";
import { checkComplete, ffmpeg } from "./ffmpeg.js";
import { runJob, type Job } from "./job.js";
import { patternSafe, siblingTemp } from "./outputs.js";
import { resolveWindow, type SourceInfo } from "./source.js";
import { num, secs, str } from "./values.js";
import { addScale, FilterGraph, targetGeometry } from "./geometry.js";
import { measureHls } from "./hls.js";
import { badParameter, type JobContext, type Template, type Watermark } from "./types.js";
import { planWatermarks } from "./watermark.js";
import { planDigitalMark, type DigitalMark } from "./digitalMark.js";
import type { ProbedMedia } from "../probe.js";
import { FFMPEG_COMMON_ARGS, writeAtomically } from "../run.js";

export { containerExtension };

export interface TranscodeOptions {
  /** Seconds; negative counts from the end; 0/undefined = the beginning / the end. */
  startTimeOffset?: number;
  endTimeOffset?: number;
  watermarks?: Watermark[];
  sourceDuration: number;
  /** Filters on the picture before it is scaled to the output size (quality enhancement). */
  videoFilters?: string[];
  /** The picture size videoFilters produce, as a multiple of the source's (upscaling). */
  sizeFactor?: number;
  /** The frame rate videoFilters produce (motion interpolation), when they change it. */
  filteredFps?: number;
  /** Filters on the audio (denoise, loudness). */
  audioFilters?: string[];
  /** An invisible digital watermark (digitalMark.ts); its pattern file is written in `dir`. */
  digitalMark?: DigitalMark & { dir: string };
}

/** One transcode as ffmpeg options: everything but the muxer options and the output path. */
interface TranscodePlan {
  src: SourceInfo;
  container: string;
  hlsTime: number;
  /** ffmpeg options after FFMPEG_COMMON_ARGS, up to the muxer options. */
  args: string[];
  /** Seconds of output, for progress. */
  outDuration: number;
  /** What the output should last; a shorter one means a truncated source. */
  expected: number;
}

/** The container of a template, refused (40000) before any work when openvod cannot write it. */
function containerOf(template: Template): string {
  const container = str(template.Container).toLowerCase();
  containerExtension(container);
  return container;
}

async function planTranscode(
  ctx: JobContext,
  { src, threads, threadArgs: t }: Job,
  template: Template,
  o: TranscodeOptions,
): Promise<TranscodePlan> {
  const container = containerOf(template);
  const caps = await loadCaps(ctx);
  const duration = src.duration || o.sourceDuration;
  const win = resolveWindow(duration, o.startTimeOffset, o.endTimeOffset);
  const outDuration = (Number.isFinite(win.end) ? win.end : duration) - win.start;

  const audioContainer = AUDIO_CONTAINERS.has(container);
  const removeVideo = num(template.RemoveVideo) === 1;
  const removeAudio = num(template.RemoveAudio) === 1;
  const withVideo = !audioContainer && !removeVideo && src.hasVideo;
  const withAudio = !removeAudio && src.hasAudio;
  if (!withVideo && !withAudio) {
    if (removeAudio && (audioContainer || removeVideo)) throw badParameter("the template keeps no stream");
    if (audioContainer || removeVideo) throw badParameter("the source has no audio stream");
    throw badParameter("the source has no video stream");
  }

  const args: string[] = [...t.global];
  if (win.start > 0) args.push("-ss", secs(win.start));
  args.push(...t.input, "-i", `file:${src.absolute}`);

  const vt: Template = template.VideoTemplate ?? {};
  const at: Template = template.AudioTemplate ?? {};
  const hls = container === "hls";
  const hlsTime = num(vt.HlsTime) > 0 ? num(vt.HlsTime) : 10;

  if (withVideo) {
    const codec = await videoCodec(vt.Codec, caps);
    checkVideoContainer(codec, container);
    const wm = planWatermarks(o.watermarks, {
      firstInput: 1,
      copies: 1,
      allowText: true,
      outputDuration: outDuration,
    });
    args.push(...wm.inputArgs);
    const k = o.sizeFactor ?? 1;
    const geo = targetGeometry({ ...src, width: src.width * k, height: src.height * k }, vt, { even: true });
    const color = colorPlan(src, vt, codec, caps);
    const fps = num(vt.Fps) > 0 ? num(vt.Fps) : (o.filteredFps ?? src.fps);
    const g = new FilterGraph();
    const pre = [
      ...(o.videoFilters ?? []),
      ...(num(vt.Fps) > 0 ? [`fps=${secs(num(vt.Fps))}`] : []),
      ...color.pre,
    ];
    let pad = addScale(g, `0:${src.videoIndex}`, geo, pre, color.post);
    pad = wm.apply(g, pad, geo);
    if (o.digitalMark) {
      const firstInput = 1 + wm.inputArgs.filter((a) => a === "-i").length;
      const dm = await planDigitalMark(
        o.digitalMark,
        o.digitalMark.dir,
        win.start,
        outDuration,
        firstInput,
        geo,
      );
      args.push(...dm.inputArgs);
      pad = dm.apply(g, pad);
    }
    args.push("-filter_complex", g.toString(), "-map", `[${pad}]`);
    const v = videoArgs({
      spec: "v:0",
      codec,
      template: vt,
      fps,
      threads,
      keyframeEvery: hls ? hlsTime : undefined,
      mp4: container === "mp4",
      hdr10bit: color.hdr10bit,
    });
    args.push(...v.args, ...color.colorArgs("v:0"));
  }
  if (withAudio) {
    const ac = audioCodec(at.Codec, container, caps);
    args.push("-map", `0:${src.audioIndex}`, ...audioArgs("a:0", ac, at, src.audioChannels, container));
    if (o.audioFilters?.length) args.push("-filter:a:0", o.audioFilters.join(","));
  }
  if (Number.isFinite(win.end)) args.push("-t", secs(outDuration));
  // Metadata of the source (titles, rotation tags...) is not carried over.
  args.push("-map_metadata", "-1", "-map_chapters", "-1");

  // What the output should last: the streams it carries, within the window.
  const streamEnd = Math.max(withVideo ? src.videoDuration : 0, withAudio ? src.audioDuration : 0);
  const expected = Math.min(Number.isFinite(win.end) ? win.end : Infinity, streamEnd || duration) - win.start;
  return { src, container, hlsTime, args, outDuration, expected };
}

/** Muxer options of a single-file container (every one but hls). */
export function fileMuxArgs(container: string): string[] {
  const mux = ["-f", muxerOf(container)];
  if (container === "mp4" || container === "m4a")
    mux.push("-movflags", "+faststart", "-strict", "experimental");
  if (container === "m4a") mux.push("-brand", "M4A ");
  return mux;
}

/**
 * The complete ffmpeg argument list (after the executable) that transcode() runs to write
 * `output` from `input` with a single-file container: the same options, the same threads. For
 * the bench, which runs the identical command by hand, and for debugging.
 */
export async function transcodeArgs(
  ctx: JobContext,
  input: string,
  output: string,
  template: Template,
  o: TranscodeOptions,
): Promise<string[]> {
  if (containerOf(template) === "hls") throw badParameter("transcodeArgs covers single-file containers only");
  const plan = await runJob(ctx, input, {}, (job) => planTranscode(ctx, job, template, o));
  return [...FFMPEG_COMMON_ARGS, ...plan.args, ...fileMuxArgs(plan.container), output];
}

/** The output as ffprobe read it back (for HLS: the playlist, before it was moved into place). */
export interface TranscodeResult {
  probed: ProbedMedia;
}

export async function transcode(
  ctx: JobContext,
  input: string,
  output: string,
  template: Template,
  o: TranscodeOptions,
): Promise<TranscodeResult> {
  containerOf(template);
  return runJob(ctx, input, {}, (job) => transcodeJob(ctx, job, output, template, o));
}

async function transcodeJob(
  ctx: JobContext,
  job: Job,
  output: string,
  template: Template,
  o: TranscodeOptions,
): Promise<TranscodeResult> {
  const plan = await planTranscode(ctx, job, template, o);
  return writeTranscode(ctx, job, plan, plan.args, output, template);
}

/** Runs `args` (inputs and encoders: the plan's, or a join's) into the template's container. */
async function writeTranscode(
  ctx: JobContext,
  { budget, progress }: Job,
  plan: TranscodePlan,
  args: string[],
  output: string,
  template: Template,
): Promise<TranscodeResult> {
  const { src, hlsTime } = plan;
  let probed: ProbedMedia | undefined;
  const run = async (out: string, muxArgs: string[]) => {
    await ffmpeg(ctx, budget, src, {
      args: [...args, ...muxArgs, out],
      durationSec: plan.outDuration,
      onProgress: progress.run(0),
    });
    probed = await checkComplete(ctx, budget, src, out, plan.expected);
  };

  if (plan.container === "hls") {
    await produceHls(output, async (dir, stem) => {
      const segmentType = str(template.SegmentType, "ts").toLowerCase();
      const fmp4 = segmentType === "fmp4" || segmentType.startsWith("mp4");
      const playlist = path.join(dir, `${stem}.m3u8`);
      await run(playlist, hlsMuxArgs(dir, stem, hlsTime, fmp4));
      probed = await measureHls(ctx.tools, playlist, probed!, budget.runTimeout(60_000), ctx.signal);
    });
  } else {
    await writeAtomically(output, (tmp) => run(tmp, fileMuxArgs(plan.container)));
  }
  return { probed: probed! };
}

/** A part of a segmented transcode (src/workers/segments.ts): frames from a cut point, or the audio. */
export interface TranscodePiece {
  kind: "video" | "audio";
  /** Video: seconds of the output where the piece starts (a cut point, on a keyframe). */
  start: number;
  /** Video: how many frames (0: to the end). */
  frames: number;
  /** Video: the output frame rate the cut points were computed with. */
  fps: number;
}

/**
 * Encodes one piece of a transcode into an mp4 file: the template's video alone, from a cut
 * point for a number of frames (timestamps from 0, a keyframe first; HLS keyframes at the same
 * cadence as the whole run's, since cut points are multiples of it), or the template's audio
 * alone, the whole of it in one piece so the join has no gap or click.
 */
export async function transcodePiece(
  ctx: JobContext,
  input: string,
  output: string,
  template: Template,
  o: TranscodeOptions,
  piece: TranscodePiece,
): Promise<ProbedMedia> {
  containerOf(template);
  return runJob(ctx, input, {}, async (job) => {
    if (piece.kind === "audio") {
      const audioOnly = { ...template, Container: "mp4", RemoveVideo: 1 };
      const plan = await planTranscode(ctx, job, audioOnly, o);
      return (await writeTranscode(ctx, job, plan, plan.args, output, audioOnly)).probed;
    }
    const plan = await planTranscode(ctx, job, { ...template, RemoveAudio: 1 }, {
      ...o,
      startTimeOffset: piece.start > 0 ? piece.start : undefined,
      // Timestamps from 0 after the seek, so the fps filter starts the piece on its first frame.
      videoFilters: ["setpts=PTS-STARTPTS", ...(o.videoFilters ?? [])],
    });
    const seconds = piece.frames > 0 ? piece.frames / piece.fps : plan.expected;
    const args = [...plan.args, ...(piece.frames > 0 ? ["-frames:v", String(piece.frames)] : [])];
    let probed: ProbedMedia | undefined;
    await writeAtomically(output, async (tmp) => {
      await ffmpeg(ctx, job.budget, plan.src, {
        args: [...args, "-f", "mp4", tmp],
        durationSec: seconds,
        onProgress: job.progress.run(0),
      });
      probed = await checkComplete(ctx, job.budget, plan.src, tmp, seconds);
    });
    return probed!;
  });
}

/**
 * Joins encoded pieces into the template's container without re-encoding: the video pieces in
 * order (concat demuxer), the audio piece beside them, muxed as transcode() would (mp4 with
 * faststart, or an HLS playlist cut at the same keyframes), then probed back like its output.
 */
export async function joinTranscode(
  ctx: JobContext,
  input: string,
  videoPieces: string[],
  audioPiece: string | undefined,
  listFile: string,
  output: string,
  template: Template,
  o: TranscodeOptions,
): Promise<TranscodeResult> {
  containerOf(template);
  await writeConcatList(listFile, videoPieces);
  return runJob(ctx, input, {}, async (job) => {
    const plan = await planTranscode(ctx, job, template, o);
    const args = ["-f", "concat", "-safe", "0", "-i", `file:${path.resolve(listFile)}`];
    if (audioPiece) args.push("-i", `file:${path.resolve(audioPiece)}`);
    args.push("-map", "0:v:0", ...(audioPiece ? ["-map", "1:a:0"] : []), "-c", "copy");
    args.push("-map_metadata", "-1", "-map_chapters", "-1");
    return writeTranscode(ctx, job, plan, args, output, template);
  });
}

/** A concat demuxer list of files (absolute paths, quotes escaped). */
export async function writeConcatList(listFile: string, files: string[]): Promise<void> {
  const quote = (f: string) => `'${path.resolve(f).replace(/'/g, "'\\''")}'`;
  await writeFile(listFile, files.map((f) => `file ${quote(f)}\n`).join(""));
}

/** Options of ffmpeg's hls muxer for a VOD playlist `<dir>/<stem>.m3u8` and its segments. */
export function hlsMuxArgs(dir: string, stem: string, hlsTime: number, fmp4 = false): string[] {
  const mux = ["-f", "hls", "-hls_time", secs(hlsTime), "-hls_playlist_type", "vod", "-hls_list_size", "0"];
  if (fmp4) {
    mux.push("-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", `${stem}_init.mp4`);
    mux.push("-hls_segment_filename", path.join(patternSafe(dir), `${patternSafe(stem)}_%05d.m4s`));
  } else {
    mux.push("-hls_segment_filename", path.join(patternSafe(dir), `${patternSafe(stem)}_%05d.ts`));
  }
  return mux;
}

/**
 * Builds an HLS playlist and its segments in a temporary directory beside `output`, then moves
 * the segments next to `output` and renames the playlist last: a reader that finds the
 * playlist finds every segment it lists. On failure nothing stays behind.
 */
export async function produceHls(
  output: string,
  produce: (dir: string, stem: string) => Promise<void>,
): Promise<void> {
  const final = path.resolve(output);
  const destDir = path.dirname(final);
  const stem = path.basename(final, path.extname(final));
  await mkdir(destDir, { recursive: true });
  const tmp = siblingTemp(final);
  await mkdir(tmp);
  const moved: string[] = [];
  try {
    await produce(tmp, stem);
    const playlist = `${stem}.m3u8`;
    for (const name of await readdir(tmp)) {
      if (name === playlist) continue;
      await rename(path.join(tmp, name), path.join(destDir, name));
      moved.push(path.join(destDir, name));
    }
    await rename(path.join(tmp, playlist), final);
  } catch (err) {
    await Promise.all(moved.map((f) => rm(f, { force: true }).catch(() => undefined)));
    throw err;
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}
