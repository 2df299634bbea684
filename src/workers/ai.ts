// The AI sub-tasks of a Procedure (AiRecognition: OCR and faces; AiContentReview) and the ReviewAudioVideo
// review itself: one pass of the models over frames sampled at the template's interval
// (src/media/ai/analyze.ts), then the cloud's result shapes (src/domain/ai/results.ts).
import {
  faceOutput,
  keywordSegments,
  ocrFullTextOutput,
  ocrWordsOutput,
  pornSegments,
  verdict,
  type ReviewSegment,
} from "../domain/ai/results.js";
import { personsFor } from "../domain/ai/personSamples.js";
import { wordsFor } from "../domain/ai/wordSamples.js";
import type { Deps } from "../domain/deps.js";
import { analyzeFrames, textRuns } from "../media/ai/analyze.js";
import type { JobContext } from "../media/jobs/types.js";

export async function recognize(
  job: JobContext,
  source: string,
  deps: Deps,
  appId: number,
  template: Record<string, any>,
): Promise<Record<string, unknown>> {
  const full = template.OcrFullTextConfigure?.Switch === "ON";
  const words = template.OcrWordsConfigure?.Switch === "ON";
  const face = template.FaceConfigure?.Switch === "ON" ? template.FaceConfigure : undefined;
  // FaceLibrary All is the person samples alone: there is no public-figure library here (Default
  // alone is refused when the template is made).
  const labels = (face?.UserDefineLibraryLabelSet ?? []) as string[];
  const persons = face
    ? (await personsFor(deps, appId, "Recognition.Face")).filter(
        (p) => labels.length === 0 || p.tags.some((t) => labels.includes(t)),
      )
    : [];
  const results: Record<string, unknown> = {};
  // Without a person to look for, no face can be recognised: that answer needs no model.
  const faces = persons.length > 0;
  const items = [full && "OcrFullTextConfigure", words && "OcrWordsConfigure", faces && "FaceConfigure"];
  const a =
    full || words || faces
      ? await analyzeFrames(job, source, {
          interval: Number(template.ScreenshotInterval) || 1,
          ocr: full || words,
          porn: false,
          faces,
          item: `AIRecognition ${items.filter(Boolean).join("/")}`,
        })
      : { frames: [], duration: 0, interval: 1 };
  const runs = full || words ? textRuns(a) : [];
  if (full) results.OcrFullTextRecognition = ocrFullTextOutput(runs);
  if (words) {
    const samples = await wordsFor(deps, appId, "Recognition.Ocr");
    results.OcrWordsRecognition = ocrWordsOutput(runs, samples, template.OcrWordsConfigure?.LabelSet);
  }
  if (face) results.FaceRecognition = faceOutput(a, persons, Number(face.Score ?? 95));
  return { results };
}

export interface Review {
  segments: ReviewSegment[];
  porn: ReviewSegment[];
  keywords: ReviewSegment[];
}

/** Porn pictures (when the template's Labels have Porn) and keyword review of the OCR text. */
export async function review(
  job: JobContext,
  source: string,
  deps: Deps,
  appId: number,
  template: Record<string, any>,
  interval = 1,
): Promise<Review> {
  const labels = (template.Labels ?? []) as string[];
  const words = await wordsFor(deps, appId, "Review.Ocr");
  const porn = labels.includes("Porn");
  const ocr = words.length > 0;
  if (!porn && !ocr) return { segments: [], porn: [], keywords: [] };
  const a = await analyzeFrames(job, source, { interval, ocr, porn, item: "content review" });
  const pornSegs = porn ? pornSegments(a) : [];
  const keywordSegs = ocr ? keywordSegments(textRuns(a), words) : [];
  const segments = [...pornSegs, ...keywordSegs].sort((x, y) => x.StartTimeOffset - y.StartTimeOffset);
  return { segments, porn: pornSegs, keywords: keywordSegs };
}

/** A Procedure's AiContentReviewTask results: Porn (pictures) and Prohibited.Ocr (keywords). */
export async function contentReview(
  job: JobContext,
  source: string,
  deps: Deps,
  appId: number,
  template: Record<string, any>,
): Promise<Record<string, unknown>> {
  const r = await review(job, source, deps, appId, template);
  const pornVerdict = verdict(r.porn);
  const kwVerdict = verdict(r.keywords);
  return {
    results: {
      Porn: {
        Confidence: pornVerdict.Confidence,
        Suggestion: pornVerdict.Suggestion,
        Label: r.porn[0]?.SubLabel ?? "",
        SegmentSet: r.porn.slice(0, 100).map((s) => ({
          StartTimeOffset: s.StartTimeOffset,
          EndTimeOffset: s.EndTimeOffset,
          Confidence: s.Confidence,
          Label: s.SubLabel,
          Suggestion: s.Suggestion,
          Url: "",
          PicUrlExpireTimeStamp: 0,
          PicUrlExpireTime: "",
        })),
        SegmentSetFileUrl: "",
        SegmentSetFileUrlExpireTime: "",
      },
      "Prohibited.Ocr": {
        Confidence: kwVerdict.Confidence,
        Suggestion: kwVerdict.Suggestion,
        SegmentSet: r.keywords.slice(0, 100).map((s) => ({
          StartTimeOffset: s.StartTimeOffset,
          EndTimeOffset: s.EndTimeOffset,
          Confidence: s.Confidence,
          Suggestion: s.Suggestion,
          KeywordSet: s.KeywordSet,
          AreaCoordSet: s.AreaCoordSet,
          Url: "",
          PicUrlExpireTime: "",
        })),
        SegmentSetFileUrl: "",
        SegmentSetFileUrlExpireTime: "",
      },
    },
  };
}
