// The AI sub-tasks of a Procedure: AiRecognitionTask (OCR full text and words, faces) and
// AiContentReviewTask (porn pictures, keyword review of OCR text). Their outputs are stored as
// { results: { [Type]: Output } }, and reported one ProcedureTask result per Type.
import type { AiSubTaskView, SubTaskKind } from "./kind.js";

/** One result entry per Type the sub-task reports: `{Type, [field]: {...common, Input, Output}}`. */
function entries(s: AiSubTaskView, types: ReadonlyArray<[type: string, field: string]>, times = true) {
  const outputs = (s.output?.results ?? {}) as Record<string, unknown>;
  // The review results have no BeginProcessTime / FinishTime in the spec.
  const { BeginProcessTime, FinishTime, ...rest } = s.common;
  const common = times ? { ...rest, BeginProcessTime, FinishTime } : rest;
  return types.map(([type, field]) => ({
    Type: type,
    [field]: { ...common, Input: { Definition: s.input.Definition }, Output: outputs[type] ?? undefined },
  }));
}

/** AIRecognition items openvod runs: result Type and field. */
export const RECOGNITION_RESULTS: Record<string, [type: string, field: string]> = {
  OcrFullTextConfigure: ["OcrFullTextRecognition", "OcrFullTextTask"],
  OcrWordsConfigure: ["OcrWordsRecognition", "OcrWordsTask"],
  FaceConfigure: ["FaceRecognition", "FaceTask"],
};

export const aiRecognition = {
  set: "AiRecognitionTask",
  type: "AiRecognition",
  field: "AiRecognitionTask",
  family: "AIRecognition",
  label: "AI recognition",
  ai: {
    request: "AiRecognitionTask",
    resultSet: "AiRecognitionResultSet",
    results: (s) =>
      entries(
        s,
        Object.entries(RECOGNITION_RESULTS)
          .filter(([item]) => s.template[item]?.Switch === "ON")
          .map(([, r]) => r),
      ),
  },
} as const satisfies SubTaskKind;

/** AiContentReview results openvod produces: Porn (pictures) and Prohibited.Ocr (word samples). */
export const REVIEW_RESULTS: ReadonlyArray<[type: string, field: string]> = [
  ["Porn", "PornTask"],
  ["Prohibited.Ocr", "ProhibitedOcrTask"],
];

export const aiContentReview = {
  set: "AiContentReviewTask",
  type: "AiContentReview",
  field: "AiContentReviewTask",
  family: "Review",
  label: "content review",
  ai: {
    request: "AiContentReviewTask",
    resultSet: "AiContentReviewResultSet",
    results: (s) => entries(s, REVIEW_RESULTS, false),
  },
} as const satisfies SubTaskKind;

export const aiAnalysis = {
  set: "AiAnalysisTask",
  type: "AiAnalysis",
  field: "AiAnalysisTask",
  family: "AIAnalysis",
  label: "AI analysis",
  ai: {
    request: "AiAnalysisTask",
    resultSet: "AiAnalysisResultSet",
    results: (s) => entries(s, s.template.CoverConfigure?.Switch === "ON" ? [["Cover", "CoverTask"]] : []),
  },
} as const satisfies SubTaskKind;
