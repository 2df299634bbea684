// What an HLS output really weighs. ffprobe reads a playlist's bitrate as the playlist file's own
// size over the duration (a few hundred bit/s) and reports no stream bitrates at all, so the
// MetaData of an HLS output is measured here instead: the total from the segments' bytes, each
// stream's from the sizes of its packets.

import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { ProbedMedia } from "../probe.js";
import { runProcess } from "../run.js";
import type { MediaTools } from "../tools.js";

export interface PlaylistSegments {
  /** Bytes of the media segments and of the fMP4 init segment, without the playlist. */
  bytes: number;
  /** Bytes of the playlist file itself. */
  playlistBytes: number;
  /** Sum of the #EXTINF durations. */
  seconds: number;
  /** Each media segment's bytes and #EXTINF duration, in playlist order. */
  segments: { bytes: number; seconds: number }[];
}

/** Sizes and durations of what a media playlist lists; paths are relative to `dir`. */
export async function playlistSegments(dir: string, playlist: string): Promise<PlaylistSegments> {
  const file = path.join(dir, playlist);
  const text = await readFile(file, "utf8");
  const out: PlaylistSegments = {
    bytes: 0,
    playlistBytes: (await stat(file)).size,
    seconds: 0,
    segments: [],
  };
  let pending: number | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const inf = /^#EXTINF:([\d.]+)/.exec(line);
    if (inf) {
      pending = Number(inf[1]);
      continue;
    }
    const map = /^#EXT-X-MAP:URI="([^"]+)"/.exec(line);
    if (map) {
      out.bytes += (await stat(path.join(dir, map[1]!))).size;
      continue;
    }
    if (line && !line.startsWith("#") && pending !== undefined) {
      const bytes = (await stat(path.join(dir, line))).size;
      out.bytes += bytes;
      out.seconds += pending;
      out.segments.push({ bytes, seconds: pending });
      pending = undefined;
    }
  }
  return out;
}

/** Payload bytes per stream index and each index's codec_type, from ffprobe's packet list. */
async function packetBytes(
  tools: MediaTools,
  playlistFile: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Map<number, { type: string; bytes: number }>> {
  const perStream = new Map<number, { type: string; bytes: number }>();
  let rest = "";
  const take = (line: string) => {
    const m = /^(\w+),(\d+),(\d+)/.exec(line);
    if (!m) return;
    const index = Number(m[2]);
    const s = perStream.get(index) ?? { type: m[1]!, bytes: 0 };
    s.bytes += Number(m[3]);
    perStream.set(index, s);
  };
  // Streamed line by line: a long video lists hundreds of thousands of packets.
  await runProcess({
    name: "ffprobe",
    command: tools.ffprobe,
    args: [
      "-v",
      "error",
      "-show_entries",
      "packet=codec_type,stream_index,size",
      "-of",
      "csv=p=0",
      `file:${path.resolve(playlistFile)}`,
    ],
    timeoutMs,
    signal,
    onStdout: (chunk) => {
      const lines = (rest + chunk.toString("latin1")).split("\n");
      rest = lines.pop() ?? "";
      lines.forEach(take);
    },
  });
  take(rest);
  return perStream;
}

/**
 * The probe of an HLS playlist with real bitrates: Bitrate = segment bytes × 8 / duration, and
 * every stream whose bitrate ffprobe left at 0 gets its packets' bytes × 8 / duration (the k-th
 * video/audio stream of the packet list is VideoStreamSet[k] / AudioStreamSet[k], the order
 * interpretProbe keeps). Container overhead (MPEG-TS headers) is in the total only.
 */
export async function measureHls(
  tools: MediaTools,
  playlistFile: string,
  probed: ProbedMedia,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbedMedia> {
  const list = await playlistSegments(path.dirname(playlistFile), path.basename(playlistFile));
  const m = probed.metaData;
  const duration = m.Duration > 0 ? m.Duration : list.seconds;
  if (duration <= 0) return probed;
  const bps = (bytes: number) => Math.round((bytes * 8) / duration);
  const streams = [...(await packetBytes(tools, playlistFile, timeoutMs, signal)).entries()]
    .sort(([a], [b]) => a - b)
    .map(([, s]) => s);
  const ofType = (type: string) => streams.filter((s) => s.type === type).map((s) => bps(s.bytes));
  const video = ofType("video");
  const audio = ofType("audio");
  return {
    ...probed,
    metaData: {
      ...m,
      Bitrate: bps(list.bytes),
      VideoStreamSet: m.VideoStreamSet.map((v, i) => (v.Bitrate > 0 ? v : { ...v, Bitrate: video[i] ?? 0 })),
      AudioStreamSet: m.AudioStreamSet.map((a, i) => (a.Bitrate > 0 ? a : { ...a, Bitrate: audio[i] ?? 0 })),
    },
  };
}
