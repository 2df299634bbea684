// Section 9 of `npm run bench` ("watermark"): the cost of openvod's invisible digital watermark.
//   - the transcode of a 1280x720 clip to preset 100010 with a copyright mark against the same
//     transcode without (the very ffmpeg commands openvod runs, built by transcodeArgs, run bare;
//     rounds alternate which goes first); goal ≤ 1.3×;
//   - the PSNR of the marked output against the unmarked one;
//   - the extraction (extractMark: the ffmpeg grey-frame pipe and the worker thread's
//     correlation search) in seconds per minute of video, and whether it found the payload.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { PRESETS } from "../src/domain/templates/presets.js";
import { extractMark, transcodeArgs } from "../src/media/jobs/index.js";
import { runFfmpeg } from "../src/media/run.js";
import type { MediaTools } from "../src/media/tools.js";
import { log, median, round } from "./stats.js";
import { jobContext, runBare } from "./transcode.js";

export interface WatermarkOptions {
  tools: MediaTools;
  source: string;
  seconds: number;
  rounds: number;
  scratch: string;
  threads: number;
  goal: number;
}

export interface WatermarkSummary {
  seconds: number;
  plainSeconds: number;
  markedSeconds: number;
  ratio: number | null;
  goal: number;
  goalMet: boolean;
  psnrY: number | null;
  extractSeconds: number;
  extractSecondsPerMinute: number | null;
  found: boolean;
}

const PAYLOAD = 0x2a5c01de;

export async function benchWatermark(o: WatermarkOptions): Promise<WatermarkSummary> {
  const template = PRESETS.Transcode.find((p) => String(p.Definition) === "100010")!;
  const key = createHash("sha256").update("bench").digest();
  const ctx = jobContext(o.tools, o.threads);
  const plainOut = join(o.scratch, "wm-plain.mp4");
  const markedOut = join(o.scratch, "wm-marked.mp4");
  const base = { sourceDuration: o.seconds };
  const plainArgs = await transcodeArgs(ctx, o.source, plainOut, template, base);
  const markedArgs = await transcodeArgs(ctx, o.source, markedOut, template, {
    ...base,
    digitalMark: { key, payload: PAYLOAD, dir: o.scratch },
  });
  const plain: number[] = [];
  const marked: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const order = r % 2 === 0 ? ["plain", "marked"] : ["marked", "plain"];
    for (const who of order) {
      if (who === "plain") plain.push(await runBare(o.tools, plainArgs));
      else marked.push(await runBare(o.tools, markedArgs));
      log(`watermark round ${r + 1}: ${who} done`);
    }
  }
  const stats = join(o.scratch, "wm-psnr.log");
  await runFfmpeg(o.tools, {
    args: [
      "-i",
      markedOut,
      "-i",
      plainOut,
      "-lavfi",
      `[0:v][1:v]psnr=stats_file=${stats}`,
      "-f",
      "null",
      "-",
    ],
    timeoutMs: 600_000,
  });
  const lines = readFileSync(stats, "utf8").trim().split("\n");
  const mse = lines.reduce((a, l) => a + Number(/mse_y:([\d.]+)/.exec(l)?.[1] ?? NaN), 0) / lines.length;
  const t0 = performance.now();
  const [d] = await extractMark(ctx, markedOut, [key]);
  const extractSeconds = (performance.now() - t0) / 1000;
  const plainSeconds = median(plain);
  const markedSeconds = median(marked);
  const ratio = round(markedSeconds / plainSeconds, 3);
  return {
    seconds: o.seconds,
    plainSeconds: round(plainSeconds, 2)!,
    markedSeconds: round(markedSeconds, 2)!,
    ratio,
    goal: o.goal,
    goalMet: ratio !== null && ratio <= o.goal,
    psnrY: round(10 * Math.log10((255 * 255) / mse), 2),
    extractSeconds: round(extractSeconds, 2)!,
    extractSecondsPerMinute: round((extractSeconds / Math.min(o.seconds, 600)) * 60, 2),
    found: d?.payload === PAYLOAD,
  };
}

export function reportWatermark(s: WatermarkSummary): string[] {
  return [
    `10. Digital watermark on a ${s.seconds} s 1280x720 clip, preset 100010: marked transcode ${s.markedSeconds} s, ` +
      `unmarked ${s.plainSeconds} s, ratio ${s.ratio} (goal ≤ ${s.goal}: ${s.goalMet ? "met" : "NOT met"}); ` +
      `PSNR (Y) marked vs unmarked ${s.psnrY} dB`,
    `   extraction ${s.extractSeconds} s, ${s.extractSecondsPerMinute} s per minute of video; ` +
      `payload ${s.found ? "found" : "NOT found"}`,
  ];
}
