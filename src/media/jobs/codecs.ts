// Cloud codec and container names → ffmpeg encoders, muxers and rate-control options.

import { type Capabilities } from "./caps.js";
import { type SourceInfo } from "./source.js";
import { num, str } from "./values.js";
import { badParameter, internalError, type Template } from "./types.js";

const EXTENSIONS: Record<string, string> = {
  mp4: "mp4",
  hls: "m3u8",
  flv: "flv",
  mp3: "mp3",
  m4a: "m4a",
  flac: "flac",
  ogg: "ogg",
  wav: "wav",
};

/** The file extension (no dot) of a TranscodeTemplate Container. */
export function containerExtension(container: string): string {
  const ext = EXTENSIONS[String(container ?? "").toLowerCase()];
  if (!ext) throw badParameter(`unsupported Container ${container}`);
  return ext;
}

/** Containers that hold audio only (ContainerType PureAudio). */
export const AUDIO_CONTAINERS = new Set(["mp3", "m4a", "flac", "ogg", "wav"]);

/** The ffmpeg muxer of a container (hls is handled by the caller). */
export function muxerOf(container: string): string {
  switch (container) {
    case "m4a":
      // "ipod" (ffmpeg's pick for .m4a) refuses mp3/ac3; mp4 with the M4A brand holds them all.
      return "mp4";
    default:
      return container;
  }
}

export interface VideoCodec {
  /** ffmpeg encoder. */
  encoder: string;
  /** ffprobe codec_name of the result. */
  codec: "h264" | "hevc" | "av1";
}

export async function videoCodec(name: unknown, caps: Capabilities): Promise<VideoCodec> {
  const n = str(name, "libx264").toLowerCase();
  const pick = (encoder: string, codec: VideoCodec["codec"]): VideoCodec => {
    if (!caps.encoders.has(encoder)) throw internalError(`this ffmpeg build has no ${encoder} encoder`);
    return { encoder, codec };
  };
  if (n === "libx264" || n === "h264" || n === "h.264") return pick("libx264", "h264");
  if (n === "libx265" || n === "h265" || n === "h.265" || n === "hevc") return pick("libx265", "hevc");
  if (n === "av1" || n === "libaom-av1" || n === "libsvtav1") {
    for (const enc of ["libsvtav1", "libaom-av1", "librav1e"])
      if (caps.encoders.has(enc)) return pick(enc, "av1");
    throw internalError("this ffmpeg build has no AV1 encoder");
  }
  if (n === "h.266" || n === "h266" || n === "vvc") {
    throw internalError("H.266 encoding is not available in openvod's ffmpeg");
  }
  throw badParameter(`unsupported video Codec ${String(name)}`);
}

export interface AudioCodec {
  encoder: string;
  codec: string;
  /** Whether a bitrate applies (not for lossless codecs). */
  lossy: boolean;
  defaultKbps: number;
}

const AUDIO: Record<string, AudioCodec> = {
  aac: { encoder: "aac", codec: "aac", lossy: true, defaultKbps: 128 },
  mp3: { encoder: "libmp3lame", codec: "mp3", lossy: true, defaultKbps: 128 },
  flac: { encoder: "flac", codec: "flac", lossy: false, defaultKbps: 0 },
  pcm16: { encoder: "pcm_s16le", codec: "pcm_s16le", lossy: false, defaultKbps: 0 },
  ac3: { encoder: "ac3", codec: "ac3", lossy: true, defaultKbps: 192 },
  mp2: { encoder: "mp2", codec: "mp2", lossy: true, defaultKbps: 192 },
  opus: { encoder: "libopus", codec: "opus", lossy: true, defaultKbps: 96 },
  vorbis: { encoder: "libvorbis", codec: "vorbis", lossy: true, defaultKbps: 128 },
};

const AUDIO_ALIASES: Record<string, string> = {
  libfdk_aac: "aac",
  aac: "aac",
  libmp3lame: "mp3",
  mp3: "mp3",
  flac: "flac",
  pcm16: "pcm16",
  pcm_s16le: "pcm16",
  ac3: "ac3",
  mp2: "mp2",
  libopus: "opus",
  opus: "opus",
  libvorbis: "vorbis",
  vorbis: "vorbis",
};

/** The default audio codec of each container (AudioTemplateInfo lists one or more per container). */
const DEFAULT_AUDIO: Record<string, string> = {
  mp4: "aac",
  hls: "aac",
  flv: "aac",
  m4a: "aac",
  mp3: "mp3",
  flac: "flac",
  ogg: "flac",
  wav: "pcm16",
  dash: "aac",
};

/** What each container can hold (wider than the cloud's lists where ffmpeg's muxers allow). */
const CONTAINER_AUDIO: Record<string, string[]> = {
  mp4: ["aac", "mp3", "mp2", "ac3", "flac", "opus"],
  hls: ["aac", "mp3", "ac3"],
  flv: ["aac", "mp3"],
  m4a: ["aac", "mp3", "ac3", "flac", "opus"],
  mp3: ["mp3"],
  flac: ["flac"],
  ogg: ["flac", "vorbis", "opus"],
  wav: ["pcm16"],
  dash: ["aac", "opus", "ac3"],
};

const CONTAINER_VIDEO: Record<string, string[]> = {
  mp4: ["h264", "hevc", "av1"],
  hls: ["h264", "hevc"],
  flv: ["h264"],
  dash: ["h264", "hevc", "av1"],
};

export function audioCodec(name: unknown, container: string, caps: Capabilities): AudioCodec {
  const raw = str(name).toLowerCase();
  const key = raw ? AUDIO_ALIASES[raw] : DEFAULT_AUDIO[container];
  if (!key) throw badParameter(`unsupported audio Codec ${String(name)}`);
  const allowed = CONTAINER_AUDIO[container];
  if (allowed && !allowed.includes(key)) {
    throw badParameter(`audio Codec ${raw || key} cannot be stored in a ${container} container`);
  }
  const c = AUDIO[key]!;
  if (!caps.encoders.has(c.encoder)) throw internalError(`this ffmpeg build has no ${c.encoder} encoder`);
  return c;
}

export function checkVideoContainer(codec: VideoCodec, container: string): void {
  const allowed = CONTAINER_VIDEO[container];
  if (!allowed) throw badParameter(`a ${container} container holds no video`);
  if (!allowed.includes(codec.codec)) {
    throw badParameter(`video codec ${codec.codec} cannot be stored in a ${container} container`);
  }
}

/** Audio encoder options for an AudioTemplateInfo (stream specifier e.g. "a" or "a:1"). */
export function audioArgs(
  spec: string,
  c: AudioCodec,
  t: Template,
  sourceChannels: number,
  container = "",
): string[] {
  const args = [`-c:${spec}`, c.encoder];
  if (c.lossy) args.push(`-b:${spec}`, `${num(t.Bitrate) > 0 ? Math.round(num(t.Bitrate)) : c.defaultKbps}k`);
  let rate = Math.round(num(t.SampleRate));
  // MP3 in FLV only exists at 44.1 kHz and its halves; Opus only at 48 kHz (and below).
  if (container === "flv" && c.codec === "mp3" && ![44100, 22050, 11025].includes(rate)) rate = 44100;
  if (c.codec === "opus" && ![48000, 24000, 16000, 12000, 8000].includes(rate)) rate = 48000;
  if (rate > 0) args.push(`-ar:${spec}`, String(rate));
  // AudioChannel: absent → 2 (the cloud's default), 0 → as the source.
  let channels = t.AudioChannel === undefined || t.AudioChannel === null ? 2 : num(t.AudioChannel);
  if (channels <= 0) channels = sourceChannels > 0 ? sourceChannels : 2;
  if (c.codec === "mp3" || c.codec === "mp2") channels = Math.min(channels, 2);
  args.push(`-ac:${spec}`, String(Math.round(channels)));
  return args;
}

export interface VideoEncodeOptions {
  /** Stream specifier ("v", "v:0"...). */
  spec: string;
  codec: VideoCodec;
  template: Template;
  /** Output frame rate (for a Gop given in seconds and the HLS keyframe interval). */
  fps: number;
  threads: number;
  /** Force a keyframe at every multiple of this many seconds (HLS/DASH segments). */
  keyframeEvery?: number;
  /** Clamp a template bitrate to this (bps; DisableHigherVideoBitrate). */
  maxBitrate?: number;
  /** mp4-family output (hvc1/hev1 tag). */
  mp4: boolean;
  /** Keep a 10-bit HDR picture (PreserveHDRSwitch ON on an HDR source, x265/AV1 only). */
  hdr10bit?: boolean;
}

/** Encoder options: codec, preset, rate control, GOP, B-frames, profile, threads. */
export function videoArgs(o: VideoEncodeOptions): { args: string[]; bitrateKbps: number } {
  const { spec, codec, template: t } = o;
  const s = (opt: string) => `-${opt}:${spec}`;
  const threads = String(Math.max(1, o.threads));
  const args = [s("c"), codec.encoder, s("threads"), threads];
  let kbps = Math.round(num(t.Bitrate));
  if (kbps > 0 && o.maxBitrate && o.maxBitrate > 0)
    kbps = Math.min(kbps, Math.max(1, Math.round(o.maxBitrate / 1000)));
  const vcrf = Math.round(num(t.Vcrf));
  const mode = str(t.Mode, "VBR").toUpperCase();
  const crf = vcrf > 0 ? vcrf : mode === "VCRF" || kbps <= 0 ? 0 : -1;
  switch (codec.encoder) {
    case "libx264":
      args.push(s("preset"), "veryfast");
      break;
    case "libx265": {
      args.push(s("preset"), "veryfast");
      // x265 sizes its own thread pool from the machine, not from -threads.
      args.push(
        s("x265-params"),
        `pools=${threads}:frame-threads=${Math.min(Number(threads), 4)}:log-level=error`,
      );
      break;
    }
    case "libsvtav1":
      args.push(s("preset"), "10", s("svtav1-params"), `lp=${threads}`);
      break;
    case "libaom-av1":
      args.push(s("cpu-used"), "8", s("row-mt"), "1");
      break;
    case "librav1e":
      args.push(s("speed"), "10");
      break;
  }
  if (crf >= 0) {
    const value = crf > 0 ? crf : codec.codec === "h264" ? 23 : codec.codec === "hevc" ? 28 : 35;
    if (codec.encoder === "librav1e") args.push(s("qp"), String(Math.round(value * 4)));
    else args.push(s("crf"), String(value));
    if (codec.encoder === "libaom-av1") args.push(s("b"), "0");
    if (kbps > 0 && codec.encoder !== "libsvtav1") {
      // A template bitrate with Vcrf still caps the peaks.
      args.push(s("maxrate"), `${kbps}k`, s("bufsize"), `${kbps * 2}k`);
    }
  } else {
    args.push(s("b"), `${kbps}k`);
    if (codec.encoder !== "libsvtav1" && codec.encoder !== "librav1e") {
      if (mode === "CBR")
        args.push(s("minrate"), `${kbps}k`, s("maxrate"), `${kbps}k`, s("bufsize"), `${kbps}k`);
      else if (mode === "VBR")
        args.push(s("maxrate"), `${Math.round(kbps * 1.5)}k`, s("bufsize"), `${kbps * 2}k`);
    }
  }
  const gop = Math.round(num(t.Gop));
  if (gop > 0) {
    const frames = str(t.GopUnit, "frame").toLowerCase() === "second" ? Math.round(gop * (o.fps || 25)) : gop;
    args.push(s("g"), String(Math.max(1, frames)));
  }
  if (o.keyframeEvery && o.keyframeEvery > 0) {
    args.push(s("force_key_frames"), `expr:gte(t,n_forced*${o.keyframeEvery})`);
    if (gop <= 0) args.push(s("g"), String(Math.max(1, Math.round((o.fps || 25) * o.keyframeEvery))));
    if (codec.encoder === "libx264" || codec.encoder === "libx265") args.push(s("sc_threshold"), "0");
  }
  if (
    t.Bframes !== undefined &&
    t.Bframes !== null &&
    num(t.Bframes, -1) >= 0 &&
    codec.encoder.startsWith("libx26")
  ) {
    args.push(s("bf"), String(Math.min(16, Math.round(num(t.Bframes)))));
  }
  const profile = str(t.VideoProfile).toLowerCase();
  if (codec.encoder === "libx264" && ["baseline", "main", "high"].includes(profile))
    args.push(s("profile"), profile);
  if (codec.codec === "hevc" && o.mp4)
    args.push(s("tag"), str(t.CodecTag).toLowerCase() === "hev1" ? "hev1" : "hvc1");
  args.push(s("pix_fmt"), o.hdr10bit ? "yuv420p10le" : "yuv420p");
  return { args, bitrateKbps: kbps };
}

/**
 * Colour handling before scaling. An HDR source (PQ or HLG) is tone-mapped to SDR BT.709 unless
 * PreserveHDRSwitch is ON and the codec can carry 10-bit (x265, AV1); needs the zscale filter
 * (libzimg), else the picture is only converted (washed-out colours, but decodable).
 */
export function colorPlan(
  src: SourceInfo,
  t: Template,
  codec: VideoCodec,
  caps: Capabilities,
): { pre: string[]; post: string[]; hdr10bit: boolean; colorArgs: (spec: string) => string[] } {
  const none = { pre: [], post: ["format=yuv420p"], hdr10bit: false, colorArgs: () => [] };
  if (!src.hdr) return none;
  const trc = src.hdr === "hlg" ? "arib-std-b67" : "smpte2084";
  if (str(t.PreserveHDRSwitch).toUpperCase() === "ON" && (codec.codec === "hevc" || codec.codec === "av1")) {
    return {
      pre: [],
      post: ["format=yuv420p10le"],
      hdr10bit: true,
      colorArgs: (spec) => [
        `-color_primaries:${spec}`,
        "bt2020",
        `-color_trc:${spec}`,
        trc,
        `-colorspace:${spec}`,
        "bt2020nc",
      ],
    };
  }
  if (!caps.filters.has("zscale") || !caps.filters.has("tonemap")) return none;
  return {
    pre: [
      `zscale=t=linear:npl=100`,
      "format=gbrpf32le",
      "zscale=p=bt709",
      "tonemap=tonemap=hable:desat=0",
      "zscale=t=bt709:m=bt709:r=tv",
    ],
    post: ["format=yuv420p"],
    hdr10bit: false,
    colorArgs: (spec) => [
      `-color_primaries:${spec}`,
      "bt709",
      `-color_trc:${spec}`,
      "bt709",
      `-colorspace:${spec}`,
      "bt709",
    ],
  };
}
