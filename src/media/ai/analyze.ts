// One pass of models over a video: frames sampled every `interval` seconds from an ffmpeg pipe,
// each read by PaddleOCR and/or classified by nsfwjs on the AI worker thread. The job keeps the
// media jobs' contract (runJob: time budget, progress, CPU lease, errors mapped to 40000/60000/
// 70000); what the frames say is turned into segments by the pure functions below.
import { runJob } from "../jobs/job.js";
import { internalError } from "../jobs/types.js";
import type { JobContext } from "../jobs/types.js";
import { aiEngine, aiMissingMessage } from "./engine.js";
import { eachFrame, frameSize } from "./frames.js";
import type { OcrLine, PornScores } from "./protocol.js";

export interface FrameResult {
  time: number;
  lines?: OcrLine[];
  porn?: PornScores;
}

export interface Analysis {
  frames: FrameResult[];
  duration: number;
  interval: number;
}

/** Longest side of the frames the models see (PaddleOCR: 0.4-0.65 s at 640x360 on 2 cores). */
const FRAME_MAX = 640;

export async function analyzeFrames(
  ctx: JobContext,
  input: string,
  o: { interval: number; ocr: boolean; porn: boolean; item: string },
): Promise<Analysis> {
  for (const [want, model] of [
    [o.ocr, "ocr"],
    [o.porn, "porn"],
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
        if (o.porn) {
          // A copy: the OCR request below takes the frame's pixels.
          const copy = o.ocr ? { ...frame, data: frame.data.slice() } : frame;
          r.porn = await engine.porn(copy);
        }
        if (o.ocr) {
          r.lines = (await engine.ocr(frame)).map((l) => ({
            ...l,
            box: [
              Math.round(l.box[0] * kx),
              Math.round(l.box[1] * ky),
              Math.round(l.box[2] * kx),
              Math.round(l.box[3] * ky),
            ],
          }));
        }
        frames.push(r);
        report(Math.min(99, ((index + 1) / expected) * 100));
      },
    );
    return { frames, duration: job.src.duration, interval: o.interval };
  });
}

/** Text as compared: spaces collapsed, case kept (keywords are matched case-insensitively). */
const norm = (s: string) => s.replace(/\s+/g, " ").trim();

/** One text seen on consecutive sampled frames. */
export interface TextRun {
  text: string;
  start: number;
  end: number;
  /** 0..100, the best frame's. */
  confidence: number;
  box: [number, number, number, number];
}

/** Consecutive frames showing the same text become one run [first seen, last seen + interval]. */
export function textRuns(a: Analysis, minConfidence = 0.5): TextRun[] {
  const open = new Map<string, TextRun & { last: number }>();
  const done: TextRun[] = [];
  const close = (r: TextRun & { last: number }) => {
    const { last: _last, ...run } = r;
    done.push({ ...run, end: Math.min(a.duration || Infinity, r.last + a.interval) });
  };
  for (const f of a.frames) {
    const seen = new Set<string>();
    for (const l of f.lines ?? []) {
      const text = norm(l.text);
      if (!text || l.confidence < minConfidence || seen.has(text)) continue;
      seen.add(text);
      const r = open.get(text);
      if (r) {
        r.last = f.time;
        if (l.confidence * 100 > r.confidence) {
          r.confidence = l.confidence * 100;
          r.box = l.box;
        }
      } else {
        open.set(text, {
          text,
          start: f.time,
          end: f.time,
          last: f.time,
          confidence: l.confidence * 100,
          box: l.box,
        });
      }
    }
    for (const [text, r] of open) {
      if (!seen.has(text)) {
        close(r);
        open.delete(text);
      }
    }
  }
  for (const r of open.values()) close(r);
  return done.sort((x, y) => x.start - y.start || x.box[1] - y.box[1]);
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
