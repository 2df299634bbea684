// Audio/picture "rebuild" (RebuildMedia, EnhanceMediaQuality and their templates): what each
// switch becomes in ffmpeg's own filters, and the RebuildMedia / EnhanceMedia template families
// (the same item, RebuildMediaTemplate). What the cloud does with neural models and ffmpeg has
// no filter for (face enhancement, scratch repair, SDR→HDR) is refused naming the field.
// Super-resolution is filter-based: lanczos upscaling (after a light denoise for Type lq), not a
// model.
import { checkAudio, checkVideo } from "./av.js";
import { mergeFamily } from "./merge.js";
import { checkFields, invalid, NAME_AND_COMMENT, oneOf, range } from "./rules.js";
import type { FamilyDescriptor, TemplateBody } from "./types.js";

/** The ffmpeg side of a rebuild: filters, and what they do to the picture's size and rate. */
export interface RebuildFilters {
  videoFilters: string[];
  audioFilters: string[];
  sizeFactor: number;
  filteredFps?: number;
}

const on = (v: TemplateBody | null | undefined): v is TemplateBody => !!v && v.Switch === "ON";

/** The sub-configs in the order their filters run: repair first, enhancement, then resizing. */
const VIDEO_FIELDS = [
  "RepairInfo",
  "ArtifactRepairInfo",
  "VideoDenoiseInfo",
  "ScratchRepairInfo",
  "FaceInfo",
  "HDRInfo",
  "LowLightInfo",
  "ColorInfo",
  "SharpInfo",
  "SuperResolutionInfo",
  "VideoFrameInterpolationInfo",
] as const;

const MODEL_ONLY: Record<string, string> = {
  FaceInfo: "face enhancement needs a face model, which openvod does not have",
  ScratchRepairInfo: "scratch repair needs a restoration model, which openvod does not have",
  HDRInfo: "SDR to HDR conversion (inverse tone mapping) is not something ffmpeg's filters do",
};

/**
 * Checks the switches of a RebuildVideoInfo (or the RebuildMedia request, which has the same
 * fields at its top level) and RebuildAudioInfo, and returns the filters; `path` prefixes field
 * names in errors. Throws InvalidParameterValue naming the field that cannot be done.
 */
export function rebuildFilters(
  video: TemplateBody | null | undefined,
  audio: TemplateBody | null | undefined,
  path = "",
): RebuildFilters {
  const out: RebuildFilters = { videoFilters: [], audioFilters: [], sizeFactor: 1 };
  const v = video ?? {};
  for (const field of VIDEO_FIELDS) {
    const c = v[field];
    if (c === null || c === undefined) continue;
    checkFields(c, { Switch: oneOf("ON", "OFF") }, `${path}${field}.`);
    if (!on(c)) continue;
    if (MODEL_ONLY[field]) throw invalid("Switch", `${path}${field}: ${MODEL_ONLY[field]}.`);
    const p = `${path}${field}.`;
    const f = out.videoFilters;
    switch (field) {
      case "RepairInfo":
        checkFields(c, { Type: oneOf("weak", "normal", "strong") }, p);
        f.push(
          c.Type === "weak"
            ? "deblock=filter=weak"
            : c.Type === "strong"
              ? "deblock=filter=strong,hqdn3d=2:1.5:3:2.25"
              : "deblock=filter=strong",
        );
        break;
      case "ArtifactRepairInfo":
        checkFields(c, { Type: oneOf("weak", "strong") }, p);
        f.push(c.Type === "strong" ? "deband=range=24:blur=1" : "deband");
        break;
      case "VideoDenoiseInfo":
        checkFields(c, { Type: oneOf("weak", "strong") }, p);
        f.push(c.Type === "strong" ? "nlmeans=s=4:p=5:r=9" : "hqdn3d=4:3:6:4.5");
        break;
      case "LowLightInfo":
        checkFields(c, { Type: oneOf("normal") }, p);
        f.push("eq=gamma=1.5:brightness=0.03");
        break;
      case "ColorInfo": {
        checkFields(c, { Type: oneOf("weak", "normal", "strong") }, p);
        const [sat, con] = c.Type === "weak" ? [1.15, 1.03] : c.Type === "strong" ? [1.5, 1.1] : [1.3, 1.06];
        f.push(`eq=saturation=${sat}:contrast=${con}`);
        break;
      }
      case "SharpInfo":
        checkFields(c, { Intensity: range(0, 1) }, p);
        if ((c.Intensity ?? 0) > 0) f.push(`unsharp=5:5:${(2 * c.Intensity).toFixed(2)}:5:5:0`);
        break;
      case "SuperResolutionInfo":
        checkFields(c, { Type: oneOf("lq", "hq"), Size: oneOf(2) }, p);
        if (c.Type === "lq") f.push("hqdn3d=3:2:4:3");
        f.push("scale=iw*2:ih*2:flags=lanczos");
        out.sizeFactor = 2;
        break;
      case "VideoFrameInterpolationInfo":
        checkFields(c, { Fps: range(1, 100) }, p);
        if (c.Fps) {
          f.push(`minterpolate=fps=${c.Fps}:mi_mode=mci:mc_mode=aobmc:vsbmc=1`);
          out.filteredFps = c.Fps;
        }
        break;
    }
  }
  const denoise = audio?.AudioDenoiseInfo;
  if (denoise !== null && denoise !== undefined) {
    checkFields(denoise, { Switch: oneOf("ON", "OFF"), Type: oneOf("normal") }, `${path}AudioDenoiseInfo.`);
    if (on(denoise)) out.audioFilters.push("afftdn=nr=20:nf=-40");
  }
  return out;
}

/** Output containers of a rebuild: single files (HLS outputs are not offered for rebuilds). */
const REBUILD_CONTAINERS = ["mp4", "flv"];

/** Checks the output side (TargetInfo, or a template's Target*Info and Container). */
export function checkRebuildTarget(
  t: {
    Container?: string;
    VideoStream?: TemplateBody;
    AudioStream?: TemplateBody;
    RemoveVideo?: unknown;
    RemoveAudio?: unknown;
  },
  path: string,
  names = { video: "VideoStream", audio: "AudioStream" },
): void {
  const container = t.Container || "mp4";
  if (!REBUILD_CONTAINERS.includes(container))
    throw invalid(
      "Container",
      `${path}Container must be ${REBUILD_CONTAINERS.join(" or ")}; got ${JSON.stringify(container)} (openvod does not write rebuilds as HLS).`,
    );
  if (Number(t.RemoveVideo) === 1 && Number(t.RemoveAudio) === 1)
    throw invalid("RemoveVideo", `${path}RemoveVideo and RemoveAudio cannot both be 1.`);
  if (t.VideoStream) {
    checkFields(
      t.VideoStream,
      {
        Fps: range(0, 100),
        Bitrate: { test: (b) => b === 0 || (b >= 128 && b <= 35000), text: "0 or 128 to 35000" },
      },
      `${path}${names.video}.`,
    );
    checkVideo({ Codec: "libx264", ...t.VideoStream }, `${path}${names.video}.`, container as "mp4");
  }
  if (t.AudioStream)
    checkAudio({ Codec: "libfdk_aac", ...t.AudioStream }, `${path}${names.audio}.`, container as "mp4");
}

/** A transcode template (TranscodeTemplate shape) for the rebuild's output streams. */
export function rebuildTranscodeTemplate(t: {
  Container?: string;
  VideoStream?: TemplateBody | null;
  AudioStream?: TemplateBody | null;
  RemoveVideo?: unknown;
  RemoveAudio?: unknown;
}): TemplateBody {
  return {
    Container: t.Container || "mp4",
    RemoveVideo: Number(t.RemoveVideo ?? 0),
    RemoveAudio: Number(t.RemoveAudio ?? 0),
    VideoTemplate: { Codec: "libx264", Bitrate: 0, ...(t.VideoStream ?? {}) },
    AudioTemplate: { Codec: "libfdk_aac", Bitrate: 0, SampleRate: 44100, ...(t.AudioStream ?? {}) },
  };
}

// ---------------------------------------------------------------------------------------------
// Templates

const DEFAULTS: TemplateBody = {
  Name: "",
  Comment: "",
  Container: "mp4",
  RebuildVideoInfo: null,
  RebuildAudioInfo: null,
  TargetVideoInfo: null,
  TargetAudioInfo: null,
  RemoveVideo: 0,
  RemoveAudio: 0,
};

/** CreateRebuildMediaTemplate types RemoveAudio as a string ("0"/"1"): stored as a number. */
const derive = (b: TemplateBody): TemplateBody => ({ ...b, RemoveAudio: Number(b.RemoveAudio ?? 0) });

function validate(b: TemplateBody): void {
  checkFields(b, { ...NAME_AND_COMMENT, RemoveVideo: oneOf(0, 1), RemoveAudio: oneOf(0, 1) });
  rebuildFilters(b.RebuildVideoInfo, b.RebuildAudioInfo, "RebuildVideoInfo.");
  checkRebuildTarget(
    {
      Container: b.Container,
      VideoStream: b.TargetVideoInfo ?? undefined,
      AudioStream: b.TargetAudioInfo ?? undefined,
      RemoveVideo: b.RemoveVideo,
      RemoveAudio: b.RemoveAudio,
    },
    "",
    { video: "TargetVideoInfo", audio: "TargetAudioInfo" },
  );
}

/**
 * openvod's own preset (the cloud's preset list, 266/102586, is not in the stored material; its
 * example names Definition 100): a general repair of a noisy, soft source, same size.
 */
const PRESETS: TemplateBody[] = [
  {
    Definition: 100,
    Name: "GeneralEnhance",
    Comment:
      "openvod: light denoise (hqdn3d), detail (unsharp 0.5), colour (eq weak), audio denoise (afftdn); mp4 H.264",
    ...DEFAULTS,
    RebuildVideoInfo: {
      VideoDenoiseInfo: { Switch: "ON", Type: "weak" },
      SharpInfo: { Switch: "ON", Intensity: 0.5 },
      ColorInfo: { Switch: "ON", Type: "weak" },
    },
    RebuildAudioInfo: { AudioDenoiseInfo: { Switch: "ON", Type: "normal" } },
  },
];

function rebuildFamily(family: "RebuildMedia" | "EnhanceMedia"): FamilyDescriptor {
  return {
    family,
    keyField: "Definition",
    maxCustom: 100,
    presets: PRESETS,
    ...mergeFamily(DEFAULTS, derive),
    validate,
    // DescribeEnhanceMediaTemplates answers a RebuildMediaTemplateSet, as the cloud does.
    setField: "RebuildMediaTemplateSet",
  };
}

export const rebuildMedia = rebuildFamily("RebuildMedia");
export const enhanceMedia = rebuildFamily("EnhanceMedia");
