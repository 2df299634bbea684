// Test media generated on the fly with ffmpeg's lavfi sources (no binary fixtures in the repo).
// Keep it tiny: the suite runs on 2 cores.

import path from "node:path";
import { runFfmpeg, writeAtomically } from "../../src/media/run.js";
import type { MediaTools } from "../../src/media/tools.js";

const TIMEOUT_MS = 60_000;

export interface VideoOptions {
  width?: number;
  height?: number;
  seconds?: number;
  fps?: number;
  audio?: boolean;
  /** The container is chosen by ffmpeg from outPath's extension (mp4, mov, mkv, ts...). */
  container?: string;
  /** A plain colour (lavfi color source, e.g. "red") instead of testsrc2: tells parts apart. */
  color?: string;
  /** Sine frequency of the audio track (Hz). */
  tone?: number;
}

/** A testsrc2 video (libx264, yuv420p) with an optional 440 Hz sine track (aac, 48 kHz). */
/** H.264 at the fastest preset in the pixel format every player takes: test media, encoded quickly. */
export const FAST_H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] as const;

/** Runs ffmpeg with `args` and then the output, written under a temporary name and renamed. */
export async function ffmpegTo(
  tools: MediaTools,
  out: string,
  args: readonly string[],
  timeoutMs = TIMEOUT_MS,
) {
  await writeAtomically(out, (tmp) => runFfmpeg(tools, { args: [...args, tmp], timeoutMs }));
}

export async function makeVideo(tools: MediaTools, outPath: string, o: VideoOptions = {}): Promise<void> {
  const { width = 320, height = 240, seconds = 2, fps = 25, audio = true, tone = 440 } = o;
  const picture = o.color ? `color=c=${o.color}:` : "testsrc2=";
  const args = ["-f", "lavfi", "-i", `${picture}size=${width}x${height}:rate=${fps}:duration=${seconds}`];
  if (audio) args.push("-f", "lavfi", "-i", `sine=frequency=${tone}:sample_rate=48000:duration=${seconds}`);
  args.push("-map", "0:v:0");
  if (audio) args.push("-map", "1:a:0");
  args.push("-t", String(seconds), ...FAST_H264);
  if (audio) args.push("-c:a", "aac", "-b:a", "64k");
  await ffmpegTo(tools, outPath, [...args, ...containerArgs(o.container)]);
}

/** A 440 Hz sine: mp3 (libmp3lame) for .mp3, pcm for .wav, otherwise aac (e.g. .m4a). */
export async function makeAudio(tools: MediaTools, outPath: string, seconds = 2): Promise<void> {
  const ext = path.extname(outPath).toLowerCase();
  const codec =
    ext === ".mp3" ? ["-c:a", "libmp3lame"] : ext === ".wav" ? ["-c:a", "pcm_s16le"] : ["-c:a", "aac"];
  const args = [
    "-f",
    "lavfi",
    "-i",
    `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    "-t",
    String(seconds),
  ];
  await writeAtomically(outPath, (tmp) =>
    runFfmpeg(tools, { args: [...args, ...codec, "-b:a", "64k", tmp], timeoutMs: TIMEOUT_MS }),
  );
}

/** One testsrc2 frame written as a single image (png for .png; the extension picks the codec). */
export async function makeImage(tools: MediaTools, outPath: string, w = 320, h = 240): Promise<void> {
  // -update 1: one file, never an image-sequence pattern (a "%" in the name stays literal).
  const args = ["-f", "lavfi", "-i", `testsrc2=size=${w}x${h}:rate=1`, "-frames:v", "1", "-update", "1"];
  await writeAtomically(outPath, (tmp) => runFfmpeg(tools, { args: [...args, tmp], timeoutMs: TIMEOUT_MS }));
}

function containerArgs(container: string | undefined): string[] {
  // Only needed when the extension does not name the muxer.
  return container ? ["-f", container] : [];
}
