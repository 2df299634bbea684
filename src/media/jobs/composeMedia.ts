// ComposeMedia: a multi-track timeline rendered by one ffmpeg filter graph. Video and sticker
// items are laid over a canvas in track order (later tracks on top), each shown from its start
// on the timeline for its length; audio (of audio items and of video items) is delayed to its
// place and mixed. Video and audio tracks place their items one after the other: an empty item
// is a gap, a transition pulls the next item earlier by its length and fades it in (the audio
// of the item before fades out). The request was checked by the action (src/actions/editing.ts):
// what reaches here is what openvod renders.
import type { ProbedMedia } from "../probe.js";
import { loadCaps } from "./caps.js";
import { audioArgs, audioCodec, videoArgs, videoCodec } from "./codecs.js";
import { renderPlanned, type PlannedRun } from "./editMedia.js";
import { Budget, threadArgs, throwIfAborted } from "./ffmpeg.js";
import { FilterGraph } from "./geometry.js";
import { inspectSource, type SourceInfo } from "./source.js";
import { badParameter, type JobContext, type Template } from "./types.js";
import { num, secs, str } from "./values.js";

/** ComposeMediaRequest's Tracks, Canvas and Output (spec shapes). */
export interface ComposeSpec {
  Tracks: Template[];
  Canvas?: Template | null;
  Output: Template;
}

export interface ComposeResult {
  probed: ProbedMedia;
}

/** Where an item sits on the output timeline, and how it enters and leaves. */
interface Placed {
  kind: "Video" | "Audio" | "Sticker";
  item: Template;
  src: SourceInfo;
  /** Seconds into the source, seconds of source used, seconds on the timeline. */
  from: number;
  length: number;
  shown: number;
  start: number;
  fadeIn: { video: number; audio: number };
  fadeOut: { audio: number };
  label: string;
}

const AUDIO_RATE = 48000;

/** "10%" of `whole`, or "10px"; undefined when empty. */
function measure(v: unknown, whole: number): number | undefined {
  const s = str(v).trim();
  if (!s) return undefined;
  const n = parseFloat(s);
  return s.endsWith("%") ? (n / 100) * whole : n;
}

function transitionOf(item: Template): { duration: number; video: boolean; audio: boolean } {
  const types = ((item.MediaTransitions ?? []) as Template[]).map((t) => str(t.Type));
  return {
    duration: num(item.Duration),
    video: types.includes("ImageFadeInFadeOut"),
    audio: types.includes("AudioFadeInFadeOut"),
  };
}

async function placeItems(
  ctx: JobContext,
  budget: Budget,
  spec: ComposeSpec,
  sources: (id: string) => string,
): Promise<Placed[]> {
  const inspected = new Map<string, SourceInfo>();
  const source = async (id: string) => {
    let s = inspected.get(id);
    if (!s) inspected.set(id, (s = await inspectSource(ctx, budget, sources(id))));
    return s;
  };
  const placed: Placed[] = [];
  for (const [t, track] of spec.Tracks.entries()) {
    let cursor = 0;
    let pending: ReturnType<typeof transitionOf> | undefined;
    let previous: Placed | undefined;
    for (const [i, entry] of (track.TrackItems as Template[]).entries()) {
      const label = `Tracks[${t}].TrackItems[${i}]`;
      const type = str(entry.Type);
      if (type === "Empty") {
        cursor += num(entry.EmptyItem?.Duration);
        continue;
      }
      if (type === "Transition") {
        pending = transitionOf(entry.TransitionItem ?? {});
        continue;
      }
      const kind = type as Placed["kind"];
      const item: Template = entry[`${kind}Item`] ?? {};
      const src = await source(str(item.SourceMedia));
      const image = src.category === "Image";
      if (kind === "Audio" && !src.hasAudio) throw badParameter(`${label}: the source has no audio`);
      if (kind !== "Audio" && !src.hasVideo) throw badParameter(`${label}: the source has no picture`);
      const from = kind === "Sticker" ? 0 : Math.max(0, num(item.SourceMediaStartTime));
      if (!image && from >= src.duration)
        throw badParameter(
          `${label}: SourceMediaStartTime ${from} is beyond the source's end (${src.duration} s)`,
        );
      const wanted = num(item.Duration);
      if (image && !(wanted > 0)) throw badParameter(`${label}: an image needs a Duration`);
      const length = image
        ? wanted
        : wanted > 0
          ? Math.min(wanted, src.duration - from)
          : src.duration - from;
      const shown = kind !== "Sticker" && num(item.TargetDuration) > 0 ? num(item.TargetDuration) : length;
      const p: Placed = {
        kind,
        item,
        src,
        from,
        length,
        shown,
        start: kind === "Sticker" ? Math.max(0, num(item.StartTime)) : cursor,
        fadeIn: { video: 0, audio: 0 },
        fadeOut: { audio: 0 },
        label,
      };
      if (kind !== "Sticker" && pending) {
        const d = Math.min(pending.duration, shown, previous ? previous.shown : Infinity);
        if (previous) p.start = Math.max(0, cursor - d);
        if (pending.video) p.fadeIn.video = d;
        if (pending.audio) {
          p.fadeIn.audio = d;
          if (previous) previous.fadeOut.audio = d;
        }
        pending = undefined;
      }
      if (kind !== "Sticker") {
        cursor = p.start + shown;
        previous = p;
      }
      placed.push(p);
    }
  }
  return placed;
}

/** The picture chain of one item: timing, operations, size, fade; returns its pad. */
function pictureOf(
  g: FilterGraph,
  input: number,
  p: Placed,
  canvas: { width: number; height: number },
  fps: number,
): { pad: string; x: number; y: number } {
  const { item, src } = p;
  const f: string[] = [`setpts=(PTS-STARTPTS)*${secs(p.shown / p.length)}`, `fps=${secs(fps)}`];
  let w0 = src.width;
  let h0 = src.height;
  for (const op of (item.ImageOperations ?? []) as Template[]) {
    if (str(op.Type) === "Flip") f.push(/^vert/i.test(str(op.Flip)) ? "vflip" : "hflip");
    else if (str(op.Type) === "Rotate" && num(op.RotateAngle) % 360 !== 0) {
      const a = `${secs(num(op.RotateAngle))}*PI/180`;
      f.push("format=rgba", `rotate=${a}:ow=rotw(${a}):oh=roth(${a}):c=black@0`);
      const r = (num(op.RotateAngle) * Math.PI) / 180;
      [w0, h0] = [
        Math.abs(w0 * Math.cos(r)) + Math.abs(h0 * Math.sin(r)),
        Math.abs(w0 * Math.sin(r)) + Math.abs(h0 * Math.cos(r)),
      ];
    }
  }
  let w = measure(item.Width, canvas.width);
  let h = measure(item.Height, canvas.height);
  if (w === undefined && h === undefined) [w, h] = [w0, h0];
  else if (w === undefined) w = (h! * w0) / h0;
  else if (h === undefined) h = (w * h0) / w0;
  const even = (v: number) => Math.max(2, Math.round(v / 2) * 2);
  const [W, H] = [even(w!), even(h!)];
  f.push(`scale=${W}:${H}`, "setsar=1", "format=yuva420p");
  if (p.fadeIn.video > 0) f.push(`fade=t=in:st=0:d=${secs(p.fadeIn.video)}:alpha=1`);
  f.push(`setpts=PTS+${secs(p.start)}/TB`);
  const pad = g.label("pic");
  g.add(`[${input}:${src.videoIndex}]${f.join(",")}[${pad}]`);
  const x0 = measure(item.XPos, canvas.width) ?? 0;
  const y0 = measure(item.YPos, canvas.height) ?? 0;
  const topLeft = str(item.CoordinateOrigin, "Center") === "TopLeft";
  const x = Math.round(topLeft ? x0 : canvas.width / 2 + x0 - W / 2);
  const y = Math.round(topLeft ? y0 : canvas.height / 2 + y0 - H / 2);
  return { pad, x, y };
}

/** atempo factors whose product is `k` (each within atempo's 0.5-2 range). */
function tempo(k: number): string[] {
  const out: string[] = [];
  while (k > 2) (out.push("atempo=2"), (k /= 2));
  while (k < 0.5) (out.push("atempo=0.5"), (k /= 0.5));
  if (Math.abs(k - 1) > 1e-6) out.push(`atempo=${k.toFixed(6)}`);
  return out;
}

/** The sound chain of one item: speed, volume, fades, its place on the timeline; undefined when muted. */
function soundOf(g: FilterGraph, input: number, p: Placed): string | undefined {
  const ops = ((p.item.AudioOperations ?? []) as Template[]).filter((o) => str(o.Type) === "Volume");
  if (ops.some((o) => num(o.VolumeParam?.Mute) === 1)) return undefined;
  const f = [
    "asetpts=PTS-STARTPTS",
    `aresample=${AUDIO_RATE}`,
    "aformat=sample_fmts=fltp:channel_layouts=stereo",
    ...tempo(p.length / p.shown),
    `atrim=duration=${secs(p.shown)}`,
  ];
  for (const o of ops) {
    const gain = num(o.VolumeParam?.Gain);
    if (gain > 0 && gain !== 1) f.push(`volume=${secs(gain)}`);
  }
  if (p.fadeIn.audio > 0) f.push(`afade=t=in:st=0:d=${secs(p.fadeIn.audio)}`);
  if (p.fadeOut.audio > 0)
    f.push(`afade=t=out:st=${secs(p.shown - p.fadeOut.audio)}:d=${secs(p.fadeOut.audio)}`);
  const ms = Math.round(p.start * 1000);
  if (ms > 0) f.push(`adelay=${ms}:all=1`);
  const pad = g.label("snd");
  g.add(`[${input}:${p.src.audioIndex}]${f.join(",")}[${pad}]`);
  return pad;
}

async function planCompose(
  ctx: JobContext,
  budget: Budget,
  spec: ComposeSpec,
  sources: (id: string) => string,
  threads: number,
): Promise<PlannedRun & { container: "mp4" | "mp3" }> {
  const caps = await loadCaps(ctx);
  const placed = await placeItems(ctx, budget, spec, sources);
  if (!placed.length) throw badParameter("the tracks hold no media");
  const total = Math.max(...placed.map((p) => p.start + p.shown));
  const out = spec.Output;
  const container = str(out.Container, "mp4").toLowerCase() === "mp3" ? "mp3" : "mp4";
  const pictures = placed.filter((p) => p.kind !== "Audio");
  const withVideo = container !== "mp3" && num(out.RemoveVideo) !== 1 && pictures.length > 0;
  const sounds = placed.filter((p) => p.kind !== "Sticker" && p.src.hasAudio);
  const withAudio = num(out.RemoveAudio) !== 1 && sounds.length > 0;
  if (!withVideo && !withAudio) throw badParameter("the composition has neither picture nor sound to output");

  const firstVideo = placed.find((p) => p.kind === "Video");
  const canvasT: Template = spec.Canvas ?? {};
  const even = (v: number) => Math.max(2, Math.round(v / 2) * 2);
  const canvas = {
    width: even(num(canvasT.Width) || firstVideo?.src.width || 1280),
    height: even(num(canvasT.Height) || firstVideo?.src.height || 720),
  };
  const fps = num(out.VideoStream?.Fps) || Math.round((firstVideo?.src.fps || 25) * 1000) / 1000;

  const t = threadArgs(threads);
  const args: string[] = [...t.global];
  const g = new FilterGraph();
  const inputs = new Map<Placed, number>();
  let n = 0;
  for (const p of placed) {
    const picture = withVideo && p.kind !== "Audio";
    const sound = withAudio && p.kind !== "Sticker" && p.src.hasAudio;
    if (!picture && !sound) continue;
    if (p.src.category === "Image") {
      args.push("-loop", "1", "-framerate", secs(fps), "-t", secs(p.length), "-i", `file:${p.src.absolute}`);
    } else {
      if (p.from > 0) args.push("-ss", secs(p.from));
      args.push("-t", secs(p.length), ...t.input, "-i", `file:${p.src.absolute}`);
    }
    inputs.set(p, n++);
  }
  if (withVideo) {
    const bg = str(canvasT.Color, "Black").toLowerCase() === "white" ? "white" : "black";
    let cur = g.label("canvas");
    g.add(
      `color=c=${bg}:s=${canvas.width}x${canvas.height}:r=${secs(fps)}:d=${secs(total)},format=yuv420p[${cur}]`,
    );
    for (const p of pictures) {
      const { pad, x, y } = pictureOf(g, inputs.get(p)!, p, canvas, fps);
      const next = g.label("layer");
      const end = p.start + p.shown;
      g.add(
        `[${cur}][${pad}]overlay=x=${x}:y=${y}:eof_action=pass:enable='between(t,${secs(p.start)},${secs(end)})'[${next}]`,
      );
      cur = next;
    }
    g.add(`[${cur}]format=yuv420p[v]`);
  }
  if (withAudio) {
    const pads = sounds.map((p) => soundOf(g, inputs.get(p)!, p)).filter((x): x is string => !!x);
    const tail = `apad,atrim=duration=${secs(total)}`;
    if (pads.length)
      g.add(
        `${pads.map((p) => `[${p}]`).join("")}amix=inputs=${pads.length}:normalize=0:duration=longest,${tail}[a]`,
      );
    else g.add(`anullsrc=r=${AUDIO_RATE}:cl=stereo,${tail}[a]`);
  }
  args.push("-filter_complex", g.toString());
  if (withVideo) {
    const codec = await videoCodec("libx264", caps);
    args.push(
      "-map",
      "[v]",
      ...videoArgs({ spec: "v:0", codec, template: {}, fps, threads, mp4: true }).args,
    );
  }
  if (withAudio) {
    const a: Template = out.AudioStream ?? {};
    const ac = audioCodec(container === "mp3" ? "libmp3lame" : "aac", container, caps);
    const template = {
      Bitrate: a.Bitrate,
      SampleRate: num(a.SampleRate) || 16000,
      AudioChannel: num(a.AudioChannel) || 2,
    };
    args.push("-map", "[a]", ...audioArgs("a:0", ac, template, 2, container));
  }
  args.push("-t", secs(total), "-map_metadata", "-1", "-map_chapters", "-1");
  return { args, duration: total, first: placed[0]!.src, container };
}

/** Renders the timeline to `output` (mp4 or mp3), atomically. */
export async function composeMedia(
  ctx: JobContext,
  spec: ComposeSpec,
  sources: (id: string) => string,
  output: string,
): Promise<ComposeResult> {
  throwIfAborted(ctx.signal);
  const budget = new Budget(ctx.timeoutMs);
  const lease = ctx.cpus.acquire();
  try {
    const plan = await planCompose(ctx, budget, spec, sources, lease.threads);
    return { probed: await renderPlanned(ctx, budget, plan, output, plan.container) };
  } finally {
    lease.release();
  }
}
