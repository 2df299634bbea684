// EditMedia and SplitMedia: cut parts out of one or more sources and join them, in order, into
// one new file, in a single ffmpeg run. Parts of different sizes, frame rates and codecs are
// normalised to one frame size (letterboxed), one frame rate and one audio format, and a part
// without audio gets silence, so the concat filter sees identical streams.
import path from "node:path";
import type { ProbedMedia } from "../probe.js";
import { writeAtomically } from "../run.js";
import { loadCaps } from "./caps.js";
import { audioArgs, audioCodec, checkVideoContainer, videoArgs, videoCodec } from "./codecs.js";
import {
  Budget,
  checkComplete,
  ffmpeg,
  JobProgress,
  mapError,
  threadArgs,
  throwIfAborted,
} from "./ffmpeg.js";
import { addScale, FilterGraph, targetGeometry } from "./geometry.js";
import { measureHls } from "./hls.js";
import { inspectSource, resolveWindow, type SourceInfo } from "./source.js";
import { fileMuxArgs, hlsMuxArgs, produceHls } from "./transcode.js";
import { badParameter, type JobContext, type Template } from "./types.js";
import { num, secs } from "./values.js";

/** One part of the output: a window of a source file (offsets as the API gives them). */
export interface EditClip {
  file: string;
  /** Seconds; 0/undefined = the beginning; negative counts from the end. */
  startTimeOffset?: number;
  /** Seconds; 0/undefined = the end; negative counts from the end; beyond the end is clamped. */
  endTimeOffset?: number;
  /** How the part is named in messages (e.g. "FileInfos[1]"). */
  label: string;
}

export interface EditOptions {
  container: "mp4" | "hls";
  /** Which input sets the output size and frame rate: the largest picture, or the highest bitrate. */
  baseline: "resolution" | "bitrate";
  /** EditMediaVideoStream: Codec, Bitrate (kbps), ResolutionAdaptive, Width, Height, Fps. */
  videoStream?: Template;
}

export interface EditResult {
  /** The output as ffprobe read it back (HLS: with bitrates measured from the segments). */
  probed: ProbedMedia;
}

const AUDIO_RATE = 48000;
const HLS_SEGMENT_SECONDS = 10;

interface Part {
  clip: EditClip;
  src: SourceInfo;
  start: number;
  duration: number;
}

async function planParts(ctx: JobContext, budget: Budget, clips: EditClip[]): Promise<Part[]> {
  const parts: Part[] = [];
  // Cuts of one file are probed once.
  const probed = new Map<string, SourceInfo>();
  for (const clip of clips) {
    const src = probed.get(clip.file) ?? (await inspectSource(ctx, budget, clip.file));
    probed.set(clip.file, src);
    if (src.category === "Image") throw badParameter(`${clip.label} is an image, not a video or audio file`);
    let win;
    try {
      win = resolveWindow(src.duration, clip.startTimeOffset, clip.endTimeOffset);
    } catch (err) {
      throw badParameter(`${clip.label}: ${(err as Error).message}`);
    }
    const end = Number.isFinite(win.end) ? win.end : src.duration;
    if (!(end > win.start)) throw badParameter(`${clip.label}: the part to cut is empty`);
    parts.push({ clip, src, start: win.start, duration: end - win.start });
  }
  const video = parts.filter((p) => p.src.hasVideo);
  if (video.length && video.length < parts.length) {
    const audioOnly = parts.find((p) => !p.src.hasVideo)!;
    throw badParameter(`${audioOnly.clip.label} has no video stream and cannot be joined with video`);
  }
  return parts;
}

/** The ffmpeg options (after the common ones) up to the muxer, and what the output should last. */
async function planEdit(
  ctx: JobContext,
  budget: Budget,
  clips: EditClip[],
  o: EditOptions,
  threads: number,
): Promise<PlannedRun> {
  if (!clips.length) throw badParameter("nothing to edit");
  const caps = await loadCaps(ctx);
  const parts = await planParts(ctx, budget, clips);
  const withVideo = parts[0]!.src.hasVideo;
  const withAudio = parts.some((p) => p.src.hasAudio);
  const vs: Template = o.videoStream ?? {};
  const t = threadArgs(threads);
  const args: string[] = [...t.global];
  for (const p of parts) {
    if (p.start > 0) args.push("-ss", secs(p.start));
    args.push("-t", secs(p.duration), ...t.input, "-i", `file:${p.src.absolute}`);
  }

  const g = new FilterGraph();
  const pads: string[] = [];
  let fps = 0;
  let frame = { width: 0, height: 0 };
  if (withVideo) {
    const score = (s: SourceInfo) => (o.baseline === "bitrate" ? s.videoBitrate : s.width * s.height);
    const base = parts.map((p) => p.src).reduce((a, b) => (score(b) > score(a) ? b : a));
    frame = targetGeometry(base, vs, { even: true });
    fps = num(vs.Fps) > 0 ? num(vs.Fps) : Math.round(base.fps * 1000) / 1000 || 25;
  }
  parts.forEach((p, i) => {
    const d = secs(p.duration);
    if (withVideo) {
      // Each part letterboxed into the frame; a video stream shorter than its part holds its
      // last picture, so that picture and sound stay together across the joins.
      const geo = targetGeometry(
        p.src,
        { Width: frame.width, Height: frame.height, ResolutionAdaptive: "close", FillType: "black" },
        { even: true },
      );
      const pre = [`fps=${secs(fps)}`];
      const post = [
        "format=yuv420p",
        `tpad=stop_mode=clone:stop_duration=${d}`,
        `trim=duration=${d}`,
        "setpts=PTS-STARTPTS",
      ];
      pads.push(addScale(g, `${i}:${p.src.videoIndex}`, geo, pre, post));
    }
    if (withAudio) {
      const a = g.label("a");
      const norm = `aresample=${AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo`;
      if (p.src.hasAudio)
        g.add(`[${i}:${p.src.audioIndex}]${norm},apad,atrim=duration=${d},asetpts=PTS-STARTPTS[${a}]`);
      else g.add(`anullsrc=r=${AUDIO_RATE}:cl=stereo,atrim=duration=${d}[${a}]`);
      pads.push(a);
    }
  });
  const outs: string[] = [];
  if (withVideo) outs.push("[v]");
  if (withAudio) outs.push("[a]");
  g.add(
    `${pads.map((p) => `[${p}]`).join("")}concat=n=${parts.length}:v=${withVideo ? 1 : 0}:a=${withAudio ? 1 : 0}${outs.join("")}`,
  );
  args.push("-filter_complex", g.toString());
  const hls = o.container === "hls";
  if (withVideo) {
    const codec = await videoCodec(vs.Codec, caps);
    checkVideoContainer(codec, o.container);
    args.push("-map", "[v]");
    args.push(
      ...videoArgs({
        spec: "v:0",
        codec,
        template: { Bitrate: vs.Bitrate },
        fps,
        threads,
        keyframeEvery: hls ? HLS_SEGMENT_SECONDS : undefined,
        mp4: !hls,
      }).args,
    );
  }
  if (withAudio) {
    args.push(
      "-map",
      "[a]",
      ...audioArgs("a:0", audioCodec(undefined, o.container, caps), {}, 2, o.container),
    );
  }
  args.push("-map_metadata", "-1", "-map_chapters", "-1");
  return { args, duration: parts.reduce((s, p) => s + p.duration, 0), first: parts[0]!.src };
}

/** A planned single ffmpeg run: its options up to the muxer, what it should last, its first source. */
export interface PlannedRun {
  args: string[];
  duration: number;
  first: SourceInfo;
}

/**
 * Runs a planned job into `output` (mp4/mp3: the file; hls: the playlist, its segments beside
 * it) atomically, so nothing is at `output` until all of it is, and reads the result back.
 */
export async function renderPlanned(
  ctx: JobContext,
  budget: Budget,
  plan: PlannedRun,
  output: string,
  container: "mp4" | "hls" | "mp3",
): Promise<ProbedMedia> {
  const progress = new JobProgress(ctx.onProgress, 1);
  let probed: ProbedMedia | undefined;
  const run = async (out: string, mux: string[]) => {
    await ffmpeg(ctx, budget, plan.first, {
      args: [...plan.args, ...mux, out],
      durationSec: plan.duration,
      onProgress: progress.run(0),
    });
    probed = await checkComplete(ctx, budget, plan.first, out, plan.duration);
  };
  try {
    if (container === "hls") {
      await produceHls(output, async (dir, stem) => {
        const playlist = path.join(dir, `${stem}.m3u8`);
        await run(playlist, hlsMuxArgs(dir, stem, HLS_SEGMENT_SECONDS));
        probed = await measureHls(ctx.tools, playlist, probed!, budget.runTimeout(60_000), ctx.signal);
      });
    } else {
      await writeAtomically(output, (tmp) => run(tmp, fileMuxArgs(container)));
    }
  } catch (err) {
    throw mapError(err, plan.first.absolute);
  }
  progress.done();
  return probed!;
}

/** Writes the joined parts to `output`. */
export async function editMedia(
  ctx: JobContext,
  clips: EditClip[],
  output: string,
  o: EditOptions,
): Promise<EditResult> {
  throwIfAborted(ctx.signal);
  const budget = new Budget(ctx.timeoutMs);
  const lease = ctx.cpus.acquire();
  try {
    const plan = await planEdit(ctx, budget, clips, o, lease.threads);
    return { probed: await renderPlanned(ctx, budget, plan, output, o.container) };
  } finally {
    lease.release();
  }
}

/** The whole ffmpeg command line (after the executable) editMedia runs for an mp4: for the bench. */
export async function editMediaArgs(
  ctx: JobContext,
  clips: EditClip[],
  output: string,
  o: Omit<EditOptions, "container">,
): Promise<string[]> {
  const lease = ctx.cpus.acquire();
  lease.release();
  const plan = await planEdit(
    ctx,
    new Budget(ctx.timeoutMs),
    clips,
    { ...o, container: "mp4" },
    lease.threads,
  );
  return [...plan.args, ...fileMuxArgs("mp4"), output];
}
