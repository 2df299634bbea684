// ImageSprites: frames sampled like SampleSnapshot, scaled to the cell size and laid out by
// ffmpeg's tile filter (RowCount × ColumnCount cells per sprite image), plus the WebVTT file that
// maps every sampled instant to its cell (`<url>#xywh=x,y,w,h`). One ffmpeg run: the sampled
// frames also go to a framecrc listing, which gives their exact number and timestamps.

import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { ffmpeg } from "./ffmpeg.js";
import { runJob, type Job } from "./job.js";
import { patternSafe, produceDir } from "./outputs.js";
import { num } from "./values.js";
import { addScale, FilterGraph, targetGeometry } from "./geometry.js";
import { imageFormat, sampleInterval, sampleSelect } from "./snapshots.js";
import { badParameter, badSource, type JobContext, type Template } from "./types.js";

/** The cloud's limit on a sprite image's width and height. */
const MAX_SPRITE_SIDE = 15000;

export interface SpriteOptions {
  sourceDuration: number;
  /** The URL a player will load sprite image `index` (file `fileName`) from, for the WebVTT. */
  spriteUrl: (index: number, fileName: string) => string;
}

export interface SpriteResult {
  /** Absolute paths of the sprite images, in order. */
  images: string[];
  /** Absolute path of the .vtt file. */
  webVtt: string;
  /** Number of small pictures (WebVTT cues) over all sprite images. */
  totalCount: number;
  /** Size of one small picture (MediaImageSpriteItem Width/Height). */
  width: number;
  height: number;
  /** RowCount × ColumnCount: the small pictures one sprite image holds. */
  cellsPerImage: number;
}

export async function imageSprites(
  ctx: JobContext,
  input: string,
  outDir: string,
  template: Template,
  o: SpriteOptions,
): Promise<SpriteResult> {
  const fmt = imageFormat(template.Format);
  const rows = Math.round(num(template.RowCount));
  const cols = Math.round(num(template.ColumnCount));
  if (rows < 1 || cols < 1) throw badParameter("RowCount and ColumnCount must be at least 1");
  return runJob(ctx, input, { video: true }, (job) =>
    sprites(ctx, job, outDir, template, o, { fmt, rows, cols }),
  );
}

async function sprites(
  ctx: JobContext,
  { budget, src, threads, threadArgs: t, progress }: Job,
  outDir: string,
  template: Template,
  o: SpriteOptions,
  { fmt, rows, cols }: { fmt: ReturnType<typeof imageFormat>; rows: number; cols: number },
): Promise<SpriteResult> {
  const duration = src.videoDuration || src.duration || o.sourceDuration;
  const interval = sampleInterval(template, duration);
  const geo = targetGeometry(src, template, { even: false });
  const cw = geo.width;
  const ch = geo.height;
  if (cols * cw > MAX_SPRITE_SIDE || rows * ch > MAX_SPRITE_SIDE) {
    throw badParameter(`a sprite image of ${cols * cw}x${rows * ch} exceeds ${MAX_SPRITE_SIDE} pixels`);
  }
  const vttName = "sprite.vtt";
  const result = await produceDir(outDir, async (tmp) => {
    const g = new FilterGraph();
    const scaled = addScale(g, `0:${src.videoIndex}`, geo, [sampleSelect(interval)]);
    const toTile = g.label("tt");
    const toList = g.label("tl");
    const tiled = g.label("ti");
    g.add(`[${scaled}]split=2[${toTile}][${toList}]`);
    g.add(`[${toTile}]tile=${cols}x${rows}[${tiled}]`);
    const listFile = path.join(tmp, ".frames.crc");
    const args = [...t.global, ...t.input, "-i", `file:${src.absolute}`, "-filter_complex", g.toString()];
    args.push("-vsync", "vfr");
    args.push("-map", `[${tiled}]`, ...fmt.codecArgs, "-threads", String(threads), "-f", "image2");
    args.push("-start_number", "0", path.join(patternSafe(tmp), `sprite_%d.${fmt.ext}`));
    args.push("-map", `[${toList}]`, "-c:v", "wrapped_avframe", "-f", "framecrc", listFile);
    await ffmpeg(ctx, budget, src, { args, durationSec: duration, onProgress: progress.run(0) });

    const times = parseFrameList(await readFile(listFile, "utf8"));
    const files = (await readdir(tmp))
      .filter((n) => n.startsWith("sprite_") && n.endsWith(`.${fmt.ext}`))
      .sort((a, b) => spriteIndex(a) - spriteIndex(b));
    if (times.length === 0 || files.length === 0)
      throw badSource("no video frame could be decoded from the source");
    const perImage = rows * cols;
    const count = Math.min(times.length, files.length * perImage);
    const cues: string[] = ["WEBVTT", ""];
    for (let i = 0; i < count; i++) {
      // The cue covers the sampling interval the frame was taken for.
      const k = Math.floor(times[i]! / interval + 1e-6);
      const start = Math.max(0, k * interval);
      let end = (k + 1) * interval;
      if (duration > start) end = Math.min(end, duration);
      const sheet = Math.floor(i / perImage);
      const cell = i % perImage;
      const x = (cell % cols) * cw;
      const y = Math.floor(cell / cols) * ch;
      const url = o.spriteUrl(sheet, files[sheet]!);
      cues.push(`${vttTime(start)} --> ${vttTime(end)}`, `${url}#xywh=${x},${y},${cw},${ch}`, "");
    }
    await writeFile(path.join(tmp, vttName), cues.join("\n"));
    await rm(listFile, { force: true });
    return { images: files, count };
  });
  const dir = path.resolve(outDir);
  return {
    images: result.images.map((n) => path.join(dir, n)),
    webVtt: path.join(dir, vttName),
    totalCount: result.count,
    width: cw,
    height: ch,
    cellsPerImage: rows * cols,
  };
}

function spriteIndex(name: string): number {
  const m = /_(\d+)\./.exec(name);
  return m ? Number(m[1]) : 0;
}

/** framecrc lines → presentation times in seconds ("#tb 0: 1/25" gives the time base). */
export function parseFrameList(text: string): number[] {
  let tb = 1 / 1000;
  const times: number[] = [];
  for (const line of text.split("\n")) {
    const tbm = /^#tb 0: (\d+)\/(\d+)/.exec(line);
    if (tbm) {
      tb = Number(tbm[1]) / Number(tbm[2]);
      continue;
    }
    if (line.startsWith("#") || !line.trim()) continue;
    const parts = line.split(",").map((s) => s.trim());
    const pts = Number(parts[2]);
    if (parts[0] === "0" && Number.isFinite(pts)) times.push(pts * tb);
  }
  return times;
}

/** Seconds → "HH:MM:SS.mmm". */
export function vttTime(sec: number): string {
  const ms = Math.round(sec * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}
