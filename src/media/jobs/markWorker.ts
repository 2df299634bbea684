// The thread that reads a digital watermark (markDetect.ts): block means of the grey frames the
// main thread forwards from ffmpeg's pipe, then the correlation search. Nothing per pixel runs
// on the event loop.
import { parentPort } from "node:worker_threads";
import { BlockMeans, detect, type Detection } from "./markDetect.js";

export type ToMarkWorker = { frames: ArrayBuffer } | { end: true; keys: ArrayBuffer[] };
export type FromMarkWorker = { detections: Detection[] } | { error: string };

const means = new BlockMeans();
parentPort!.on("message", (m: ToMarkWorker) => {
  try {
    if ("frames" in m) {
      means.push(new Uint8Array(m.frames));
      return;
    }
    const detections = m.keys.map((k) => detect(means.list(), Buffer.from(k)));
    parentPort!.postMessage({ detections } satisfies FromMarkWorker);
  } catch (err) {
    parentPort!.postMessage({
      error: err instanceof Error ? err.message : String(err),
    } satisfies FromMarkWorker);
  }
});
