// The source file of a job: probed once, with what its streams are and how long it plays.
import { stat } from "node:fs/promises";
import path from "node:path";
import { interpretProbe, NotMediaError, rotation, type FfprobeOutput, type FfprobeStream } from "../probe.js";
import { MediaError, runFfprobe } from "../run.js";
import { badParameter, badSource, JobError, type JobContext } from "./types.js";
import { Budget, clean, mapError } from "./ffmpeg.js";
import { num } from "./values.js";

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
    if (err instanceof NotMediaError) throw badSource(err.message);
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
