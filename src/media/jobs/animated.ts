// AnimatedGraphics: a GIF (palettegen + paletteuse in one filtergraph) or an animated WebP of a
// stretch of the video, written atomically.

import { writeAtomically } from "../run.js";
import { loadCaps } from "./caps.js";
import { ffmpeg } from "./ffmpeg.js";
import { runJob, type Job } from "./job.js";
import { resolveWindow } from "./source.js";
import { num, secs, str } from "./values.js";
import { addScale, FilterGraph, targetGeometry } from "./geometry.js";
import { badParameter, type JobContext, type Template } from "./types.js";

export interface AnimatedOptions {
  /** Seconds; 0 = the beginning / the end; negative counts from the end. */
  startTimeOffset: number;
  endTimeOffset: number;
  sourceDuration: number;
}

export async function animatedGraphic(
  ctx: JobContext,
  input: string,
  output: string,
  template: Template,
  o: AnimatedOptions,
): Promise<void> {
  const format = str(template.Format, "gif").toLowerCase();
  if (format !== "gif" && format !== "webp")
    throw badParameter(`unsupported animated graphics Format ${format}`);
  await runJob(ctx, input, { video: true }, (job) => animate(ctx, job, output, format, template, o));
}

async function animate(
  ctx: JobContext,
  { budget, src, threads, threadArgs: t, progress }: Job,
  output: string,
  format: string,
  template: Template,
  o: AnimatedOptions,
): Promise<void> {
  const caps = await loadCaps(ctx);
  const duration = src.duration || o.sourceDuration;
  const win = resolveWindow(duration, o.startTimeOffset, o.endTimeOffset);
  const length = (Number.isFinite(win.end) ? win.end : duration) - win.start;
  const fps = Math.min(100, num(template.Fps) > 0 ? num(template.Fps) : 10);
  const quality = Math.min(100, Math.max(1, num(template.Quality, 75) || 75));
  const geo = targetGeometry(src, template, { even: false });
  const args = [...t.global];
  if (win.start > 0) args.push("-ss", secs(win.start));
  if (Number.isFinite(win.end)) args.push("-t", secs(length));
  args.push(...t.input, "-i", `file:${src.absolute}`);
  const g = new FilterGraph();
  let pad = addScale(g, `0:${src.videoIndex}`, geo, [`fps=${secs(fps)}`]);
  if (format === "gif") {
    const a = g.label("pa");
    const b = g.label("pb");
    const pal = g.label("pp");
    const out = g.label("po");
    const colors = Math.max(16, Math.min(256, Math.round(quality * 2.56)));
    g.add(`[${pad}]split=2[${a}][${b}]`);
    g.add(`[${a}]palettegen=max_colors=${colors}:stats_mode=diff[${pal}]`);
    g.add(`[${b}][${pal}]paletteuse=dither=sierra2_4a:diff_mode=rectangle[${out}]`);
    pad = out;
    args.push("-filter_complex", g.toString(), "-map", `[${pad}]`, "-c:v", "gif", "-loop", "0", "-f", "gif");
  } else {
    const encoder = caps.encoders.has("libwebp_anim") ? "libwebp_anim" : "libwebp";
    args.push("-filter_complex", g.toString(), "-map", `[${pad}]`, "-c:v", encoder);
    args.push("-quality", String(Math.round(quality)), "-loop", "0", "-f", "webp");
  }
  args.push("-threads", String(threads), "-an", "-map_metadata", "-1");
  await writeAtomically(output, (tmp) =>
    ffmpeg(ctx, budget, src, { args: [...args, tmp], durationSec: length, onProgress: progress.run(0) }),
  );
}
