// One pass of models over a video: frames sampled every `interval` seconds from an ffmpeg pipe,
// each read by PaddleOCR, classified by nsfwjs and/or searched for faces (face-api) on the AI
// worker thread. The job keeps the media jobs' contract (runJob: time budget, progress, CPU
// lease, errors mapped to 40000/60000/70000); what the frames say is turned into segments by the
// pure functions below.
import { runJob } from "../jobs/job.js";
import { internalError } from "../jobs/types.js";
import type { JobContext } from "../jobs/types.js";
import { aiEngine, aiMissingMessage } from "./engine.js";
import { eachFrame, frameSize, scaleBox } from "./frames.js";
import type { FaceHit, Frame, OcrLine, PornScores } from "./protocol.js";

export interface FrameResult {
  time: number;
  lines?: OcrLine[];
  porn?: PornScores;
  /** Boxes in source pixels. */
  faces?: FaceHit[];
}

export interface Analysis {
  frames: FrameResult[];
  duration: number;
  interval: number;
}

/** Longest side of the frames the models see (PaddleOCR: 0.4-0.65 s at 640x360 on 2 cores). */
export const FRAME_MAX = 640;

export async function analyzeFrames(
  ctx: JobContext,
  input: string,
  o: { interval: number; ocr: boolean; porn: boolean; faces?: boolean; item: string },
): Promise<Analysis> {
  for (const [want, model] of [
    [o.ocr, "ocr"],
    [o.porn, "porn"],
    [o.faces, "face"],
  ] as const) {
    const missing = want ? aiMissingMessage(o.item, model) : undefined;
    if (missing) throw internalError(missing);
  }
  return runJob(ctx, input, { video: true }, async (job) => {
    const engine = aiEngine(job.threads);
    const { width, height } = frameSize(job.src.width, job.src.height, FRAME_MAX);
    // Box coordinates go back to the source's pixels.
    const kx = job.src.width / width;
    const ky = job.src.height / height;
    const expected = Math.max(1, Math.ceil(job.src.duration / o.interval));
    const report = job.progress.run(0);
    const frames: FrameResult[] = [];
    if (o.ocr) await engine.load("ocr");
    if (o.porn) await engine.load("porn");
    if (o.faces) await engine.load("face");
    const toSource = (b: readonly number[]) => scaleBox(b, kx, ky);
    const models = [o.porn, o.faces, o.ocr].filter(Boolean).length;
    await eachFrame(
      ctx.tools,
      {
        input: job.src.absolute,
        videoIndex: job.src.videoIndex,
        interval: o.interval,
        width,
        height,
        timeoutMs: job.budget.runTimeout(),
        signal: ctx.signal,
        still: job.src.category === "Image",
      },
      async (frame, time, index) => {
        job.budget.runTimeout(); // throws once the sub-task's time is spent
        const r: FrameResult = { time };
        // Each request takes the pixels it is sent (they move to the worker): every model but
        // the last gets a copy.
        let left = models;
        const pixels = (): Frame => (--left > 0 ? { ...frame, data: frame.data.slice() } : frame);
        if (o.porn) r.porn = await engine.porn(pixels());
        if (o.faces) r.faces = (await engine.faces(pixels())).map((f) => ({ ...f, box: toSource(f.box) }));
        if (o.ocr) r.lines = (await engine.ocr(pixels())).map((l) => ({ ...l, box: toSource(l.box) }));
        frames.push(r);
        report(Math.min(99, ((index + 1) / expected) * 100));
      },
    );
    return { frames, duration: job.src.duration, interval: o.interval };
  });
}

/** Text as compared: spaces collapsed, case kept (keywords are matched case-insensitively). */
const norm = (s: string) => s.replace(/\s+/g, " ").trim();

/** One thing (a text, a person) seen on consecutive sampled frames. */
export interface Run {
  key: string;
  start: number;
  end: number;
  /** 0..100, the best frame's. */
  confidence: number;
  /** The best frame's box, source pixels. */
  box: [number, number, number, number];
}

/** What a frame shows: each key at most once, with its confidence (0..100) and box. */
export type FrameHits = (f: FrameResult) => Iterable<{ key: string; confidence: number; box: Run["box"] }>;

/** Consecutive frames showing the same key become one run [first seen, last seen + interval]. */
export function runs(a: Analysis, hitsOf: FrameHits): Run[] {
  const open = new Map<string, Run & { last: number }>();
  const done: Run[] = [];
  const close = (r: Run & { last: number }) => {
    const { last: _last, ...run } = r;
    done.push({ ...run, end: Math.min(a.duration || Infinity, r.last + a.interval) });
  };
  for (const f of a.frames) {
    const seen = new Set<string>();
    for (const h of hitsOf(f)) {
      if (seen.has(h.key)) continue;
      seen.add(h.key);
      const r = open.get(h.key);
      if (r) {
        r.last = f.time;
        if (h.confidence > r.confidence) {
          r.confidence = h.confidence;
          r.box = h.box;
        }
      } else {
        const { key, confidence, box } = h;
        open.set(key, { key, confidence, box, start: f.time, end: f.time, last: f.time });
      }
    }
    for (const [key, r] of open) {
      if (!seen.has(key)) {
        close(r);
        open.delete(key);
      }
    }
  }
  for (const r of open.values()) close(r);
  return done.sort((x, y) => x.start - y.start || x.box[1] - y.box[1]);
}

/** One text seen on consecutive sampled frames. */
export type TextRun = Omit<Run, "key"> & { text: string };

/** The OCR lines' runs (a line's text is its key). */
export function textRuns(a: Analysis, minConfidence = 0.5): TextRun[] {
  return runs(a, (f) =>
    (f.lines ?? [])
      .map((l) => ({ key: norm(l.text), confidence: l.confidence * 100, box: l.box, raw: l.confidence }))
      .filter((h) => h.key && h.raw >= minConfidence),
  ).map(({ key, ...r }) => ({ text: key, ...r }));
}

/** The runs whose text holds `keyword` (case-insensitive). */
export function runsWith(runs: TextRun[], keyword: string): TextRun[] {
  const k = keyword.toLowerCase();
  return runs.filter((r) => r.text.toLowerCase().includes(k));
}

/** Rounded seconds as the cloud gives them. */
export const secs = (t: number) => Math.round(t * 1000) / 1000;
export const pct = (c: number) => Math.round(c * 100) / 100;

/** Porn score of a frame, 0..1: Porn + Hentai (nsfwjs's explicit classes). */
export const pornScore = (p: PornScores) => (p.Porn ?? 0) + (p.Hentai ?? 0);
/** Sexy score of a frame, 0..1. */
export const sexyScore = (p: PornScores) => p.Sexy ?? 0;
