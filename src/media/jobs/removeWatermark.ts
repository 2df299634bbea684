// RemoveWatermark: find a static overlay (a logo or caption box: pixels that keep their sharp
// edges while the picture around them changes) and remove it with ffmpeg's delogo.
// Finding it: ffmpeg samples 16 frames across the source as small grey pictures; per pixel, the
// spread over time and the edge strength of the mean picture mark "static and textured"; the
// largest such blob is the overlay. A picture that barely moves cannot tell an overlay from the
// scene, and a source without such a blob has no overlay: both end without a made-up result.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ProbedMedia } from "../probe.js";
import { ffmpeg, greyFrameArgs, JobProgress } from "./ffmpeg.js";
import { runJob, type Job } from "./job.js";
import { transcode } from "./transcode.js";
import type { JobContext, Template } from "./types.js";

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const SAMPLES = 16;
const WIDTH = 160;
/** Grey levels: a pixel whose values spread less than this over time is static. */
const STATIC_SPREAD = 3;
/** Grey levels of edge strength that make a static pixel part of an overlay, not a flat area. */
const EDGE = 48;

/** The overlay's box in a grid of grey frames, or a reason there is none. */
export function staticOverlay(frames: Uint8Array[], w: number, h: number): { box?: Box; reason?: string } {
  const n = w * h;
  const mean = new Float32Array(n);
  const spread = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let lo = 255;
    let hi = 0;
    let sum = 0;
    for (const f of frames) {
      const v = f[i]!;
      sum += v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    mean[i] = sum / frames.length;
    spread[i] = hi - lo;
  }
  const moving = spread.filter((s) => s > STATIC_SPREAD * 4).length;
  if (moving < n * 0.3)
    return { reason: "the picture barely changes, so a static overlay cannot be told from the scene" };
  const mask = new Uint8Array(n);
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const edge = Math.abs(mean[i + 1]! - mean[i - 1]!) + Math.abs(mean[i + w]! - mean[i - w]!);
      if (spread[i]! <= STATIC_SPREAD && edge >= EDGE) mask[i] = 1;
    }
  // Blobs of static edges, joined across small gaps (a logo's strokes): 4-neighbour flood fill
  // over the mask dilated by 2 pixels.
  const grown = new Uint8Array(n);
  for (let i = 0; i < n; i++)
    if (mask[i])
      for (let dy = -2; dy <= 2; dy++)
        for (let dx = -2; dx <= 2; dx++) {
          const x = (i % w) + dx;
          const y = Math.floor(i / w) + dy;
          if (x >= 0 && y >= 0 && x < w && y < h) grown[y * w + x] = 1;
        }
  const seen = new Uint8Array(n);
  let best: { box: Box; edges: number } | undefined;
  for (let start = 0; start < n; start++) {
    if (!grown[start] || seen[start]) continue;
    const stack = [start];
    seen[start] = 1;
    let [x0, y0, x1, y1, edges] = [w, h, 0, 0, 0];
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w;
      const y = Math.floor(i / w);
      if (mask[i]) edges++;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
      for (const j of [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, i - w, i + w])
        if (j >= 0 && j < n && grown[j] && !seen[j]) {
          seen[j] = 1;
          stack.push(j);
        }
    }
    if (!best || edges > best.edges) best = { box: { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 }, edges };
  }
  if (!best || best.edges < 12) return { reason: "no static overlay was found" };
  if (best.box.w * best.box.h > n * 0.25)
    return { reason: "the static part of the picture is too large to be an overlay" };
  return { box: best.box };
}

/** Samples the source and finds its overlay, in source pixels. */
export async function findOverlay(
  ctx: JobContext,
  input: string,
  scratch: string,
): Promise<{ box?: Box; reason?: string }> {
  return runJob(ctx, input, { video: true }, (job) => sampleAndFind(ctx, scratch, job));
}

async function sampleAndFind(
  ctx: JobContext,
  scratch: string,
  { budget, src, threadArgs: t }: Job,
): Promise<{ box?: Box; reason?: string }> {
  const w = WIDTH;
  const h = Math.max(2, Math.round((WIDTH * src.height) / src.width / 2) * 2);
  const raw = path.join(scratch, "samples.gray");
  const rate = SAMPLES / Math.max(0.1, src.duration || 1);
  await ffmpeg(ctx, budget, src, {
    args: [
      ...greyFrameArgs(t, src, rate.toFixed(6), w, h),
      "-frames:v",
      String(SAMPLES),
      "-f",
      "rawvideo",
      raw,
    ],
  });
  const data = await readFile(raw);
  const frames: Uint8Array[] = [];
  for (let off = 0; off + w * h <= data.length; off += w * h) frames.push(data.subarray(off, off + w * h));
  if (frames.length < 4) return { reason: "the source is too short to tell an overlay from the scene" };
  const found = staticOverlay(frames, w, h);
  if (!found.box) return found;
  // Back to source pixels, with a margin; delogo needs the box inside the frame.
  const sx = src.width / w;
  const sy = src.height / h;
  const x = Math.max(1, Math.floor((found.box.x - 1) * sx));
  const y = Math.max(1, Math.floor((found.box.y - 1) * sy));
  const x2 = Math.min(src.width - 2, Math.ceil((found.box.x + found.box.w + 1) * sx));
  const y2 = Math.min(src.height - 2, Math.ceil((found.box.y + found.box.h + 1) * sy));
  return { box: { x, y, w: x2 - x, h: y2 - y } };
}

/** The source with `box` removed by delogo, re-encoded as `template` says. */
export async function removeOverlay(
  ctx: JobContext,
  input: string,
  output: string,
  template: Template,
  box: Box,
  sourceDuration: number,
): Promise<{ probed: ProbedMedia }> {
  const progress = new JobProgress(ctx.onProgress, 1);
  const result = await transcode({ ...ctx, onProgress: progress.run(0) }, input, output, template, {
    sourceDuration,
    videoFilters: [`delogo=x=${box.x}:y=${box.y}:w=${box.w}:h=${box.h}`],
  });
  progress.done();
  return result;
}
