// AI analysis cover selection, with ffmpeg's own analysers: ~20 frames sampled over the video
// (scaled to 360 lines) through signalstats and blurdetect in one run; the sharpest frame that is
// neither dark, washed out nor flat is extracted at full size in a second run.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeAtomically } from "../run.js";
import { ffmpeg } from "./ffmpeg.js";
import { runJob } from "./job.js";
import { parseMetadataPrint } from "./qualityInspect.js";
import type { JobContext } from "./types.js";

const SAMPLES = 20;

export interface CoverPick {
  time: number;
  /** 0..100: higher for sharper frames (blurdetect 0 → 100, 10 or more → 0). */
  confidence: number;
}

/** Chooses a cover frame of `input` and writes it to `out` (jpg). */
export async function pickCover(ctx: JobContext, input: string, out: string): Promise<CoverPick> {
  return runJob(ctx, input, { video: true, runs: [4, 1] }, async (job) => {
    const { src, budget, progress } = job;
    const interval = Math.max(0.04, src.duration / SAMPLES || 1);
    const meta = join(dirname(out), "cover-frames.txt");
    const esc = (p: string) => `'${p.replace(/\\/g, "\\\\").replace(/'/g, "'\\''").replace(/:/g, "\\:")}'`;
    await ffmpeg(ctx, budget, src, {
      args: [
        ...job.threadArgs.global,
        ...job.threadArgs.input,
        ...["-i", `file:${src.absolute}`, "-map", `0:${src.videoIndex}`],
        "-vf",
        `fps=1/${interval},scale=-2:'min(360,ih)':flags=fast_bilinear,format=yuv420p,signalstats,blurdetect,` +
          `metadata=mode=print:file=${esc(meta)}`,
        ...["-f", "null", "-"],
      ],
      durationSec: src.duration,
      onProgress: progress.run(0),
    });
    const frames = parseMetadataPrint(await readFile(meta, "utf8").catch(() => ""));
    const num = (f: (typeof frames)[number], k: string) => Number(f.m[k]);
    const scored = frames.map((f) => ({
      t: f.t,
      blur: num(f, "lavfi.blur"),
      ok:
        num(f, "lavfi.signalstats.YAVG") >= 30 &&
        num(f, "lavfi.signalstats.YAVG") <= 225 &&
        num(f, "lavfi.signalstats.YMAX") - num(f, "lavfi.signalstats.YMIN") >= 40,
    }));
    const pool = scored.some((s) => s.ok) ? scored.filter((s) => s.ok) : scored;
    const best = pool.reduce<(typeof pool)[number] | undefined>(
      (a, s) => (!a || (Number.isFinite(s.blur) && s.blur < a.blur) ? s : a),
      undefined,
    );
    const time = best && Number.isFinite(best.t) ? Math.max(0, best.t) : 0;
    await writeAtomically(out, (tmp) =>
      ffmpeg(ctx, budget, src, {
        args: [
          ...["-ss", String(time), "-i", `file:${src.absolute}`, "-map", `0:${src.videoIndex}`],
          ...["-frames:v", "1", "-q:v", "2", "-f", "image2", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", tmp],
        ],
        onProgress: progress.run(1),
      }),
    );
    const blur = best?.blur ?? NaN;
    const confidence = Number.isFinite(blur) ? Math.max(0, Math.min(100, 100 - blur * 10)) : 50;
    return { time: Math.round(time * 1000) / 1000, confidence: Math.round(confidence * 100) / 100 };
  });
}
