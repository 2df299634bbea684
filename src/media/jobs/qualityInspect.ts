// InspectMediaQuality's ffmpeg side: one decoding pass with several of ffmpeg's own detectors,
// each writing its per-frame metadata to a file (metadata=print), parsed into time spans.
//   full rate, picture scaled to at most 360 lines: signalstats (solid colour, low/high light)
//     and freezedetect (frozen picture);
//   sampled every `sampleInterval` s at full size: blurdetect, bitplanenoise and cropdetect
//     (blur, noise, black edges);
// Mosaic is not among the checks: ffmpeg 5.1's blockdetect scores a frame by the frames before it
// (a planted second of 16x16 blocks scored 12-30 after clean frames, thousands on its own), so
// its spans would not be where the blocks are.
//   audio, per decoded frame: astats RMS and peak level (silence, low voice, clipping).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ffmpeg } from "./ffmpeg.js";
import { runJob, type Job } from "./job.js";
import type { JobContext } from "./types.js";

/** The checks this job runs (QualityInspectConfig.Type values). */
export const INSPECT_CHECKS = [
  "SolidColorScreen",
  "BlackWhiteEdge",
  "LowLighting",
  "HighLighting",
  "Blur",
  "Noise",
  "VideoDuplicatedFrame",
  "NoVoice",
  "LowVoice",
  "HighVoice",
] as const;
export type InspectCheck = (typeof INSPECT_CHECKS)[number];

/**
 * Default threshold of each check, in the unit its detector reports: luma levels (0-255) for
 * light and solid colour, blurdetect's and blockdetect's scores, bitplanenoise's first-plane
 * ratio, dBFS for audio levels, and the share of the frame (percent) a border must take.
 */
export const DEFAULT_THRESHOLDS: Record<InspectCheck, number> = {
  SolidColorScreen: 10, // luma range (max − min) at or below
  BlackWhiteEdge: 2, // a border of at least this percent of the width or height
  LowLighting: 50, // mean luma below
  HighLighting: 200, // mean luma above
  Blur: 8, // blurdetect above (sharp pictures score about 3-5)
  Noise: 0.7, // bitplanenoise of the lowest luma bit plane above (clean about 0.03-0.35)
  VideoDuplicatedFrame: -50, // freezedetect noise tolerance, dB
  NoVoice: -60, // RMS level below, dBFS
  LowVoice: -40, // RMS level below (and not silent), dBFS
  HighVoice: -0.1, // peak level at or above (clipping), dBFS
};

export interface InspectCheckConfig {
  threshold: number;
  /** Shortest span reported, seconds. */
  minDuration: number;
}

export interface InspectOptions {
  source: string;
  checks: Partial<Record<InspectCheck, InspectCheckConfig>>;
  /** Seconds between the frames the sampled detectors look at. */
  sampleInterval: number;
  /** Only these [start, end) windows of the source are inspected (TimeSpotCheck); all when absent. */
  windows?: Array<[number, number]>;
  /** Where the detectors' metadata files are written (the caller removes it). */
  scratch: string;
}

export interface InspectSpan {
  start: number;
  end: number;
  /** [x1, y1, x2, y2] of the abnormal area (BlackWhiteEdge). */
  area?: number[];
}

export interface InspectResult {
  noVideo: boolean;
  noAudio: boolean;
  duration: number;
  spans: Partial<Record<InspectCheck, InspectSpan[]>>;
}

const VIDEO_CHECKS: InspectCheck[] = [
  "SolidColorScreen",
  "LowLighting",
  "HighLighting",
  "VideoDuplicatedFrame",
];
const SAMPLED_CHECKS: InspectCheck[] = ["BlackWhiteEdge", "Blur", "Noise"];
const AUDIO_CHECKS: InspectCheck[] = ["NoVoice", "LowVoice", "HighVoice"];

interface Frame {
  t: number;
  m: Record<string, string>;
}

/** metadata=mode=print output: "frame:N pts:P pts_time:T" lines, each followed by key=value lines. */
export function parseMetadataPrint(text: string): Frame[] {
  const frames: Frame[] = [];
  let cur: Frame | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("frame:")) {
      const t = Number(/pts_time:(\S+)/.exec(line)?.[1]);
      cur = { t: Number.isFinite(t) ? t : NaN, m: {} };
      if (Number.isFinite(t)) frames.push(cur);
    } else if (cur) {
      const eq = line.indexOf("=");
      if (eq > 0) cur.m[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
  }
  return frames;
}

const value = (f: Frame, key: string): number => {
  const v = f.m[key];
  if (v === undefined) return NaN;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  return Number(v);
};

/**
 * Runs of flagged frames as spans: a frame covers [t, next frame's t); runs separated by less
 * than `gap` seconds are joined, and spans shorter than `minDuration` dropped.
 */
export function spansOf(
  frames: Frame[],
  end: number,
  flagged: (f: Frame) => boolean,
  minDuration: number,
  gap = 0,
): InspectSpan[] {
  const spans: InspectSpan[] = [];
  let open: InspectSpan | undefined;
  frames.forEach((f, i) => {
    const until = frames[i + 1]?.t ?? Math.max(end, f.t);
    if (!flagged(f)) return;
    if (open && f.t - open.end <= gap + 1e-6) open.end = until;
    else spans.push((open = { start: f.t, end: until }));
  });
  return spans.filter((s) => s.end - s.start >= minDuration - 1e-6);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function inWindows(windows: InspectOptions["windows"], t: number): boolean {
  return !windows || windows.some(([a, b]) => t >= a && t < b);
}

/** Spans minus the parts covered by `cover` (a solid screen is trivially a frozen one too). */
function subtract(spans: InspectSpan[], cover: InspectSpan[], minDuration: number): InspectSpan[] {
  let out = spans;
  for (const c of cover) {
    out = out.flatMap((s) => {
      if (c.end <= s.start || c.start >= s.end) return [s];
      const parts: InspectSpan[] = [];
      if (c.start > s.start) parts.push({ ...s, end: c.start });
      if (c.end < s.end) parts.push({ ...s, start: c.end });
      return parts;
    });
  }
  return out.filter((s) => s.end - s.start >= minDuration - 1e-6);
}

export async function inspectQuality(ctx: JobContext, o: InspectOptions): Promise<InspectResult> {
  return runJob(ctx, o.source, {}, (job) => inspect(ctx, o, job));
}

async function inspect(ctx: JobContext, o: InspectOptions, job: Job): Promise<InspectResult> {
  const { budget, src, progress } = job;
  const want = (c: InspectCheck) => o.checks[c] !== undefined;
  const runVideo = src.hasVideo && VIDEO_CHECKS.some(want);
  const runSampled = src.hasVideo && SAMPLED_CHECKS.some(want);
  const runAudio = src.hasAudio && AUDIO_CHECKS.some(want);
  const result: InspectResult = {
    noVideo: !src.hasVideo,
    noAudio: !src.hasAudio,
    duration: src.duration,
    spans: {},
  };
  if (!runVideo && !runSampled && !runAudio) {
    progress.done();
    return result;
  }

  const scratch = (name: string) => path.join(path.resolve(o.scratch), name);
  const files = { video: scratch("video.txt"), sampled: scratch("sampled.txt"), audio: scratch("audio.txt") };
  // Paths inside a filter graph: ' : \ , ; [ ] are special there.
  const q = (p: string) => `'${p.replace(/\\/g, "\\\\").replace(/'/g, "'\\''").replace(/:/g, "\\:")}'`;
  const chains: string[] = [];
  const outs: string[] = [];
  const v = `0:${src.videoIndex}`;
  const videoBranches = [runVideo, runSampled].filter(Boolean).length;
  let vin = [`[${v}]`];
  if (videoBranches === 2) {
    chains.push(`[${v}]split=2[vf][vs]`);
    vin = ["[vf]", "[vs]"];
  }
  if (runVideo) {
    const noise = o.checks.VideoDuplicatedFrame?.threshold ?? DEFAULT_THRESHOLDS.VideoDuplicatedFrame;
    const d = o.checks.VideoDuplicatedFrame?.minDuration ?? 1;
    chains.push(
      `${vin[0]}scale=-2:'min(360,ih)':flags=fast_bilinear,signalstats,freezedetect=n=${noise}dB:d=${Math.max(0.04, d)},` +
        `metadata=mode=print:file=${q(files.video)}[ov]`,
    );
    outs.push("[ov]");
  }
  if (runSampled) {
    chains.push(
      `${vin[videoBranches - 1]}fps=${1 / o.sampleInterval},format=yuv420p,blurdetect,bitplanenoise,` +
        `cropdetect=limit=24:round=2:reset=1,metadata=mode=print:file=${q(files.sampled)}[os]`,
    );
    outs.push("[os]");
  }
  if (runAudio) {
    chains.push(
      `[0:${src.audioIndex}]astats=metadata=1:reset=1:measure_perchannel=none:measure_overall=Peak_level+RMS_level,` +
        `ametadata=mode=print:file=${q(files.audio)}[oa]`,
    );
    outs.push("[oa]");
  }
  const t = job.threadArgs;
  await ffmpeg(ctx, budget, src, {
    args: [
      ...t.global,
      ...t.input,
      "-i",
      `file:${src.absolute}`,
      "-filter_complex",
      chains.join(";"),
      ...outs.flatMap((l) => ["-map", l]),
      "-f",
      "null",
      "-",
    ],
    durationSec: src.duration,
    onProgress: progress.run(0),
  });

  const end = src.duration;
  const read = async (f: string) =>
    parseMetadataPrint(await readFile(f, "utf8").catch(() => "")).filter((fr) => inWindows(o.windows, fr.t));
  const put = (c: InspectCheck, spans: InspectSpan[]) => {
    if (want(c)) result.spans[c] = spans.map((s) => ({ ...s, start: round(s.start), end: round(s.end) }));
  };
  const cfg = (c: InspectCheck) => o.checks[c] ?? { threshold: DEFAULT_THRESHOLDS[c], minDuration: 1 };

  let solid: InspectSpan[] = [];
  if (runVideo) {
    const frames = await read(files.video);
    const y = (f: Frame, k: string) => value(f, `lavfi.signalstats.${k}`);
    const isSolid = (f: Frame) =>
      y(f, "YMAX") - y(f, "YMIN") <= cfg("SolidColorScreen").threshold &&
      value(f, "lavfi.signalstats.UMAX") - value(f, "lavfi.signalstats.UMIN") <=
        cfg("SolidColorScreen").threshold &&
      value(f, "lavfi.signalstats.VMAX") - value(f, "lavfi.signalstats.VMIN") <=
        cfg("SolidColorScreen").threshold;
    solid = spansOf(frames, end, isSolid, cfg("SolidColorScreen").minDuration);
    put("SolidColorScreen", solid);
    put(
      "LowLighting",
      spansOf(
        frames,
        end,
        (f) => !isSolid(f) && y(f, "YAVG") < cfg("LowLighting").threshold,
        cfg("LowLighting").minDuration,
      ),
    );
    put(
      "HighLighting",
      spansOf(
        frames,
        end,
        (f) => !isSolid(f) && y(f, "YAVG") > cfg("HighLighting").threshold,
        cfg("HighLighting").minDuration,
      ),
    );
    // freezedetect marks the frame a freeze starts on and the one it ends on (none at the end).
    const freezes: InspectSpan[] = [];
    let start: number | undefined;
    for (const f of frames) {
      const s = f.m["lavfi.freezedetect.freeze_start"];
      if (s !== undefined) start = Number(s);
      const e = f.m["lavfi.freezedetect.freeze_end"];
      if (e !== undefined && start !== undefined) {
        freezes.push({ start, end: Number(e) });
        start = undefined;
      }
    }
    if (start !== undefined) freezes.push({ start, end });
    put("VideoDuplicatedFrame", subtract(freezes, solid, cfg("VideoDuplicatedFrame").minDuration));
  }
  if (runSampled) {
    const frames = (await read(files.sampled)).filter(
      (f) => !solid.some((s) => f.t >= s.start && f.t < s.end),
    );
    const gap = o.sampleInterval;
    const sampledSpans = (c: InspectCheck, flag: (f: Frame) => boolean) =>
      spansOf(frames, end, flag, Math.min(cfg(c).minDuration, o.sampleInterval), gap);
    put(
      "Blur",
      sampledSpans("Blur", (f) => value(f, "lavfi.blur") > cfg("Blur").threshold),
    );
    put(
      "Noise",
      sampledSpans("Noise", (f) => value(f, "lavfi.bitplanenoise.0.1") > cfg("Noise").threshold),
    );
    const share = cfg("BlackWhiteEdge").threshold / 100;
    const border = (f: Frame): number[] | undefined => {
      const c = (k: string) => value(f, `lavfi.cropdetect.${k}`);
      const [x1, y1, x2, y2] = [c("x1"), c("y1"), c("x2"), c("y2")];
      if (![x1, y1, x2, y2].every(Number.isFinite)) return undefined;
      const w = src.width;
      const h = src.height;
      if (y1 >= h * share) return [0, 0, w - 1, y1 - 1];
      if (h - 1 - y2 >= h * share) return [0, y2 + 1, w - 1, h - 1];
      if (x1 >= w * share) return [0, 0, x1 - 1, h - 1];
      if (w - 1 - x2 >= w * share) return [x2 + 1, 0, w - 1, h - 1];
      return undefined;
    };
    // One span per run of the same border: a letterbox after a pillarbox is a new finding.
    const areas = new Map<Frame, string | undefined>(frames.map((f) => [f, border(f)?.join(",")]));
    const kinds = [...new Set(areas.values())].filter((a): a is string => a !== undefined);
    const edges: InspectSpan[] = kinds.flatMap((a) =>
      sampledSpans("BlackWhiteEdge", (f) => areas.get(f) === a).map((s) => ({
        ...s,
        area: a.split(",").map(Number),
      })),
    );
    put(
      "BlackWhiteEdge",
      edges.sort((a, b) => a.start - b.start),
    );
  }
  if (runAudio) {
    const frames = await read(files.audio);
    const rms = (f: Frame) => value(f, "lavfi.astats.Overall.RMS_level");
    const silent = (f: Frame) => rms(f) < cfg("NoVoice").threshold;
    put("NoVoice", spansOf(frames, end, silent, cfg("NoVoice").minDuration));
    put(
      "LowVoice",
      spansOf(
        frames,
        end,
        (f) => !silent(f) && rms(f) < cfg("LowVoice").threshold,
        cfg("LowVoice").minDuration,
      ),
    );
    // Clipping is an event, not a state: any clipped frame counts, nearby ones join.
    put(
      "HighVoice",
      spansOf(
        frames,
        end,
        (f) => value(f, "lavfi.astats.Overall.Peak_level") >= cfg("HighVoice").threshold,
        0,
        0.1,
      ),
    );
  }
  progress.done();
  return result;
}
