// Video and audio stream parameters (VideoTemplateInfo, AudioTemplateInfo, TEHDConfig,
// EnhanceConfig), shared by transcode and adaptive-streaming templates. The checks accept what
// the spec allows AND ffmpeg here can really produce (tried with ffmpeg 5.1): e.g. the spec lets
// flv carry mp2 and m4a carry mp3, but ffmpeg's flv and ipod muxers refuse them, so openvod does.
import { runProcess } from "../../media/run.js";
import type { MediaTools } from "../../media/tools.js";
import { errors } from "../../protocol/errors.js";
import { checkFields, invalid, oneOf, range, RESOLUTION_ADAPTIVE, zeroOr, type RuleTable } from "./rules.js";

/** Containers that only hold audio (ContainerType "PureAudio"). */
export const PURE_AUDIO_CONTAINERS = ["mp3", "flac", "ogg", "m4a", "wav"];
export const CONTAINERS = ["mp4", "flv", "hls", ...PURE_AUDIO_CONTAINERS];

/** The stream kind a template's Container produces, as DescribeTranscodeTemplates reports it. */
export function containerType(container: string): "Video" | "PureAudio" {
  return PURE_AUDIO_CONTAINERS.includes(container) ? "PureAudio" : "Video";
}

/**
 * The ffmpeg encoder behind each audio Codec value a template may hold. "libfdk_aac" is what
 * the cloud reports; ffmpeg builds rarely have it, so it is encoded with ffmpeg's own aac.
 */
export const FFMPEG_AUDIO_ENCODER: Readonly<Record<string, string>> = {
  libfdk_aac: "aac",
  aac: "aac",
  libmp3lame: "libmp3lame",
  mp3: "libmp3lame",
  flac: "flac",
  ac3: "ac3",
  mp2: "mp2",
  pcm16: "pcm_s16le",
};

/** The ffmpeg encoders behind each video Codec value, best first (AV1: SVT-AV1 is far faster). */
export const FFMPEG_VIDEO_ENCODERS: Readonly<Record<string, readonly string[]>> = {
  libx264: ["libx264"],
  libx265: ["libx265"],
  av1: ["libsvtav1", "libaom-av1"],
};

/** "adaptive" stands for the renditions of an adaptive-streaming template (HLS or MPEG-DASH). */
type Target = string;

const AAC = ["libfdk_aac", "aac"];
const MP3 = ["libmp3lame", "mp3"];
const AUDIO_CODECS: Record<Target, string[]> = {
  mp4: [...AAC, ...MP3, "mp2"],
  flv: [...AAC, ...MP3],
  hls: AAC,
  adaptive: AAC,
  m4a: [...AAC, "ac3"],
  mp3: MP3,
  ogg: ["flac"],
  flac: ["flac"],
  wav: ["pcm16"],
};

const VIDEO_CODECS: Record<Target, string[]> = {
  mp4: ["libx264", "libx265", "av1"],
  hls: ["libx264", "libx265"],
  adaptive: ["libx264", "libx265"],
  flv: ["libx264"],
};

const VIDEO_RULES: RuleTable = {
  Fps: range(0, 100),
  Bitrate: [zeroOr(128, 100000), "VideoBitrate"],
  ResolutionAdaptive: RESOLUTION_ADAPTIVE,
  Width: zeroOr(128, 8192),
  Height: zeroOr(128, 8192),
  FillType: oneOf("stretch", "black", "white", "gauss"),
  Vcrf: zeroOr(1, 51),
  Gop: range(0, 100000),
  GopUnit: oneOf("frame", "second"),
  PreserveHDRSwitch: oneOf("ON", "OFF"),
  CodecTag: oneOf("hvc1", "hev1"),
  Mode: oneOf("VBR", "ABR", "CBR", "VCRF"),
  Bframes: range(0, 16),
  HlsTime: range(0, 10),
  VideoProfile: oneOf("baseline", "main", "high", "default"),
};

const AUDIO_RULES: RuleTable = {
  Bitrate: [zeroOr(26, 256), "AudioBitrate"],
  SampleRate: oneOf(16000, 32000, 44100, 48000),
  AudioChannel: oneOf(0, 1, 2, 6),
};

function required(obj: Record<string, any> | null | undefined, path: string): Record<string, any> {
  if (!obj) throw errors.missingParameter(`The parameter \`${path}\` is missing.`);
  return obj;
}

function requiredCodec(obj: Record<string, any>, path: string): string {
  if (typeof obj.Codec !== "string" || obj.Codec === "")
    throw errors.missingParameter(`The parameter \`${path}Codec\` is missing.`);
  return obj.Codec;
}

export function checkVideo(video: Record<string, any> | undefined, path: string, target: Target): void {
  const v = required(video, path.slice(0, -1));
  const codec = requiredCodec(v, path);
  if (codec === "H.266")
    throw invalid("VideoCodec", "H.266 (VVC) is not supported by openvod: its ffmpeg has no VVC encoder.");
  if (!FFMPEG_VIDEO_ENCODERS[codec])
    throw invalid("VideoCodec", `${path}Codec must be one of "libx264", "libx265", "av1"; got "${codec}".`);
  const allowed = VIDEO_CODECS[target] ?? [];
  if (!allowed.includes(codec)) {
    const where = target === "adaptive" ? "adaptive streaming" : `the ${target} container`;
    throw invalid("VideoCodec", `${codec} cannot be used with ${where}; use ${allowed.join(" or ")}.`);
  }
  checkFields(v, VIDEO_RULES, path);
}

export function checkAudio(audio: Record<string, any> | undefined, path: string, target: Target): void {
  const a = required(audio, path.slice(0, -1));
  const codec = requiredCodec(a, path);
  if (!FFMPEG_AUDIO_ENCODER[codec]) {
    const known = Object.keys(FFMPEG_AUDIO_ENCODER).join(", ");
    throw invalid("AudioCodec", `${path}Codec must be one of ${known}; got "${codec}".`);
  }
  const allowed = AUDIO_CODECS[target] ?? [];
  if (!allowed.includes(codec)) {
    const where = target === "adaptive" ? "adaptive streaming" : `the ${target} container`;
    throw invalid("AudioCodec", `${codec} audio cannot be used with ${where}; use ${allowed.join(" or ")}.`);
  }
  checkFields(a, AUDIO_RULES, path);
  if (a.SampleRate === 16000 && codec === "ac3")
    throw invalid("SampleRate", "ac3 audio supports 32000, 44100 and 48000 Hz only.");
  if (a.AudioChannel === 6 && (MP3.includes(codec) || codec === "mp2"))
    throw invalid("AudioChannel", `${codec} audio has at most 2 channels.`);
  if (a.AudioChannel === 6 && ["mp3", "flac", "ogg", "m4a"].includes(target))
    throw invalid("AudioChannel", `AudioChannel 6 is not allowed for the ${target} container.`);
}

/** TEHD ("极速高清") is a proprietary Tencent encoder mode: only "" and OFF are accepted. */
export function checkTehd(tehd: Record<string, any> | null | undefined, path: string): void {
  if (tehd && tehd.Type !== undefined && tehd.Type !== "" && tehd.Type !== "OFF")
    throw invalid("TEHDType", `${path}Type ${tehd.Type} is not supported by openvod; use OFF.`);
}

/** AI enhancement (super resolution, denoise, ...) is not something openvod does. */
export function checkEnhance(enhance: Record<string, any> | null | undefined, path: string): void {
  const on = (o: unknown): boolean =>
    typeof o === "object" &&
    o !== null &&
    Object.entries(o).some(([k, v]) => (k === "Switch" ? v === "ON" : on(v)));
  if (on(enhance))
    throw errors.unsupportedOperation(
      `${path.slice(0, -1)}: audio/video enhancement is not supported by openvod.`,
    );
}

/** Extension parameters of the cloud's encoders have no meaning for ffmpeg. */
export function checkNoExtInfo(value: unknown, path: string): void {
  if (value) throw invalid("StdExtInfo", `${path} is not supported by openvod.`);
}

const encoderLists = new Map<string, Promise<Set<string>>>();

/** The encoders this ffmpeg has (`ffmpeg -encoders`), asked once per executable. */
function ffmpegEncoders(tools: MediaTools): Promise<Set<string>> {
  let list = encoderLists.get(tools.ffmpeg);
  if (!list) {
    list = runProcess({
      name: "ffmpeg",
      command: tools.ffmpeg,
      args: ["-hide_banner", "-encoders"],
      timeoutMs: 15_000,
      collectStdoutMax: 1 << 20,
    }).then(({ stdout }) => {
      const names = stdout
        .toString()
        .split("\n")
        .map((line) => /^\s*[VAS][A-Z.]{5}\s+(\S+)/.exec(line)?.[1])
        .filter((n): n is string => !!n && n !== "=");
      return new Set(names);
    });
    list.catch(() => encoderLists.delete(tools.ffmpeg));
    encoderLists.set(tools.ffmpeg, list);
  }
  return list;
}

/**
 * Refuses codecs this server's ffmpeg cannot encode (e.g. a build without any AV1 encoder):
 * a template is only accepted when its tasks can really run.
 */
export async function checkEncoders(
  tools: MediaTools,
  streams: Array<{ video?: Record<string, any>; audio?: Record<string, any> }>,
): Promise<void> {
  const have = await ffmpegEncoders(tools);
  for (const { video, audio } of streams) {
    const wanted: Array<[string, string, readonly string[]]> = [];
    if (video) wanted.push(["VideoCodec", video.Codec, FFMPEG_VIDEO_ENCODERS[video.Codec] ?? []]);
    if (audio) wanted.push(["AudioCodec", audio.Codec, [FFMPEG_AUDIO_ENCODER[audio.Codec] ?? ""]]);
    for (const [sub, codec, encoders] of wanted)
      if (!encoders.some((e) => have.has(e)))
        throw invalid(
          sub,
          `This server's ffmpeg has no encoder for ${codec} (looked for ${encoders.join(", ")}).`,
        );
  }
}
