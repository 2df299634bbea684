// Section 11 of `npm run bench`: AI recognition and review on a 1280x720 clip with drawn text
// (run once: the models are slow on 2 cores). Needs `npm run install:ai`; skipped without it.
//   - ProcessMedia AiRecognitionTask (OCR full text, a frame every second): frames/s of PaddleOCR,
//     from the call to FINISH (the model loads once per process, included in the first run).
//   - ReviewAudioVideo (nsfwjs + OCR keyword review, a frame every second): wall seconds per
//     minute of video.
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { aiMissing } from "../src/media/ai/engine.js";
import { runFfmpeg, writeAtomically } from "../src/media/run.js";
import type { MediaTools } from "../src/media/tools.js";
import { waitForTask, type FileServer } from "../test/helpers/server.js";
import { oneWorkerWithItem } from "./editing.js";
import type { Cleanup } from "./proc.js";
import { log, round } from "./stats.js";

export interface AiOptions {
  cleanup: Cleanup;
  files: FileServer;
  tools: MediaTools;
  scratch: string;
  seconds: number;
}

export interface AiSummary {
  seconds: number;
  skipped?: string;
  ocrFrames?: number;
  ocrSeconds?: number | null;
  ocrFramesPerSecond?: number | null;
  reviewSeconds?: number | null;
  reviewSecondsPerMinute?: number | null;
}

export async function benchAi(o: AiOptions): Promise<AiSummary> {
  const missing = [...aiMissing("ocr"), ...aiMissing("porn")];
  if (missing.length) return { seconds: o.seconds, skipped: `AI packages missing (${missing.join(", ")})` };
  const name = "ai-720p.mp4";
  log(`generating a ${o.seconds} s 1280x720 clip with text`);
  await writeAtomically(join(o.scratch, name), (tmp) =>
    runFfmpeg(o.tools, {
      args: [
        ...["-f", "lavfi", "-i", `testsrc2=size=1280x720:rate=25:duration=${o.seconds}`],
        ...[
          "-vf",
          "drawtext=text='OPENVOD %{eif\\:t\\:d}':font=DejaVu Sans:fontsize=48:fontcolor=white:box=1:boxcolor=black:x=80:y=560",
        ],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", tmp],
      ],
      timeoutMs: 300_000,
    }),
  );
  const { vod, fileId } = await oneWorkerWithItem(o.cleanup, "ai", o.files, name);
  await vod.CreateWordSamples({ Usages: ["Review.Ocr"], Words: [{ Keyword: "gambling" }] });
  const { Definition } = await vod.CreateAIRecognitionTemplate({
    OcrFullTextConfigure: { Switch: "ON" },
    ScreenshotInterval: 1,
  });

  let t0 = performance.now();
  const ocr = await vod.ProcessMedia({ FileId: fileId, AiRecognitionTask: { Definition: Definition! } });
  const done = await waitForTask(vod, ocr.TaskId!, { timeoutMs: 3_600_000 });
  const ocrSeconds = (performance.now() - t0) / 1000;
  const r = done.detail.ProcedureTask.AiRecognitionResultSet[0]?.OcrFullTextTask;
  if (r?.Status !== "SUCCESS") throw new Error(`OCR bench failed: ${r?.Message}`);
  const ocrFrames = Math.ceil(o.seconds);
  log(`OCR: ${ocrFrames} frames in ${round(ocrSeconds, 1)} s`);

  t0 = performance.now();
  const rv = await vod.ReviewAudioVideo({ FileId: fileId });
  const reviewed = await waitForTask(vod, rv.TaskId!, { timeoutMs: 3_600_000 });
  const reviewSeconds = (performance.now() - t0) / 1000;
  if (reviewed.detail.ReviewAudioVideoTask.ErrCodeExt)
    throw new Error(`review bench failed: ${reviewed.detail.ReviewAudioVideoTask.Message}`);
  log(`review: ${round(reviewSeconds, 1)} s`);
  return {
    seconds: o.seconds,
    ocrFrames,
    ocrSeconds: round(ocrSeconds, 2),
    ocrFramesPerSecond: round(ocrFrames / ocrSeconds, 3),
    reviewSeconds: round(reviewSeconds, 2),
    reviewSecondsPerMinute: round((reviewSeconds / o.seconds) * 60, 1),
  };
}

export function reportAi(s: AiSummary): string[] {
  if (s.skipped) return [`11. AI recognition and review: skipped, ${s.skipped}`];
  return [
    `11. AI on a ${s.seconds} s 1280x720 clip (testsrc2 + drawn text), a frame every second, OPENVOD_WORKERS=1, one run`,
    `   OCR full text (PaddleOCR PP-OCRv4, frames scaled to 640x360): ${s.ocrFrames} frames in ${s.ocrSeconds} s = ${s.ocrFramesPerSecond} frames/s (submit → FINISH, model load included)`,
    `   ReviewAudioVideo (nsfwjs MobileNetV2 + OCR keyword review): ${s.reviewSeconds} s = ${s.reviewSecondsPerMinute} s per minute of 720p video`,
  ];
}
