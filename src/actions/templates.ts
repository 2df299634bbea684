// Media-processing templates: Create/Describe/Modify/Delete for each family (Reset for
// procedures), all served by the one engine in src/domain/templates.
import {
  createTemplate,
  deleteTemplate,
  describeTemplates,
  FAMILIES,
  modifyTemplate,
  type TemplateFamily,
} from "../domain/templates/index.js";
import type { ActionContext, ActionFamily } from "./types.js";

interface FamilyNotes {
  create: string;
  describe: string;
  /** Appended to the common Modify/Delete notes. */
  modify?: string;
  delete?: string;
}

const DESCRIBE = "Definitions, Type (Preset/Custom), Offset/Limit";
const STILL = "Width/Height, ResolutionAdaptive, FillType, Format jpg/png/webp";

const REBUILD_NOTES: FamilyNotes = {
  create:
    "RebuildVideoInfo / RebuildAudioInfo as ffmpeg filters (deblock, deband, hqdn3d/nlmeans, eq, unsharp, lanczos 2x upscaling, minterpolate, afftdn), mp4/flv targets; refuses FaceInfo, ScratchRepairInfo and HDRInfo (they need models) and hls",
  describe: `openvod's preset 100 (denoise, sharpen, colour, audio denoise) and custom; answers RebuildMediaTemplateSet; ${DESCRIBE}`,
};

const NOTES: Record<TemplateFamily, FamilyNotes> = {
  Transcode: {
    create:
      "mp4/hls/flv (H.264, H.265; AV1 in mp4) and mp3/m4a/flac/ogg/wav, with the audio codecs ffmpeg can mux into each; refuses H.266, TEHD, enhancement and StdExtInfo",
    describe: `Presets 10-40, 100010-100080 (MP4), 100210-100280 (HLS), 101010-101040 (H.265), audio-only 1010-1140, and custom; ${DESCRIBE}, ContainerType; Definition is a string as in the cloud`,
  },
  AdaptiveDynamicStreaming: {
    create: "HLS or MPEG-DASH with up to 10 H.264/H.265 + AAC renditions; refuses DRM, TEHD and enhancement",
    describe: `Presets 10 (HLS) and 20 (MPEG-DASH) with 360p/540p/720p renditions, and custom; ${DESCRIBE}`,
  },
  SnapshotByTimeOffset: {
    create: STILL,
    describe: `Preset 10 (jpg, source size) and custom; ${DESCRIBE}`,
  },
  SampleSnapshot: {
    create: `SampleType Percent/Time and SampleInterval; ${STILL}`,
    describe: `Preset 10 (every 10%, jpg) and custom; ${DESCRIBE}`,
  },
  ImageSprite: {
    create: `SampleType/SampleInterval, RowCount x ColumnCount (sheet up to 15000 px); ${STILL}`,
    describe: `Preset 10 (every 10%, 10x10 of 142x80 jpg) and custom; ${DESCRIBE}`,
  },
  AnimatedGraphics: {
    create: "gif or webp, Fps 1-30, Width/Height, ResolutionAdaptive, Quality",
    describe: `Presets 20000 (gif) and 20001 (webp) and custom; ${DESCRIBE}`,
  },
  Watermark: {
    create:
      "Image (jpeg/png/gif, checked with ffprobe, served at ImageUrl) or text (simkai.ttf/arial.ttf, both drawn with DejaVu Sans); refuses SVG",
    describe: "Custom templates (there are no presets); Definitions, Type image/text/svg, Offset/Limit",
    modify: "a new ImageContent replaces the image",
    delete: "the stored image is removed",
  },
  Procedure: {
    create:
      "MediaProcessTask and the AI tasks AiRecognitionTask, AiContentReviewTask, AiAnalysisTask, whose every Definition must exist for the application; refuses AiRecognitionTaskSet, ReviewAudioVideoTask, knowledge import, head/tail, and blind watermarks outside transcodes",
    describe: "Preset LongVideoPreset and custom; Names, Type, Offset/Limit, SortBy CreateTime",
    modify: "replaces the whole content",
  },
  QualityInspect: {
    create:
      "Configs (SolidColorScreen, BlackWhiteEdge, Low/HighLighting, Blur, Noise, VideoDuplicatedFrame, NoVoice, LowVoice, HighVoice, Audio/VideoStreamLack; Threshold, Duration, IntervalTime), the legacy *Configure switches that map to them, Strategy TimeSpotCheck; refuses checks needing models or code readers (QRCode, LowEvaluation, Jitter, CrashScreen, Mosaic: blockdetect of this ffmpeg is not frame-local, LLM...)",
    describe: `Custom templates (the cloud documents no presets); ${DESCRIBE}`,
  },
  RebuildMedia: REBUILD_NOTES,
  EnhanceMedia: REBUILD_NOTES,
  AIRecognition: {
    create:
      "OcrFullTextConfigure and OcrWordsConfigure (PaddleOCR), FaceConfigure (face-api against the person samples; FaceLibrary Default refused, All = the person samples), from the optional AI packages, frames every ScreenshotInterval s; Object, Asr*, HeadTail and Segment items refused by name",
    describe: `Custom templates (no presets); ${DESCRIBE}`,
  },
  AIAnalysis: {
    create:
      "CoverConfigure (the sharpest frame that is not dark, washed out or flat: ffmpeg signalstats + blurdetect over 20 samples); Classification, Tag, FrameTag and Highlight refused by name",
    // The request has no Type filter and the item no Type: there are only custom templates.
    describe: "Custom templates (no presets); Definitions, Offset/Limit",
  },
  Review: {
    create:
      "Labels Porn (nsfwjs pictures) and the word-sample labels (Illegal, Abuse, Ad, Porn, Terror, Polity: keyword review of OCR text); Terror/Polity/Moan pictures and voices are not reviewed",
    describe: `Preset 10 (Porn, Terror, Polity) and custom; ${DESCRIBE}`,
  },
  BlindWatermark: {
    create:
      "Type blind-basic with TextContent (≤64): the text transcodes embed as openvod's invisible mark; blind-nagra refused",
    describe: "Custom templates (there are no presets); Definitions, Type, Offset/Limit",
    modify: "the Type stays",
  },
};

/** The context of a family's generated actions: one body for eight families, so loosely typed. */
type FamilyCtx = ActionContext<any> & { params: Record<string, any> };

function familyActions(family: TemplateFamily, notes: FamilyNotes): ActionFamily {
  const item = `${family}Template`;
  const { keyField } = FAMILIES[family];
  const modifyAction = family === "Procedure" ? "ResetProcedureTemplate" : `Modify${item}`;
  const extra = (s: string | undefined) => (s ? `; ${s}` : "");
  return {
    [`Create${item}`]: {
      notes: notes.create,
      handler: (ctx: FamilyCtx) => createTemplate(ctx.deps, ctx.app.subAppId, family, ctx.params),
    },
    [`Describe${item}s`]: {
      notes: notes.describe,
      handler: (ctx: FamilyCtx) => describeTemplates(ctx.deps, ctx.app.subAppId, family, ctx.params),
    },
    [modifyAction]: {
      notes: `Custom templates, checked as on creation; presets answer ModifyDefaultTemplate${extra(notes.modify)}`,
      handler: (ctx: FamilyCtx) => modifyTemplate(ctx.deps, ctx.app.subAppId, family, ctx.params),
    },
    [`Delete${item}`]: {
      notes: `Custom templates; presets answer DeleteDefaultTemplate${extra(notes.delete)}`,
      async handler(ctx: FamilyCtx) {
        await deleteTemplate(ctx.deps, ctx.app.subAppId, family, ctx.params[keyField]);
        return {};
      },
    },
  };
}

export const templateActions: ActionFamily = Object.assign(
  {},
  ...(Object.entries(NOTES) as Array<[TemplateFamily, FamilyNotes]>).map(([f, n]) => familyActions(f, n)),
);
