// Where a long transcode or adaptive-streaming job can be cut into pieces that encode apart and
// join without re-encoding (src/workers/segments.ts runs them). Cut points are whole frames of
// the output frame rate and multiples of the keyframe cadence the single run would have (the
// HLS/DASH segment length, else the template's GOP), so every piece starts on a keyframe where
// the single run has one too, and the joined output keeps the same cadence.
import { Budget } from "./ffmpeg.js";
import { inspectSource, type SourceInfo } from "./source.js";
import { num, str } from "./values.js";
import type { JobContext, Template, Watermark } from "./types.js";

export interface SegmentSettings {
  /** About how long a piece is (OPENVOD_SEGMENT_SECONDS); 0: never split. */
  seconds: number;
  /** Sources shorter than this are never split (OPENVOD_SEGMENT_MIN_SECONDS). */
  minSeconds: number;
}

export interface Cut {
  /** Seconds of the output where the piece starts. */
  start: number;
  /** Frames in the piece; 0 for the last one (to the end). */
  frames: number;
}

export interface CutPlan {
  /** The output frame rate the cuts are whole frames of. */
  fps: number;
  cuts: Cut[];
  /** Seconds of output, for progress weights. */
  duration: number;
  /** Whether the source has audio (encoded as a piece of its own). */
  hasAudio: boolean;
}

/** What may stop a split: a window or watermarks shift on the timeline of a piece. */
export interface SplitOptions {
  startTimeOffset?: number;
  endTimeOffset?: number;
  watermarks?: Watermark[];
  sourceDuration: number;
}

/** The frames a cadence of `seconds` spans at `fps`, once it is a whole number of them (a multiple of it). */
function wholeFrames(seconds: number, fps: number): number | undefined {
  for (let m = 1; m <= 1000; m++) {
    const frames = m * seconds * fps;
    if (Math.abs(frames - Math.round(frames)) < 1e-6 && Math.round(frames) > 0) return Math.round(frames);
  }
  return undefined;
}

function cutsOf(src: SourceInfo, fps: number, unit: number, s: SegmentSettings): CutPlan | undefined {
  const duration = src.videoDuration || src.duration;
  const total = Math.round(duration * fps);
  const per = Math.max(unit, Math.round((s.seconds * fps) / unit) * unit);
  const count = Math.round(total / per);
  if (count < 2) return undefined;
  const cuts: Cut[] = [];
  for (let i = 0; i < count; i++) cuts.push({ start: (i * per) / fps, frames: i === count - 1 ? 0 : per });
  return { fps, cuts, duration, hasAudio: src.hasAudio };
}

async function source(ctx: JobContext, input: string, o: SplitOptions, s: SegmentSettings) {
  if (s.seconds <= 0) return undefined;
  if (o.watermarks?.length || o.startTimeOffset || o.endTimeOffset) return undefined;
  const src = await inspectSource(ctx, new Budget(ctx.timeoutMs), input);
  if (!src.hasVideo || !(src.fps > 0)) return undefined;
  if ((src.videoDuration || src.duration) < Math.max(s.minSeconds, 2 * s.seconds)) return undefined;
  return src;
}

/** The cuts of a Transcode (mp4 or HLS with video), or undefined when it runs in one piece. */
export async function planTranscodeCuts(
  ctx: JobContext,
  input: string,
  template: Template,
  o: SplitOptions,
  s: SegmentSettings,
): Promise<CutPlan | undefined> {
  const container = str(template.Container).toLowerCase();
  if (container !== "mp4" && container !== "hls") return undefined;
  if (num(template.RemoveVideo) === 1) return undefined;
  const src = await source(ctx, input, o, s);
  if (!src) return undefined;
  const vt: Template = template.VideoTemplate ?? {};
  const fps = num(vt.Fps) > 0 ? num(vt.Fps) : src.fps;
  let unit: number | undefined = 1;
  if (container === "hls") unit = wholeFrames(num(vt.HlsTime) > 0 ? num(vt.HlsTime) : 10, fps);
  else if (num(vt.Gop) > 0)
    unit =
      str(vt.GopUnit, "frame").toLowerCase() === "second"
        ? Math.max(1, Math.round(num(vt.Gop) * fps))
        : Math.round(num(vt.Gop));
  return unit ? cutsOf(src, fps, unit, s) : undefined;
}

/** The cuts of an AdaptiveDynamicStreaming template (its segment length is the cadence). */
export async function planAdaptiveCuts(
  ctx: JobContext,
  input: string,
  template: Template,
  o: SplitOptions,
  s: SegmentSettings,
): Promise<CutPlan | undefined> {
  const infos: Template[] = Array.isArray(template.StreamInfos) ? template.StreamInfos : [];
  if (!infos.some((i) => num(i.RemoveVideo) !== 1)) return undefined;
  const src = await source(ctx, input, o, s);
  if (!src) return undefined;
  const first = infos.find((i) => num(i.RemoveVideo) !== 1);
  const fps = num(first?.Video?.Fps) > 0 ? num(first?.Video?.Fps) : src.fps;
  const segment = num(template.SegmentDuration) > 0 ? Math.min(10, num(template.SegmentDuration)) : 6;
  const unit = wholeFrames(segment, fps);
  return unit ? cutsOf(src, fps, unit, s) : undefined;
}
