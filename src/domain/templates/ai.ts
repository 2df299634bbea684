// The AI template families: AIRecognition (what a Procedure's AiRecognitionTask recognises) and
// Review (the labels ReviewAudioVideo / a Procedure's AiContentReviewTask report). Only what a
// model shipped in the optional AI packages really does is accepted; every other item is refused
// by name at creation, never accepted and silently skipped.
import { aiMissingMessage } from "../../media/ai/engine.js";
import { errors } from "../../protocol/errors.js";
import { mergeFamily } from "./merge.js";
import { checkFields, invalid, NAME_AND_COMMENT, oneOf, range } from "./rules.js";
import type { FamilyDescriptor, TemplateBody } from "./types.js";

/** AIRecognition items openvod runs, and the model each needs. */
export const RECOGNITION_ITEMS = {
  OcrFullTextConfigure: "ocr",
  OcrWordsConfigure: "ocr",
  FaceConfigure: "face",
} as const;

/** AIRecognition items with no model that runs offline here: why, for the error. */
const RECOGNITION_REFUSED: Record<string, string> = {
  HeadTailConfigure: "head/tail recognition needs a model openvod does not have",
  SegmentConfigure: "segment recognition needs a model openvod does not have",
  AsrFullTextConfigure:
    "speech recognition needs an ASR model; none ships in npm or Debian packages for Chinese, and openvod does not offer it",
  AsrWordsConfigure: "speech keyword recognition needs an ASR model openvod does not have",
  AsrTranslateConfigure: "speech recognition and translation need models openvod does not have",
  ObjectConfigure: "object recognition is not offered by openvod yet",
};

const on = (v: any) => v && typeof v === "object" && v.Switch === "ON";

const RECOGNITION_DEFAULTS: TemplateBody = {
  Name: "",
  Comment: "",
  ...Object.fromEntries(
    [...Object.keys(RECOGNITION_ITEMS), ...Object.keys(RECOGNITION_REFUSED)].map((k) => [
      k,
      { Switch: "OFF" },
    ]),
  ),
  // The cloud's documented defaults (FaceConfigureInfo): Score 95, FaceLibrary All.
  FaceConfigure: {
    Switch: "OFF",
    Score: 95,
    FaceLibrary: "All",
    DefaultLibraryLabelSet: [],
    UserDefineLibraryLabelSet: [],
  },
  ScreenshotInterval: 1,
};

/** DefaultLibraryLabelSet values (they filter the public-figure library, which openvod lacks). */
const DEFAULT_LIBRARY_LABELS = ["entertainment", "sport", "politician"];

function validateFace(f: Record<string, any> | undefined): void {
  if (!f) return;
  checkFields(
    f,
    { Score: range(0, 100), FaceLibrary: oneOf("Default", "UserDefine", "All") },
    "FaceConfigure.",
  );
  const defaults = (f.DefaultLibraryLabelSet ?? []) as string[];
  for (const l of defaults)
    if (!DEFAULT_LIBRARY_LABELS.includes(l))
      throw invalid(
        "DefaultLibraryLabelSet",
        `FaceConfigure.DefaultLibraryLabelSet: ${l} is not one of ${DEFAULT_LIBRARY_LABELS.join(", ")}.`,
      );
  const user = (f.UserDefineLibraryLabelSet ?? []) as string[];
  if (user.length > 100 || user.some((l) => l.length === 0 || [...l].length > 16))
    throw invalid(
      "UserDefineLibraryLabelSet",
      "FaceConfigure.UserDefineLibraryLabelSet holds at most 100 labels of 1 to 16 characters.",
    );
  if (on(f) && f.FaceLibrary === "Default")
    throw invalid(
      "FaceLibrary",
      "AIRecognition FaceConfigure.FaceLibrary Default: the default (public-figure) library is the cloud's own and openvod has none; use UserDefine (the application's person samples) or All (which here is the person samples alone).",
    );
}

function validateRecognition(b: TemplateBody): void {
  checkFields(b, { ...NAME_AND_COMMENT, ScreenshotInterval: range(0.5, 3600) });
  for (const [item, why] of Object.entries(RECOGNITION_REFUSED))
    if (on(b[item])) throw invalid("Switch", `AIRecognition ${item}: ${why}.`);
  validateFace(b.FaceConfigure);
  const labels = b.OcrWordsConfigure?.LabelSet as string[] | undefined;
  if (labels && (labels.length > 10 || labels.some((l) => l.length > 16)))
    throw invalid("LabelSet", "OcrWordsConfigure.LabelSet holds at most 10 labels of up to 16 characters.");
  const active = Object.keys(RECOGNITION_ITEMS).filter((k) => on(b[k]));
  for (const item of active) {
    const missing = aiMissingMessage(
      `AIRecognition ${item}`,
      RECOGNITION_ITEMS[item as keyof typeof RECOGNITION_ITEMS],
    );
    if (missing) throw errors.unsupportedOperation(missing);
  }
}

export const aiRecognition: FamilyDescriptor = {
  family: "AIRecognition",
  keyField: "Definition",
  maxCustom: 50,
  presets: [],
  ...mergeFamily(RECOGNITION_DEFAULTS),
  validate: validateRecognition,
};

/** AIAnalysis items with no shipped model: why, for the error. */
const ANALYSIS_REFUSED: Record<string, string> = {
  ClassificationConfigure: "classification needs a model openvod does not have",
  TagConfigure: "tags need a model openvod does not have",
  FrameTagConfigure: "frame tags need a model openvod does not have",
  HighlightConfigure: "highlights need a model openvod does not have",
};

export const aiAnalysis: FamilyDescriptor = {
  family: "AIAnalysis",
  keyField: "Definition",
  maxCustom: 50,
  presets: [],
  ...mergeFamily({
    Name: "",
    Comment: "",
    CoverConfigure: { Switch: "OFF" },
    ...Object.fromEntries(Object.keys(ANALYSIS_REFUSED).map((k) => [k, { Switch: "OFF" }])),
  }),
  // AIAnalysisTemplateItem has no Type (there are only custom templates).
  view: ({ Type, ...v }) => v,
  validate(b) {
    checkFields(b, NAME_AND_COMMENT);
    for (const [item, why] of Object.entries(ANALYSIS_REFUSED))
      if (on(b[item])) throw invalid("Switch", `AIAnalysis ${item}: ${why}.`);
  },
};

/** Review labels openvod can decide, and how: nsfwjs for Porn, word samples for the text ones. */
export const REVIEW_LABELS = ["Porn", "Terror", "Polity", "Illegal", "Abuse", "Ad", "Moan"] as const;
/** Labels only a model openvod lacks could find (violence, politics from pictures, moans). */
export const IMAGE_ONLY_LABELS = ["Terror", "Polity", "Moan"];

function validateReview(b: TemplateBody): void {
  checkFields(b, NAME_AND_COMMENT);
  const labels = b.Labels as string[] | undefined;
  if (!labels?.length) throw invalid("Labels", "Labels must name at least one label.");
  for (const l of labels)
    if (!(REVIEW_LABELS as readonly string[]).includes(l))
      throw invalid("Labels", `Labels: ${l} is not one of ${REVIEW_LABELS.join(", ")}.`);
}

export const review: FamilyDescriptor = {
  family: "Review",
  keyField: "Definition",
  maxCustom: 50,
  presets: [
    {
      Definition: 10,
      Name: "Preset",
      Comment: "Porn, Terror and Polity; openvod reviews Porn (pictures) and the word samples (text)",
      Labels: ["Porn", "Terror", "Polity"],
    },
  ],
  ...mergeFamily({ Name: "", Comment: "", Labels: [] }, (b) => {
    if (typeof b.SubAppId === "string") delete b.SubAppId;
    return b;
  }),
  validate: validateReview,
};
