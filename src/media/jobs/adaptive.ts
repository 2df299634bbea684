// AdaptiveDynamicStreaming: every rendition of the template in ONE ffmpeg run (the decoded picture
// is split once per rendition), packaged as HLS (hls muxer with var_stream_map and a master
// playlist) or DASH (dash muxer). Built in a temporary directory that is renamed into place.
//
// ffmpeg's master playlist states the encoders' nominal bitrates, which are absent with CRF; the
// master is rewritten with BANDWIDTH = the peak segment bitrate and AVERAGE-BANDWIDTH = the
// average one, measured on the segments written (RFC 8216 4.3.4.2).

import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  audioArgs,
  audioCodec,
  checkVideoContainer,
  colorPlan,
  videoArgs,
  videoCodec,
  type AudioCodec,
  type VideoCodec,
} from "./codecs.js";
import { loadCaps } from "./caps.js";
import type { Capabilities } from "./caps.js";
import { checkComplete, ffmpeg } from "./ffmpeg.js";
import type { SourceInfo } from "./source.js";
import { writeConcatList, type TranscodePiece } from "./transcode.js";
import { writeAtomically } from "../run.js";
import { runJob, type Job } from "./job.js";
import { patternSafe, produceDir } from "./outputs.js";
import { num, secs, str } from "./values.js";
import { addScale, FilterGraph, targetGeometry, type Geometry } from "./geometry.js";
import { playlistSegments } from "./hls.js";
import { badParameter, type JobContext, type Template, type Watermark } from "./types.js";
import { planWatermarks } from "./watermark.js";

export interface AdaptiveOptions {
  watermarks?: Watermark[];
  sourceDuration: number;
}

export interface AdaptiveStream {
  /** HLS: the variant playlist; DASH: the representation's init segment. Relative to outDir. */
  file: string;
  type: "video" | "audio";
  width: number;
  height: number;
  /** Measured average bitrate, bps. */
  bitrate: number;
  /** Video codec (h264, hevc, av1), or the audio codec of an audio-only stream. */
  codec: string;
  /** Bytes of this stream's segments (and init segment / playlist). */
  size: number;
}

export interface AdaptiveResult {
  /** master.m3u8 or manifest.mpd, relative to outDir. */
  manifest: string;
  streams: AdaptiveStream[];
  /** Bytes of everything written (MediaTranscodeItem-style Size: manifests + segments). */
  size: number;
}

interface Rendition {
  video?: { codec: VideoCodec; template: Template; geo: Geometry };
  audio?: { codec: AudioCodec; template: Template };
}

export async function adaptiveStreaming(
  ctx: JobContext,
  input: string,
  outDir: string,
  template: Template,
  o: AdaptiveOptions,
): Promise<AdaptiveResult> {
  const { dash, infos } = checkAdaptive(template);
  return runJob(ctx, input, {}, (job) => adaptive(ctx, job, outDir, template, o, dash, infos));
}

/** What the renditions of a template are on this source, and how they are packaged. */
interface AdaptivePlan {
  src: SourceInfo;
  caps: Capabilities;
  dash: boolean;
  fmp4: boolean;
  duration: number;
  renditions: Rendition[];
  videos: Rendition[];
  perEncoder: number;
  segment: number;
  fps: number;
  firstFps: number;
  maxBitrate: number;
  audioTemplates: NonNullable<Rendition["audio"]>[];
  audioIndexOf: Map<Rendition, number>;
}

async function planAdaptive(
  ctx: JobContext,
  { src, threads }: Job,
  template: Template,
  o: AdaptiveOptions,
  dash: boolean,
  infos: Template[],
): Promise<AdaptivePlan> {
  const caps = await loadCaps(ctx);
  const duration = src.duration || o.sourceDuration;
  const container = dash ? "dash" : "hls";
  // HLS segments: MPEG-TS by default, fragmented MP4 for SegmentType fmp4 / mp4-*.
  const fmp4 = !dash && /^(fmp4|mp4)/i.test(str(template.SegmentType));
  const noUpscale = num(template.DisableHigherVideoResolution) === 1;
  const maxBitrate = num(template.DisableHigherVideoBitrate) === 1 ? src.videoBitrate : 0;

  const renditions: Rendition[] = [];
  const seenAudioOnly = new Set<string>();
  for (const info of infos) {
    const r: Rendition = {};
    if (num(info.RemoveVideo) !== 1 && src.hasVideo) {
      const vt: Template = info.Video ?? {};
      const codec = await videoCodec(vt.Codec, caps);
      checkVideoContainer(codec, container);
      r.video = { codec, template: vt, geo: targetGeometry(src, vt, { even: true, noUpscale }) };
    }
    if (num(info.RemoveAudio) !== 1 && src.hasAudio) {
      const at: Template = info.Audio ?? {};
      r.audio = { codec: audioCodec(at.Codec, container, caps), template: at };
    }
    if (!r.video && !r.audio) continue;
    if (!r.video) {
      // Audio-only renditions that are alike are produced once (e.g. every rendition of an audio source).
      const key = JSON.stringify([r.audio!.codec.encoder, r.audio!.template]);
      if (seenAudioOnly.has(key)) continue;
      seenAudioOnly.add(key);
    }
    renditions.push(r);
  }
  if (renditions.length === 0) {
    throw badParameter(src.hasVideo ? "the source has no audio stream" : "the source has no video stream");
  }

  const videos = renditions.filter((r) => r.video);
  const perEncoder = Math.max(1, Math.floor(threads / Math.max(1, videos.length)));
  const segment = num(template.SegmentDuration) > 0 ? Math.min(10, num(template.SegmentDuration)) : 6;
  // "各个子流的帧率必须保持一致；如果不一致，采用第一个子流的帧率": the first rendition's Fps for all.
  const firstFps = num(videos[0]?.video?.template.Fps);
  const fps = firstFps > 0 ? firstFps : src.fps;

  const audios = renditions.filter((r) => r.audio);
  // DASH keeps audio in its own adaptation set: identical audio settings are encoded once.
  const audioKeys: string[] = [];
  const audioIndexOf = new Map<Rendition, number>();
  for (const r of audios) {
    const key = dash ? JSON.stringify([r.audio!.codec.encoder, r.audio!.template]) : String(audioKeys.length);
    let idx = audioKeys.indexOf(key);
    if (idx < 0) {
      idx = audioKeys.length;
      audioKeys.push(key);
    }
    audioIndexOf.set(r, idx);
  }
  const audioTemplates = audioKeys.map((_, i) => audios.find((r) => audioIndexOf.get(r) === i)!.audio!);
  return {
    src,
    caps,
    dash,
    fmp4,
    duration,
    renditions,
    videos,
    perEncoder,
    segment,
    fps,
    firstFps,
    maxBitrate,
    audioTemplates,
    audioIndexOf,
  };
}

/**
 * The ffmpeg inputs, filters, maps and encoders of the renditions: all of them (one run), or,
 * for a piece of a segmented run, only the video from a cut point, or only the audio.
 */
function encodeArgs(
  p: AdaptivePlan,
  { threadArgs: t }: Job,
  o: AdaptiveOptions,
  part: "all" | "video" | "audio" = "all",
  start = 0,
): string[] {
  const { src, caps, videos, dash, fmp4, audioTemplates } = p;
  const withVideo = part !== "audio" && videos.length > 0;
  const withAudio = part !== "video";
  const args = [...t.global, ...(start > 0 ? ["-ss", secs(start)] : []), ...t.input, "-i", `file:${src.absolute}`];
  const wm = planWatermarks(withVideo ? o.watermarks : [], {
    firstInput: 1,
    copies: videos.length,
    allowText: true,
    outputDuration: p.duration,
  });
  args.push(...wm.inputArgs);
  const g = new FilterGraph();
  const maps: string[] = [];
  const encode: string[] = [];
  if (withVideo) {
    const first = videos[0]!.video!;
    const color = colorPlan(src, first.template, first.codec, caps);
    const pre = [
      // A piece's timestamps from 0 after the seek, so the fps filter starts on its first frame.
      ...(part === "video" ? ["setpts=PTS-STARTPTS"] : []),
      ...(p.firstFps > 0 ? [`fps=${secs(p.firstFps)}`] : []),
      ...color.pre,
    ];
    let pads = [`0:${src.videoIndex}`];
    if (pre.length || videos.length > 1) {
      pads = videos.map(() => g.label("vs"));
      const filters = [...pre, videos.length > 1 ? `split=${videos.length}` : "null"];
      g.add(`[0:${src.videoIndex}]${filters.join(",")}${pads.map((x) => `[${x}]`).join("")}`);
    }
    videos.forEach((r, i) => {
      const v = r.video!;
      const c = colorPlan(src, v.template, v.codec, caps);
      let pad = addScale(g, pads[i]!, v.geo, [], c.post);
      pad = wm.apply(g, pad, v.geo, i);
      maps.push("-map", `[${pad}]`);
      const spec = `v:${i}`;
      const enc = videoArgs({
        spec,
        codec: v.codec,
        template: v.template,
        fps: p.fps,
        threads: p.perEncoder,
        keyframeEvery: p.segment,
        maxBitrate: p.maxBitrate,
        mp4: dash || fmp4,
        hdr10bit: c.hdr10bit,
      });
      encode.push(...enc.args, ...c.colorArgs(spec));
    });
  }
  if (withAudio) {
    if (audioTemplates.length > 1) {
      const pads = audioTemplates.map(() => g.label("as"));
      g.add(`[0:${src.audioIndex}]asplit=${pads.length}${pads.map((x) => `[${x}]`).join("")}`);
      pads.forEach((x) => maps.push("-map", `[${x}]`));
    } else if (audioTemplates.length === 1) {
      maps.push("-map", `0:${src.audioIndex}`);
    }
    audioTemplates.forEach((a, i) =>
      encode.push(...audioArgs(`a:${i}`, a.codec, a.template, src.audioChannels, dash ? "dash" : "hls")),
    );
  }
  if (!g.empty) args.push("-filter_complex", g.toString());
  args.push(...maps, ...encode, "-map_metadata", "-1", "-map_chapters", "-1");
  return args;
}

async function adaptive(
  ctx: JobContext,
  job: Job,
  outDir: string,
  template: Template,
  o: AdaptiveOptions,
  dash: boolean,
  infos: Template[],
): Promise<AdaptiveResult> {
  const plan = await planAdaptive(ctx, job, template, o, dash, infos);
  return packageAdaptive(ctx, job, plan, outDir, encodeArgs(plan, job, o));
}

/** Runs `args` (the renditions' encoders, or a join's copies) into the HLS or DASH package. */
async function packageAdaptive(
  ctx: JobContext,
  { budget, progress }: Job,
  plan: AdaptivePlan,
  outDir: string,
  args: string[],
): Promise<AdaptiveResult> {
  const { src, caps, dash, fmp4, renditions, videos, audioTemplates, audioIndexOf, segment, duration, fps } = plan;
  return produceDir(outDir, async (tmp) => {
    if (dash) {
      const manifest = "manifest.mpd";
      const sets = [
        videos.length ? "id=0,streams=v" : "",
        audioTemplates.length ? `id=${videos.length ? 1 : 0},streams=a` : "",
      ];
      const mux = ["-f", "dash", "-seg_duration", secs(segment), "-use_template", "1", "-use_timeline", "1"];
      mux.push("-init_seg_name", "init-$RepresentationID$.m4s");
      mux.push("-media_seg_name", "chunk-$RepresentationID$-$Number%05d$.m4s");
      mux.push("-adaptation_sets", sets.filter(Boolean).join(" "));
      await ffmpeg(ctx, budget, src, {
        args: [...args, ...mux, path.join(tmp, manifest)],
        durationSec: duration,
        onProgress: progress.run(0),
      });
      return dashResult(tmp, manifest, videos, audioTemplates, duration);
    }
    const varMap = renditions.map((r) => {
      const parts: string[] = [];
      if (r.video) parts.push(`v:${videos.indexOf(r)}`);
      if (r.audio) parts.push(`a:${audioIndexOf.get(r)}`);
      return parts.join(",");
    });
    const mux = ["-f", "hls", "-hls_time", secs(segment), "-hls_playlist_type", "vod", "-hls_list_size", "0"];
    mux.push("-var_stream_map", varMap.join(" "));
    // ffmpeg's master only lends its CODECS to ours (hlsResult); not asked of a muxer that crashes on it.
    if (caps.hlsMaster) mux.push("-master_pl_name", "master.m3u8");
    if (fmp4) {
      mux.push("-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "stream_%v_init.mp4");
      mux.push("-hls_segment_filename", patternSafe(tmp) + "/stream_%v_%05d.m4s");
    } else {
      mux.push("-hls_segment_filename", patternSafe(tmp) + "/stream_%v_%05d.ts");
    }
    await ffmpeg(ctx, budget, src, {
      args: [...args, ...mux, patternSafe(tmp) + "/stream_%v.m3u8"],
      durationSec: duration,
      onProgress: progress.run(0),
    });
    return hlsResult(tmp, renditions, fps);
  });
}

/** The package format and renditions of a template, refused (40000) before any work when openvod cannot make them. */
function checkAdaptive(template: Template): { dash: boolean; infos: Template[] } {
  const format = str(template.Format, "HLS").toUpperCase();
  const dash = format === "DASH" || format === "MPEG-DASH";
  if (!dash && format !== "HLS") throw badParameter(`unsupported adaptive streaming Format ${format}`);
  if (str(template.DrmType)) throw badParameter(`DRM (${template.DrmType}) is not supported by openvod`);
  const infos: Template[] = Array.isArray(template.StreamInfos) ? template.StreamInfos : [];
  if (infos.length === 0) throw badParameter("the template has no StreamInfos");
  if (infos.length > 10) throw badParameter("at most 10 StreamInfos");
  return { dash, infos };
}

/**
 * One piece of a segmented adaptive-streaming job, into an mp4 file: every rendition's video
 * (one stream each, in rendition order) from a cut point for a number of frames, or every audio
 * rendition's stream, the whole of it. See transcodePiece.
 */
export async function adaptivePiece(
  ctx: JobContext,
  input: string,
  output: string,
  template: Template,
  o: AdaptiveOptions,
  piece: TranscodePiece,
): Promise<void> {
  const { dash, infos } = checkAdaptive(template);
  await runJob(ctx, input, {}, async (job) => {
    const plan = await planAdaptive(ctx, job, template, o, dash, infos);
    const video = piece.kind === "video";
    const args = encodeArgs(plan, job, o, piece.kind, video ? piece.start : 0);
    if (video && piece.frames > 0) args.push("-frames:v", String(piece.frames));
    const seconds = video && piece.frames > 0 ? piece.frames / piece.fps : plan.duration - (video ? piece.start : 0);
    await writeAtomically(output, async (tmp) => {
      await ffmpeg(ctx, job.budget, plan.src, {
        args: [...args, "-f", "mp4", tmp],
        durationSec: seconds,
        onProgress: job.progress.run(0),
      });
      await checkComplete(ctx, job.budget, plan.src, tmp, seconds);
    });
  });
}

/** Packages the pieces of a segmented adaptive-streaming job without re-encoding (see joinTranscode). */
export async function joinAdaptive(
  ctx: JobContext,
  input: string,
  videoPieces: string[],
  audioPiece: string | undefined,
  listFile: string,
  outDir: string,
  template: Template,
  o: AdaptiveOptions,
): Promise<AdaptiveResult> {
  const { dash, infos } = checkAdaptive(template);
  await writeConcatList(listFile, videoPieces);
  return runJob(ctx, input, {}, async (job) => {
    const plan = await planAdaptive(ctx, job, template, o, dash, infos);
    const args = ["-f", "concat", "-safe", "0", "-i", `file:${path.resolve(listFile)}`];
    if (audioPiece) args.push("-i", `file:${path.resolve(audioPiece)}`);
    plan.videos.forEach((_, i) => args.push("-map", `0:v:${i}`));
    if (audioPiece) plan.audioTemplates.forEach((_, i) => args.push("-map", `1:a:${i}`));
    args.push("-c", "copy", "-map_metadata", "-1", "-map_chapters", "-1");
    return packageAdaptive(ctx, job, plan, outDir, args);
  });
}

interface SegmentStats {
  bytes: number;
  seconds: number;
  peakBps: number;
}

/** Sizes and durations of the segments a variant playlist lists (plus its init segment and itself). */
async function playlistStats(dir: string, playlist: string): Promise<SegmentStats> {
  const list = await playlistSegments(dir, playlist);
  // Very short last segments would exaggerate the peak: count them as at least 1 s.
  const peakBps = Math.max(0, ...list.segments.map((seg) => (seg.bytes * 8) / Math.max(1, seg.seconds)));
  return { bytes: list.bytes + list.playlistBytes, seconds: list.seconds, peakBps };
}

async function hlsResult(dir: string, renditions: Rendition[], fps: number): Promise<AdaptiveResult> {
  const streams: AdaptiveStream[] = [];
  const stats: SegmentStats[] = [];
  for (const [i, r] of renditions.entries()) {
    const file = `stream_${i}.m3u8`;
    const s = await playlistStats(dir, file);
    stats.push(s);
    streams.push({
      file,
      type: r.video ? "video" : "audio",
      width: r.video?.geo.width ?? 0,
      height: r.video?.geo.height ?? 0,
      bitrate: s.seconds > 0 ? Math.round((s.bytes * 8) / s.seconds) : 0,
      codec: r.video ? r.video.codec.codec : r.audio!.codec.codec,
      size: s.bytes,
    });
  }
  // Our own master playlist: ffmpeg 5.1 leaves out every variant whose nominal bitrate is unknown
  // (CRF video without audio) and states nominal bandwidths. Its CODECS strings are kept.
  const masterPath = path.join(dir, "master.m3u8");
  const codecs = new Map<string, string>();
  let version = 3;
  const ffMaster = await readFile(masterPath, "utf8").catch(() => "");
  const lines = ffMaster.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith("#EXT-X-STREAM-INF:")) continue;
    const uri = lines
      .slice(i + 1)
      .find((l) => l.trim() && !l.startsWith("#"))
      ?.trim();
    const c = parseAttributes(line.slice("#EXT-X-STREAM-INF:".length)).get("CODECS");
    if (uri && c) codecs.set(uri, c);
  }
  for (const st of streams) {
    const v = /#EXT-X-VERSION:(\d+)/.exec(await readFile(path.join(dir, st.file), "utf8"));
    if (v) version = Math.max(version, Number(v[1]));
  }
  const out = ["#EXTM3U", `#EXT-X-VERSION:${version}`, "#EXT-X-INDEPENDENT-SEGMENTS"];
  for (const [i, st] of streams.entries()) {
    const s = stats[i]!;
    const r = renditions[i]!;
    const average = Math.max(1, Math.round((s.bytes * 8) / Math.max(1e-3, s.seconds)));
    const attrs = [`BANDWIDTH=${Math.max(average, Math.round(s.peakBps))}`, `AVERAGE-BANDWIDTH=${average}`];
    const c = codecs.get(st.file);
    if (c) attrs.push(`CODECS=${c}`);
    if (r.video) {
      attrs.push(`RESOLUTION=${r.video.geo.width}x${r.video.geo.height}`);
      if (fps > 0) attrs.push(`FRAME-RATE=${(Math.round(fps * 1000) / 1000).toFixed(3)}`);
    }
    out.push(`#EXT-X-STREAM-INF:${attrs.join(",")}`, st.file, "");
  }
  await writeFile(masterPath, out.join("\n"));
  const size = await dirSize(dir);
  return { manifest: "master.m3u8", streams, size };
}

/** An HLS attribute list (quoted strings may hold commas). Keeps the order. */
function parseAttributes(s: string): Map<string, string> {
  const m = new Map<string, string>();
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  let x: RegExpExecArray | null;
  while ((x = re.exec(s))) m.set(x[1]!, x[2]!);
  return m;
}

async function dashResult(
  dir: string,
  manifest: string,
  videos: Rendition[],
  audios: NonNullable<Rendition["audio"]>[],
  duration: number,
): Promise<AdaptiveResult> {
  const names = await readdir(dir);
  const streams: AdaptiveStream[] = [];
  const sizeOf = async (rep: number) => {
    let bytes = 0;
    for (const n of names) {
      if (n === `init-${rep}.m4s` || n.startsWith(`chunk-${rep}-`))
        bytes += (await stat(path.join(dir, n))).size;
    }
    return bytes;
  };
  // Representation ids follow the output stream order: videos first, then audios.
  for (const [i, r] of videos.entries()) {
    const bytes = await sizeOf(i);
    streams.push({
      file: `init-${i}.m4s`,
      type: "video",
      width: r.video!.geo.width,
      height: r.video!.geo.height,
      bitrate: duration > 0 ? Math.round((bytes * 8) / duration) : 0,
      codec: r.video!.codec.codec,
      size: bytes,
    });
  }
  for (const [a, audio] of audios.entries()) {
    const rep = videos.length + a;
    const bytes = await sizeOf(rep);
    streams.push({
      file: `init-${rep}.m4s`,
      type: "audio",
      width: 0,
      height: 0,
      bitrate: duration > 0 ? Math.round((bytes * 8) / duration) : 0,
      codec: audio.codec.codec,
      size: bytes,
    });
  }
  return { manifest, streams, size: await dirSize(dir) };
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const n of await readdir(dir)) total += (await stat(path.join(dir, n))).size;
  return total;
}
