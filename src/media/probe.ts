// ffprobe → the VOD MediaMetaData shape (api.json objects.MediaMetaData, MediaVideoStreamItem,
// MediaAudioStreamItem, DynamicRangeInfo), plus the media Category and a short file type.

import { stat } from "node:fs/promises";
import path from "node:path";
import { MediaError, runFfprobe } from "./run.js";
import type { MediaTools } from "./tools.js";
import { webpInfo } from "./webp.js";

export interface DynamicRangeInfo {
  /** "SDR" or "HDR". */
  Type: string;
  /** "hdr10" or "hlg" when Type is "HDR", else "". */
  HDRType: string;
}

export interface MediaVideoStreamItem {
  Bitrate: number;
  Height: number;
  Width: number;
  Codec: string;
  Fps: number;
  CodecTag: string;
  DynamicRangeInfo: DynamicRangeInfo;
}

export interface MediaAudioStreamItem {
  Bitrate: number;
  SamplingRate: number;
  Codec: string;
}

export interface MediaMetaData {
  Size: number;
  Container: string;
  Bitrate: number;
  Height: number;
  Width: number;
  Duration: number;
  Rotate: number;
  VideoStreamSet: MediaVideoStreamItem[];
  AudioStreamSet: MediaAudioStreamItem[];
  VideoDuration: number;
  AudioDuration: number;
  Md5: string;
}

export type MediaCategory = "Video" | "Audio" | "Image";

export interface ProbedMedia {
  metaData: MediaMetaData;
  category: MediaCategory;
  /** Short file type for MediaBasicInfo.Type, e.g. "mp4", "m4a", "mkv", "png". */
  formatName: string;
}

/** The part of `ffprobe -print_format json -show_format -show_streams` that is read here. */
export interface FfprobeStream {
  index?: number;
  codec_name?: string;
  codec_type?: string;
  codec_tag_string?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  sample_rate?: string;
  bit_rate?: string;
  duration?: string;
  nb_frames?: string;
  color_transfer?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number | string }>;
}

export interface FfprobeFormat {
  filename?: string;
  format_name?: string;
  duration?: string;
  size?: string;
  bit_rate?: string;
  tags?: Record<string, string>;
}

export interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: FfprobeFormat;
}

/**
 * The file is not media openvod can read: missing, not a regular file, empty, refused by ffprobe,
 * or without an audio or video stream. The file's fault, never the tools' (a missing or crashed
 * ffprobe is a MediaError). What it means depends on the caller: a task's 60000 SourceFileError
 * (src/workers/failures.ts), a job's JobError 60000, an API parameter error.
 */
export class NotMediaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotMediaError";
  }
}

/**
 * Probes a local media file. Throws NotMediaError for a missing, empty or unreadable file and
 * for a file without audio or video; a MediaError of kind "spawn" or "aborted" (an
 * infrastructure problem, not the file's) is passed through. `label` names the file in those
 * messages for what it is ("output animated-10.gif"; default "source file <name>").
 */
export async function probeMedia(
  tools: MediaTools,
  file: string,
  timeoutMs = 60_000,
  signal?: AbortSignal,
  label?: string,
): Promise<ProbedMedia> {
  return (await probeMediaRaw(tools, file, timeoutMs, signal, label)).probed;
}

/** probeMedia, plus ffprobe's own output and the size, for callers that read more of it. */
export async function probeMediaRaw(
  tools: MediaTools,
  file: string,
  timeoutMs = 60_000,
  signal?: AbortSignal,
  label?: string,
): Promise<{ probed: ProbedMedia; data: FfprobeOutput; size: number }> {
  const name = path.basename(file);
  const what = label ?? `source file ${name}`;
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new NotMediaError(`The ${what} is not a regular file.`);
    size = st.size;
  } catch (err) {
    if (err instanceof NotMediaError) throw err;
    throw new NotMediaError(`The ${what} does not exist.`);
  }
  if (size === 0) throw new NotMediaError(`The ${what} is empty (0 bytes).`);

  const absolute = path.resolve(file);
  let stdout: string;
  try {
    // "file:" keeps a name starting with "-" or containing ":" from being read as an option or protocol.
    stdout = await runFfprobe(
      tools,
      ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", `file:${absolute}`],
      timeoutMs,
      signal,
    );
  } catch (err) {
    // A crashed ffprobe says nothing about the file: it goes up as the internal error it is.
    if (err instanceof MediaError && ((err.kind === "exit" && !err.crashed) || err.kind === "timeout")) {
      const detail = lastLine(err.stderrTail) || err.message;
      // Server paths do not belong in a task's Message.
      const clean = detail.split(`file:${absolute}`).join(name).split(absolute).join(name);
      throw new NotMediaError(`The ${what} could not be read as media: ${clean}`);
    }
    throw err;
  }

  let parsed: FfprobeOutput;
  try {
    parsed = JSON.parse(stdout) as FfprobeOutput;
  } catch {
    throw new NotMediaError(`The ${what} could not be read as media: unparsable ffprobe output.`);
  }
  const probed = interpretProbe(parsed, { file, size }, what);
  return { probed: await withWebpCanvas(probed, parsed, absolute), data: parsed, size };
}

/** ffprobe's 0x0 for an animated WebP replaced by the canvas its VP8X chunk states. */
async function withWebpCanvas(probed: ProbedMedia, data: FfprobeOutput, file: string): Promise<ProbedMedia> {
  const m = probed.metaData;
  if (m.Width > 0 || !data.streams?.some((s) => s.codec_name === "webp")) return probed;
  const canvas = await webpInfo(file).catch(() => undefined);
  if (!canvas) return probed;
  const sized = (v: MediaVideoStreamItem) =>
    v.Codec === "webp" && v.Width === 0 ? { ...v, Width: canvas.width, Height: canvas.height } : v;
  const VideoStreamSet = m.VideoStreamSet.map(sized);
  return {
    ...probed,
    metaData: {
      ...m,
      VideoStreamSet,
      Width: Math.max(0, ...VideoStreamSet.map((v) => v.Width)),
      Height: Math.max(0, ...VideoStreamSet.map((v) => v.Height)),
    },
  };
}

const IMAGE_CODECS = new Set([
  "mjpeg",
  "png",
  "apng",
  "webp",
  "bmp",
  "gif",
  "tiff",
  "jpeg2000",
  "jpegls",
  "ppm",
  "pgm",
  "pbm",
  "pam",
  "targa",
  "sgi",
  "qoi",
  "exr",
  "dpx",
]);

/** Demuxers that only ever read still images (or GIF/APNG/animated WebP, which VOD files under Image). */
function isImageFormat(token: string): boolean {
  return (
    token === "image2" ||
    token === "image2pipe" ||
    token.endsWith("_pipe") ||
    token === "gif" ||
    token === "apng" ||
    token === "webp"
  );
}

/** Demuxers that accept nearly anything and are never media. */
const NOT_MEDIA_FORMATS = new Set(["tty", "data", "bin"]);

/** Pure mapping of ffprobe JSON to ProbedMedia; `size` is the file size in bytes, `label` as for probeMedia. */
export function interpretProbe(
  data: FfprobeOutput,
  source: { file: string; size: number },
  label = `source file ${path.basename(source.file)}`,
): ProbedMedia {
  const format = data.format ?? {};
  const container = format.format_name ?? "";
  const tokens = container.split(",").filter(Boolean);
  const streams = data.streams ?? [];
  const video = streams.filter(
    (s) =>
      s.codec_type === "video" && s.disposition?.attached_pic !== 1 && s.disposition?.timed_thumbnails !== 1,
  );
  const audio = streams.filter((s) => s.codec_type === "audio");

  if (tokens.some((t) => NOT_MEDIA_FORMATS.has(t)) || (video.length === 0 && audio.length === 0)) {
    throw new NotMediaError(`The ${label} has no audio or video stream.`);
  }

  const category: MediaCategory =
    audio.length > 0 ? (video.length > 0 ? "Video" : "Audio") : isImage(tokens, video) ? "Image" : "Video";
  const still = category === "Image";

  const formatDuration = nonNegative(format.duration);
  const streamDurations = streams.map(streamDuration).filter((d): d is number => d !== undefined);
  const duration = still
    ? 0
    : (formatDuration ?? (streamDurations.length ? Math.max(...streamDurations) : 0));

  const VideoStreamSet = video.map((s) => videoItem(s, still));
  const AudioStreamSet = audio.map(audioItem);

  let bitrate = still ? 0 : (nonNegative(format.bit_rate) ?? 0);
  if (!still && bitrate === 0) {
    bitrate = [...VideoStreamSet, ...AudioStreamSet].reduce((sum, s) => sum + s.Bitrate, 0);
    if (bitrate === 0 && duration > 0) bitrate = (source.size * 8) / duration;
  }

  const metaData: MediaMetaData = {
    Size: source.size,
    Container: container,
    Bitrate: Math.round(bitrate),
    // api.json: "the maximum of the video streams' heights/widths" (coded, before rotation).
    Height: Math.max(0, ...VideoStreamSet.map((v) => v.Height)),
    Width: Math.max(0, ...VideoStreamSet.map((v) => v.Width)),
    Duration: duration,
    Rotate: video[0] ? rotation(video[0]) : 0,
    VideoStreamSet,
    AudioStreamSet,
    VideoDuration: still || !video[0] ? 0 : (streamDuration(video[0]) ?? duration),
    AudioDuration: audio[0] ? (streamDuration(audio[0]) ?? duration) : 0,
    Md5: "",
  };
  return { metaData, category, formatName: fileType(tokens, source.file, format, video, audio) };
}

function isImage(tokens: string[], video: FfprobeStream[]): boolean {
  if (video.length === 0) return false;
  if (tokens.some(isImageFormat)) return true;
  // A single-frame picture inside a general container (e.g. one mjpeg frame).
  return video.every((s) => {
    if (!IMAGE_CODECS.has(s.codec_name ?? "")) return false;
    const frames = nonNegative(s.nb_frames);
    return frames !== undefined ? frames <= 1 : streamDuration(s) === undefined;
  });
}

function videoItem(s: FfprobeStream, still: boolean): MediaVideoStreamItem {
  return {
    Bitrate: still ? 0 : streamBitrate(s),
    Height: int(s.height),
    Width: int(s.width),
    Codec: s.codec_name ?? "",
    Fps: still ? 0 : fps(s),
    CodecTag: codecTag(s.codec_tag_string),
    DynamicRangeInfo: dynamicRange(s.color_transfer),
  };
}

function audioItem(s: FfprobeStream): MediaAudioStreamItem {
  return { Bitrate: streamBitrate(s), SamplingRate: int(s.sample_rate), Codec: s.codec_name ?? "" };
}

export function dynamicRange(colorTransfer: string | undefined): DynamicRangeInfo {
  switch (colorTransfer) {
    case "smpte2084":
      return { Type: "HDR", HDRType: "hdr10" };
    case "arib-std-b67":
      return { Type: "HDR", HDRType: "hlg" };
    default:
      return { Type: "SDR", HDRType: "" };
  }
}

/**
 * Clockwise rotation in degrees (0/90/180/270), as phones record it. Old ffprobe reports it as
 * tags.rotate (clockwise); newer ones as the display matrix `rotation`, which is counterclockwise.
 */
export function rotation(s: FfprobeStream): number {
  let clockwise: number | undefined;
  const tag = s.tags?.rotate;
  if (tag !== undefined && Number.isFinite(Number(tag))) clockwise = Number(tag);
  else {
    const matrix = s.side_data_list?.find(
      (d) => d.side_data_type === "Display Matrix" && d.rotation !== undefined,
    );
    if (matrix && Number.isFinite(Number(matrix.rotation))) clockwise = -Number(matrix.rotation);
  }
  if (clockwise === undefined) return 0;
  const quarter = Math.round(clockwise / 90) * 90;
  return ((quarter % 360) + 360) % 360;
}

function fps(s: FfprobeStream): number {
  return Math.round(rate(s.avg_frame_rate) ?? rate(s.r_frame_rate) ?? 0);
}

function rate(r: string | undefined): number | undefined {
  if (!r) return undefined;
  const [num, den] = r.split("/").map(Number);
  if (num === undefined || !Number.isFinite(num)) return undefined;
  const value = den === undefined ? num : den > 0 ? num / den : NaN;
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function codecTag(tag: string | undefined): string {
  // ffprobe prints a zero tag (Matroska, MPEG-TS...) as "[0][0][0][0]".
  if (!tag || /^(\[\d+\])+$/.test(tag)) return "";
  return tag;
}

function streamBitrate(s: FfprobeStream): number {
  // Matroska keeps per-stream statistics in tags (BPS, or BPS-eng from mkvmerge).
  const v = nonNegative(s.bit_rate) ?? nonNegative(s.tags?.BPS) ?? nonNegative(s.tags?.["BPS-eng"]);
  return v === undefined ? 0 : Math.round(v);
}

function streamDuration(s: FfprobeStream): number | undefined {
  const d = nonNegative(s.duration);
  if (d !== undefined) return d;
  const tag = s.tags?.DURATION ?? s.tags?.["DURATION-eng"];
  return tag ? parseClock(tag) : undefined;
}

/** "HH:MM:SS.fraction" → seconds. */
function parseClock(v: string): number | undefined {
  const m = /^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/** Extensions each demuxer (one token of format_name) accepts as the file's own type. */
const EXTENSIONS: Record<string, string[]> = {
  mov: ["mov", "qt"],
  mp4: ["mp4", "m4v", "f4v"],
  m4a: ["m4a"],
  "3gp": ["3gp"],
  "3g2": ["3g2"],
  mj2: ["mj2"],
  matroska: ["mkv", "mka", "mk3d"],
  webm: ["webm"],
  mpegts: ["ts", "m2ts", "mts", "m2t"],
  hls: ["m3u8"],
  mpeg: ["mpg", "mpeg", "vob"],
  asf: ["wmv", "wma", "asf"],
  avi: ["avi"],
  flv: ["flv"],
  rm: ["rm", "rmvb"],
  mp3: ["mp3"],
  wav: ["wav"],
  ogg: ["ogg", "oga", "ogv", "opus"],
  flac: ["flac"],
  aac: ["aac"],
  amr: ["amr"],
  ac3: ["ac3"],
  eac3: ["eac3", "ec3"],
  image2: ["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff", "gif", "jp2"],
  png_pipe: ["png"],
  jpeg_pipe: ["jpg", "jpeg"],
  webp_pipe: ["webp"],
  bmp_pipe: ["bmp"],
  gif_pipe: ["gif"],
  tiff_pipe: ["tif", "tiff"],
  gif: ["gif"],
  apng: ["apng", "png"],
  webp: ["webp"],
};

const IMAGE_TYPE_BY_CODEC: Record<string, string> = {
  mjpeg: "jpg",
  png: "png",
  apng: "png",
  webp: "webp",
  bmp: "bmp",
  gif: "gif",
  tiff: "tiff",
  jpeg2000: "jp2",
};

/** A short file type: the file's extension when the demuxer accepts it, else a canonical name. */
function fileType(
  tokens: string[],
  file: string,
  format: FfprobeFormat,
  video: FfprobeStream[],
  audio: FfprobeStream[],
): string {
  const ext = path.extname(file).slice(1).toLowerCase();
  if (ext && tokens.some((t) => EXTENSIONS[t]?.includes(ext))) return ext;
  const first = tokens[0] ?? "";
  if (tokens.includes("mp4") || tokens.includes("mov")) {
    const brand = (format.tags?.major_brand ?? "").trim().toLowerCase();
    if (brand === "qt") return "mov";
    if (brand === "m4a" || (video.length === 0 && audio.length > 0)) return "m4a";
    if (brand.startsWith("3gp")) return "3gp";
    if (brand.startsWith("3g2")) return "3g2";
    return "mp4";
  }
  if (tokens.includes("matroska")) {
    const webmCodecs = new Set(["vp8", "vp9", "av1", "opus", "vorbis"]);
    return [...video, ...audio].every((s) => webmCodecs.has(s.codec_name ?? "")) ? "webm" : "mkv";
  }
  if (tokens.some(isImageFormat))
    return IMAGE_TYPE_BY_CODEC[video[0]?.codec_name ?? ""] ?? first.replace(/_pipe$/, "");
  const canonical: Record<string, string> = {
    mpegts: "ts",
    hls: "m3u8",
    mpeg: "mpg",
    asf: video.length ? "wmv" : "wma",
  };
  return canonical[first] ?? first;
}

function int(v: number | string | undefined): number {
  const n = Number(v);
  return Number.isFinite(n) ? Math.round(n) : 0;
}

function nonNegative(v: number | string | undefined): number | undefined {
  if (v === undefined || v === "" || v === "N/A") return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop()?.trim() ?? "";
}
