// Frames for the models: one ffmpeg run decodes the source, samples it every `interval` seconds
// (fps filter), scales it and writes raw rgb24 frames to a pipe, read with backpressure (ffmpeg is
// paused while two frames wait), so memory stays flat whatever the length of the video.
import type { Readable } from "node:stream";
import { runProcess } from "../run.js";
import type { MediaTools } from "../tools.js";
import type { Frame } from "./protocol.js";

export interface FrameSampling {
  input: string;
  /** Absolute index of the video stream to read. */
  videoIndex: number;
  /** Seconds between sampled frames. */
  interval: number;
  width: number;
  height: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** A picture, not a video: its one frame (the fps filter would give none). */
  still?: boolean;
}

/** The frame size for a source of w x h: at most `max` pixels on its longer side, even sizes. */
export function frameSize(w: number, h: number, max: number): { width: number; height: number } {
  const k = Math.min(1, max / Math.max(w, h, 1));
  const even = (v: number) => Math.max(2, Math.round((v * k) / 2) * 2);
  return { width: even(w), height: even(h) };
}

/** A box [x1, y1, x2, y2] found on a scaled frame, in the source's pixels (kx, ky: source / frame). */
export function scaleBox(b: readonly number[], kx: number, ky: number): [number, number, number, number] {
  return [Math.round(b[0]! * kx), Math.round(b[1]! * ky), Math.round(b[2]! * kx), Math.round(b[3]! * ky)];
}

/**
 * Calls onFrame for each sampled frame in order (at `index * interval` seconds), one at a time;
 * answers how many there were. An onFrame failure kills ffmpeg and is thrown.
 */
export async function eachFrame(
  tools: MediaTools,
  s: FrameSampling,
  onFrame: (frame: Frame, time: number, index: number) => Promise<void>,
): Promise<number> {
  const size = s.width * s.height * 3;
  const stop = new AbortController();
  const onAbort = () => stop.abort(s.signal?.reason);
  s.signal?.addEventListener("abort", onAbort, { once: true });
  const queue: Buffer[] = [];
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let stream: Readable | undefined;
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: unknown;
  const run = runProcess({
    name: "ffmpeg",
    command: tools.ffmpeg,
    args: [
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-i", s.input],
      ...["-map", `0:${s.videoIndex}`, "-an", "-sn", "-dn"],
      ...(s.still
        ? ["-frames:v", "1", "-vf", `scale=${s.width}:${s.height}:flags=bilinear,setsar=1`]
        : ["-vf", `fps=fps=1/${s.interval},scale=${s.width}:${s.height}:flags=bilinear,setsar=1`]),
      ...["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
    ],
    timeoutMs: s.timeoutMs,
    signal: stop.signal,
    onStdoutStream: (out) => (stream = out),
    onStdout(chunk) {
      partial.push(chunk);
      partialBytes += chunk.length;
      while (partialBytes >= size) {
        const all = Buffer.concat(partial);
        queue.push(all.subarray(0, size));
        const rest = all.subarray(size);
        partial = rest.length ? [rest] : [];
        partialBytes = rest.length;
      }
      if (queue.length >= 2) stream?.pause();
      wake?.();
    },
  }).then(
    () => {
      ended = true;
      wake?.();
    },
    (err: unknown) => {
      failure = err;
      ended = true;
      wake?.();
    },
  );
  let index = 0;
  try {
    for (;;) {
      const buf = queue.shift();
      if (buf) {
        if (queue.length < 2) stream?.resume();
        // A copy the worker thread can own (the pipe's buffers are pooled).
        const data = new Uint8Array(size);
        data.set(buf);
        await onFrame({ data, width: s.width, height: s.height }, index * s.interval, index);
        index++;
        continue;
      }
      if (ended) break;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  } catch (err) {
    stop.abort(err);
    await run;
    throw err;
  } finally {
    s.signal?.removeEventListener("abort", onAbort);
  }
  if (failure) throw failure;
  return index;
}
