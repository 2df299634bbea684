// Reads openvod's digital watermark from a file: ffmpeg decodes it into small grey frames
// (FRAME_RATE per second, SAMPLE_W x SAMPLE_H, area-averaged) on its stdout, which go to a
// worker thread (markWorker.ts) that correlates them with each key's pattern (markDetect.ts).
import { Worker } from "node:worker_threads";
import { runJob } from "./job.js";
import { greyFrameArgs, mapError } from "./ffmpeg.js";
import { FRAME_RATE, MAX_SECONDS, SAMPLE_H, SAMPLE_W, type Detection } from "./markDetect.js";
import type { FromMarkWorker, ToMarkWorker } from "./markWorker.js";
import { runProcess } from "../run.js";
import type { JobContext } from "./types.js";

export type { Detection } from "./markDetect.js";

/** One Detection per key, in order. */
export async function extractMark(ctx: JobContext, input: string, keys: Buffer[]): Promise<Detection[]> {
  return runJob(ctx, input, { video: true }, async ({ budget, src, threadArgs: t, progress }) => {
    const worker = new Worker(new URL("./markWorker.js", import.meta.url));
    const failed = new Promise<never>((_, reject) => {
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the watermark reader stopped (exit ${code})`)));
    });
    failed.catch(() => undefined);
    try {
      const seconds = Math.min(MAX_SECONDS, src.duration || MAX_SECONDS);
      const frameBytes = SAMPLE_W * SAMPLE_H;
      let bytes = 0;
      const report = progress.run(0);
      await Promise.race([
        failed,
        runProcess({
          name: "ffmpeg",
          command: ctx.tools.ffmpeg,
          args: [
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            ...greyFrameArgs(t, src, String(FRAME_RATE), SAMPLE_W, SAMPLE_H),
            "-t",
            String(MAX_SECONDS),
            "-f",
            "rawvideo",
            "pipe:1",
          ],
          timeoutMs: budget.runTimeout(),
          signal: ctx.signal,
          onStdout(chunk) {
            // A copy the worker owns: the chunk's memory may belong to a shared pool.
            const copy = new Uint8Array(chunk).buffer;
            worker.postMessage({ frames: copy } satisfies ToMarkWorker, [copy]);
            bytes += chunk.length;
            report(Math.min(90, (bytes / frameBytes / FRAME_RATE / seconds) * 90));
          },
        }),
      ]).catch((err) => {
        throw budget.timeoutError(err) ?? mapError(err, src.absolute);
      });
      const answer = new Promise<FromMarkWorker>((resolve) => worker.once("message", resolve));
      const copies = keys.map((k) => new Uint8Array(k).buffer);
      worker.postMessage({ end: true, keys: copies } satisfies ToMarkWorker, copies);
      const m = await Promise.race([answer, failed]);
      if ("error" in m) throw new Error(`reading the watermark failed: ${m.error}`);
      return m.detections;
    } finally {
      await worker.terminate();
    }
  });
}
