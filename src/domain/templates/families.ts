// The template families whose items are plain parameter sets with a numeric Definition:
// transcode, adaptive streaming, and the three kinds of screenshots and animated graphics.
import {
  checkAudio,
  checkEncoders,
  checkEnhance,
  checkNoExtInfo,
  checkTehd,
  checkVideo,
  CONTAINERS,
  containerType,
} from "./av.js";
import { mergeFamily } from "./merge.js";
import { PRESETS, STILL_DEFAULTS } from "./presets.js";
import {
  checkFields,
  invalid,
  NAME_AND_COMMENT,
  oneOf,
  range,
  RESOLUTION_ADAPTIVE,
  zeroOr,
  type RuleTable,
} from "./rules.js";
import type { FamilyContext, FamilyDescriptor, TemplateBody } from "./types.js";

/** Custom templates per family and application (the cloud's documented limit). */
const MAX_CUSTOM = 100;

/** Documented defaults of VideoTemplateInfo fields; Vcrf, Bframes and HlsTime stay unset ("auto"). */
const VIDEO_DEFAULTS = {
  ResolutionAdaptive: "open",
  Width: 0,
  Height: 0,
  FillType: "black",
  Gop: 0,
  GopUnit: "frame",
  PreserveHDRSwitch: "OFF",
  CodecTag: "hvc1",
  Mode: "VBR",
  VideoProfile: "default",
};
const AUDIO_DEFAULTS = { AudioChannel: 2 };

const withDefaults = (defaults: TemplateBody, value: TemplateBody | undefined) =>
  value ? { ...defaults, ...value } : value;

// ---------------------------------------------------------------------------------------------
// Transcode

function deriveTranscode(b: TemplateBody): TemplateBody {
  const out: TemplateBody = {
    ...b,
    VideoTemplate: withDefaults(VIDEO_DEFAULTS, b.VideoTemplate),
    AudioTemplate: withDefaults(AUDIO_DEFAULTS, b.AudioTemplate),
    ContainerType: containerType(b.Container),
  };
  if (b.Container === "hls" && !b.SegmentType) out.SegmentType = "ts";
  if (out.VideoTemplate === undefined) delete out.VideoTemplate;
  if (out.AudioTemplate === undefined) delete out.AudioTemplate;
  return out;
}

async function validateTranscode(b: TemplateBody, ctx: FamilyContext): Promise<void> {
  checkFields(b, {
    ...NAME_AND_COMMENT,
    Container: oneOf(...CONTAINERS),
    RemoveVideo: oneOf(0, 1),
    RemoveAudio: oneOf(0, 1),
  });
  if (b.SegmentType !== undefined && b.SegmentType !== "")
    checkFields(b, { SegmentType: oneOf("ts", "fmp4") });
  if (b.RemoveVideo === 1 && b.RemoveAudio === 1)
    throw invalid("RemoveVideo", "RemoveVideo and RemoveAudio cannot both be 1: the output would be empty.");
  const pureAudio = containerType(b.Container) === "PureAudio";
  if (pureAudio && b.RemoveAudio === 1)
    throw invalid("RemoveAudio", `The ${b.Container} container holds only audio: RemoveAudio must be 0.`);
  const withVideo = !pureAudio && b.RemoveVideo !== 1;
  const withAudio = b.RemoveAudio !== 1;
  if (withVideo) checkVideo(b.VideoTemplate, "VideoTemplate.", b.Container);
  if (withAudio) checkAudio(b.AudioTemplate, "AudioTemplate.", b.Container);
  if (b.AudioTemplate?.StreamSelects !== undefined)
    throw invalid("AudioTemplate", "AudioTemplate.StreamSelects is not supported by openvod.");
  checkTehd(b.TEHDConfig, "TEHDConfig.");
  checkEnhance(b.EnhanceConfig, "EnhanceConfig.");
  checkNoExtInfo(b.StdExtInfo, "StdExtInfo");
  await checkEncoders(ctx.deps.tools, [
    { video: withVideo ? b.VideoTemplate : undefined, audio: withAudio ? b.AudioTemplate : undefined },
  ]);
}

function transcodeFilter(p: Record<string, any>): (v: TemplateBody) => boolean {
  checkFields(p, {
    ContainerType: oneOf("Video", "PureAudio"),
    TEHDType: oneOf("Common", "TEHD"),
    EnhanceType: oneOf("VideoEnhance", "AudioEnhance", "AudioVideoEnhance", "AnyEnhance", "None"),
  });
  // No openvod template uses TEHD or enhancement: those filters match nothing.
  const none = p.TEHDType === "TEHD" || (p.EnhanceType ?? "None") !== "None" || !!p.EnhanceScenarioType;
  return (v) => !none && (p.ContainerType === undefined || v.ContainerType === p.ContainerType);
}

const transcode: FamilyDescriptor = {
  family: "Transcode",
  keyField: "Definition",
  maxCustom: MAX_CUSTOM,
  presets: PRESETS.Transcode.map(deriveTranscode),
  ...mergeFamily({ Name: "", Comment: "", RemoveVideo: 0, RemoveAudio: 0 }, deriveTranscode),
  validate: validateTranscode,
  filter: transcodeFilter,
  // DescribeTranscodeTemplates alone types the Definition as a string (see examples.json).
  view: (v) => ({ ...v, Definition: String(v.Definition) }),
};

// ---------------------------------------------------------------------------------------------
// Adaptive dynamic streaming

const SEGMENT_TYPES: Record<string, string[]> = {
  HLS: ["ts", "ts-segment", "mp4", "mp4-segment"],
  "MPEG-DASH": ["mp4", "mp4-mp4-byterange"],
};

function deriveAdaptive(b: TemplateBody): TemplateBody {
  return {
    ...b,
    SegmentType: b.SegmentType || (b.Format === "MPEG-DASH" ? "mp4" : "ts"),
    StreamInfos: (b.StreamInfos ?? []).map((s: TemplateBody) => ({
      RemoveAudio: 0,
      RemoveVideo: 0,
      ...s,
      Video: withDefaults(VIDEO_DEFAULTS, s.Video),
      Audio: withDefaults(AUDIO_DEFAULTS, s.Audio),
    })),
  };
}

async function validateAdaptive(b: TemplateBody, ctx: FamilyContext): Promise<void> {
  checkFields(b, {
    ...NAME_AND_COMMENT,
    Format: oneOf("HLS", "MPEG-DASH"),
    DisableHigherVideoBitrate: oneOf(0, 1),
    DisableHigherVideoResolution: oneOf(0, 1),
    SegmentDuration: range(1, 10),
  });
  checkFields(b, { SegmentType: oneOf(...SEGMENT_TYPES[b.Format]!) });
  if (b.DrmType) throw invalid("DrmType", `DRM (${b.DrmType}) is not supported by openvod.`);
  const streams: TemplateBody[] = b.StreamInfos;
  if (streams.length < 1 || streams.length > 10)
    throw invalid("StreamInfos", "StreamInfos must have 1 to 10 renditions.");
  streams.forEach((s, i) => {
    const path = `StreamInfos.${i}.`;
    checkFields(s, { RemoveAudio: oneOf(0, 1), RemoveVideo: oneOf(0, 1) }, path);
    if (s.RemoveVideo === 1 && s.RemoveAudio === 1)
      throw invalid("RemoveVideo", `${path}RemoveVideo and RemoveAudio cannot both be 1.`);
    if (s.RemoveVideo !== 1) checkVideo(s.Video, `${path}Video.`, "adaptive");
    if (s.RemoveAudio !== 1) checkAudio(s.Audio, `${path}Audio.`, "adaptive");
    checkTehd(s.TEHDConfig, `${path}TEHDConfig.`);
    checkEnhance(s.EnhanceConfig, `${path}EnhanceConfig.`);
    checkNoExtInfo(s.StdExtInfo, `${path}StdExtInfo`);
  });
  await checkEncoders(
    ctx.deps.tools,
    streams.map((s) => ({
      video: s.RemoveVideo !== 1 ? s.Video : undefined,
      audio: s.RemoveAudio !== 1 ? s.Audio : undefined,
    })),
  );
}

const adaptiveDynamicStreaming: FamilyDescriptor = {
  family: "AdaptiveDynamicStreaming",
  keyField: "Definition",
  maxCustom: MAX_CUSTOM,
  presets: PRESETS.AdaptiveDynamicStreaming.map(deriveAdaptive),
  ...mergeFamily(
    {
      Name: "",
      Comment: "",
      DrmType: "",
      DrmKeyProvider: "",
      DisableHigherVideoBitrate: 0,
      DisableHigherVideoResolution: 0,
    },
    deriveAdaptive,
  ),
  validate: validateAdaptive,
};

// ---------------------------------------------------------------------------------------------
// Stills and animations: a table of fields each.

const FILL_TYPES = oneOf("stretch", "black", "white", "gauss");
const IMAGE_FORMATS = oneOf("jpg", "png", "webp");
const STILL_RULES: RuleTable = {
  ...NAME_AND_COMMENT,
  Width: zeroOr(32, 4096),
  Height: zeroOr(32, 4096),
  ResolutionAdaptive: RESOLUTION_ADAPTIVE,
  Format: IMAGE_FORMATS,
  FillType: FILL_TYPES,
};

/** SampleInterval is a percentage (1 to 100) or a number of seconds. */
function checkSampling(b: TemplateBody): void {
  checkFields(b, { SampleType: oneOf("Percent", "Time") });
  checkFields(b, { SampleInterval: b.SampleType === "Percent" ? range(1, 100) : range(1, 86400) });
}

/** A family whose validation is one rule table (plus an optional extra check). */
function simpleFamily(
  family: keyof typeof PRESETS,
  defaults: TemplateBody,
  rules: RuleTable,
  extra: (b: TemplateBody) => void = () => {},
): FamilyDescriptor {
  return {
    family,
    keyField: "Definition",
    maxCustom: MAX_CUSTOM,
    presets: PRESETS[family],
    ...mergeFamily(defaults),
    validate(b) {
      checkFields(b, rules);
      extra(b);
    },
  };
}

/** The sprite sheet (columns x width, rows x height) may be at most 15000 px each way. */
function checkSheet(b: TemplateBody): void {
  checkSampling(b);
  if (b.ColumnCount * b.Width > 15000)
    throw invalid("ColumnCount", "ColumnCount x Width must be at most 15000 pixels.");
  if (b.RowCount * b.Height > 15000)
    throw invalid("RowCount", "RowCount x Height must be at most 15000 pixels.");
}

const snapshotByTimeOffset = simpleFamily("SnapshotByTimeOffset", STILL_DEFAULTS, STILL_RULES);
const sampleSnapshot = simpleFamily("SampleSnapshot", STILL_DEFAULTS, STILL_RULES, checkSampling);
const imageSprite = simpleFamily(
  "ImageSprite",
  STILL_DEFAULTS,
  {
    ...STILL_RULES,
    Width: zeroOr(128, 4096),
    Height: zeroOr(128, 4096),
    FillType: oneOf("stretch", "black"),
    RowCount: range(1, 100),
    ColumnCount: range(1, 100),
  },
  checkSheet,
);
const animatedGraphics = simpleFamily(
  "AnimatedGraphics",
  { Name: "", Comment: "", Width: 0, Height: 0, ResolutionAdaptive: "open", Format: "gif", Quality: 75 },
  {
    ...NAME_AND_COMMENT,
    Width: zeroOr(128, 4096),
    Height: zeroOr(128, 4096),
    ResolutionAdaptive: RESOLUTION_ADAPTIVE,
    Format: oneOf("gif", "webp"),
    Fps: range(1, 30),
    Quality: range(1, 100),
  },
);

/** The media-processing families, by name (the registry in index.ts adds Watermark and Procedure). */
export const MEDIA_FAMILIES = {
  Transcode: transcode,
  AdaptiveDynamicStreaming: adaptiveDynamicStreaming,
  SnapshotByTimeOffset: snapshotByTimeOffset,
  SampleSnapshot: sampleSnapshot,
  ImageSprite: imageSprite,
  AnimatedGraphics: animatedGraphics,
} as const;
