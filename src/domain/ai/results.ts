// What the models' frame results become in the cloud's shapes: OCR full-text segments, OCR
// keyword hits, keyword review segments (word samples with usage Review.Ocr) and porn review
// segments (nsfwjs scores with a "review" band below "block": the small model flags clothed
// group photos at ~0.6, so only a clear score blocks), and face recognition against the
// application's person samples.
import {
  pct,
  pornScore,
  runs,
  runsWith,
  type Run,
  secs,
  sexyScore,
  type Analysis,
  type TextRun,
} from "../../media/ai/analyze.js";
import type { PersonSampleRow, WordSampleRow } from "../../store/types.js";

/** Lists are capped as the spec says (the rest would be in SegmentSetFileUrl, which openvod leaves empty). */
const MAX_LIST = 100;

export function ocrFullTextOutput(runs: TextRun[]) {
  return {
    SegmentSet: runs.slice(0, MAX_LIST).map((r) => ({
      StartTimeOffset: secs(r.start),
      EndTimeOffset: secs(r.end),
      TextSet: [{ Confidence: pct(r.confidence), AreaCoordSet: r.box, Text: r.text }],
    })),
    SegmentSetFileUrl: "",
    SegmentSetFileUrlExpireTime: "",
  };
}

/**
 * A ResultSet of items (keywords, persons), each with the segments where it was seen; items
 * never seen are left out, lists capped.
 */
function resultSet<T>(
  items: T[],
  head: (item: T) => Record<string, unknown>,
  runsOf: (item: T) => Array<Omit<Run, "key">>,
) {
  return {
    ResultSet: items
      .map((item) => ({
        ...head(item),
        SegmentSet: runsOf(item)
          .slice(0, MAX_LIST)
          .map((r) => ({
            StartTimeOffset: secs(r.start),
            EndTimeOffset: secs(r.end),
            Confidence: pct(r.confidence),
            AreaCoordSet: r.box,
          })),
      }))
      .filter((x) => x.SegmentSet.length > 0)
      .slice(0, MAX_LIST),
    ResultSetFileUrl: "",
    ResultSetFileUrlExpireTime: "",
  };
}

export function ocrWordsOutput(runs: TextRun[], words: WordSampleRow[], labels: string[] | undefined) {
  const wanted = labels?.length ? words.filter((w) => w.tags.some((t) => labels.includes(t))) : words;
  return resultSet(
    wanted,
    (w) => ({ Word: w.keyword }),
    (w) => runsWith(runs, w.keyword),
  );
}

/** Review labels a word sample's tags may name; a keyword without one reviews as Illegal. */
const WORD_LABELS = ["Porn", "Terror", "Polity", "Ad", "Illegal", "Abuse"];
export const wordLabel = (w: WordSampleRow) => w.tags.find((t) => WORD_LABELS.includes(t)) ?? "Illegal";

export interface ReviewSegment {
  StartTimeOffset: number;
  EndTimeOffset: number;
  Confidence: number;
  Suggestion: "review" | "block";
  Label: string;
  SubLabel: string;
  Form: "Image" | "OCR";
  AreaCoordSet: number[];
  Text: string;
  KeywordSet: string[];
  Url: string;
  PicUrlExpireTime: string;
}

/** Every text run holding a listed word (usage Review.Ocr): a block segment. */
export function keywordSegments(runs: TextRun[], words: WordSampleRow[], labels?: string[]): ReviewSegment[] {
  const out: ReviewSegment[] = [];
  for (const r of runs) {
    const hit = words.filter((w) => r.text.toLowerCase().includes(w.keyword.toLowerCase()));
    const labelled = hit.filter((w) => !labels || labels.includes(wordLabel(w)));
    if (labelled.length === 0) continue;
    out.push({
      StartTimeOffset: secs(r.start),
      EndTimeOffset: secs(r.end),
      Confidence: pct(r.confidence),
      Suggestion: "block",
      Label: wordLabel(labelled[0]!),
      SubLabel: "",
      Form: "OCR",
      AreaCoordSet: r.box,
      Text: r.text,
      KeywordSet: labelled.map((w) => w.keyword),
      Url: "",
      PicUrlExpireTime: "",
    });
  }
  return out;
}

/** Porn + Hentai at or above this blocks; at or above REVIEW asks for a human look. */
export const PORN_BLOCK = 0.9;
export const PORN_REVIEW = 0.6;
/** Sexy (not explicit) at or above this asks for review. */
export const SEXY_REVIEW = 0.8;

/** Consecutive flagged frames as segments [first, last + interval], worst frame's score. */
export function pornSegments(a: Analysis): ReviewSegment[] {
  const out: ReviewSegment[] = [];
  let cur: ReviewSegment | undefined;
  for (const f of a.frames) {
    if (!f.porn) continue;
    const porn = pornScore(f.porn);
    const sexy = sexyScore(f.porn);
    const suggestion =
      porn >= PORN_BLOCK ? "block" : porn >= PORN_REVIEW || sexy >= SEXY_REVIEW ? "review" : undefined;
    if (!suggestion) {
      cur = undefined;
      continue;
    }
    const conf = pct(Math.max(porn, sexy) * 100);
    const sub = porn >= PORN_REVIEW ? "porn" : "sexy";
    const end = secs(Math.min(a.duration || Infinity, f.time + a.interval));
    if (cur && cur.SubLabel === sub) {
      cur.EndTimeOffset = end;
      if (suggestion === "block") cur.Suggestion = "block";
      cur.Confidence = Math.max(cur.Confidence, conf);
      continue;
    }
    cur = {
      StartTimeOffset: secs(f.time),
      EndTimeOffset: end,
      Confidence: conf,
      Suggestion: suggestion,
      Label: "Porn",
      SubLabel: sub,
      Form: "Image",
      AreaCoordSet: [],
      Text: "",
      KeywordSet: [],
      Url: "",
      PicUrlExpireTime: "",
    };
    out.push(cur);
  }
  return out;
}

/** The overall verdict of segments: the worst suggestion, its label and form; pass when none. */
export function verdict(segments: ReviewSegment[]) {
  const worst =
    segments.find((s) => s.Suggestion === "block") ?? segments.find((s) => s.Suggestion === "review");
  if (!worst) return { Suggestion: "pass" as const, Label: "", Form: "", Confidence: 0 };
  return {
    Suggestion: worst.Suggestion,
    Label: worst.Label,
    Form: worst.Form,
    Confidence: Math.max(
      ...segments.filter((s) => s.Suggestion === worst.Suggestion).map((s) => s.Confidence),
    ),
  };
}

/**
 * A face descriptor distance as a 0-100 confidence: 100 / (1 + e^((d - 0.5) / 0.034)). face-api
 * measured the same face (other photo, scale, video frame) at 0.19-0.38 and different people at
 * 0.47-0.74 here, so the midpoint 50 is at 0.5, and the cloud's default Score 95 needs d <= 0.40.
 */
export function faceConfidence(distance: number): number {
  return 100 / (1 + Math.exp((distance - 0.5) / 0.034));
}

function distance(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - (b[i] ?? 0)) ** 2;
  return Math.sqrt(s);
}

/**
 * AiRecognitionTaskFaceResultOutput: each face of each frame is the person whose sample face is
 * nearest, when that scores at least `score`; a person seen on consecutive frames is one segment.
 */
export function faceOutput(a: Analysis, persons: PersonSampleRow[], score: number) {
  const segments = runs(a, (f) => {
    const best = new Map<
      string,
      { key: string; confidence: number; box: [number, number, number, number] }
    >();
    for (const face of f.faces ?? []) {
      let near: { person: PersonSampleRow; d: number } | undefined;
      for (const person of persons)
        for (const sample of person.faces) {
          const d = distance(face.descriptor, sample.descriptor);
          if (!near || d < near.d) near = { person, d };
        }
      if (!near) continue;
      const confidence = faceConfidence(near.d);
      const prev = best.get(near.person.personId);
      if (confidence >= score && (!prev || confidence > prev.confidence))
        best.set(near.person.personId, { key: near.person.personId, confidence, box: face.box });
    }
    return best.values();
  });
  return resultSet(
    persons,
    (p) => ({ Id: p.personId, Type: "UserDefine", Name: p.name }),
    (p) => segments.filter((r) => r.key === p.personId),
  );
}
