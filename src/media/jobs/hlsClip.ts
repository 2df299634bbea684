// Cutting and joining HLS media without re-encoding (FastEditMedia, SimpleHlsClip): playlist
// surgery at segment precision. A clip keeps the segments that overlap the wanted window; the
// ClipMode decides whether a segment the end falls inside is kept. Joined sources are separated
// by EXT-X-DISCONTINUITY (their timestamps and init segments differ).

export interface Segment {
  /** The URI as the playlist lists it. */
  uri: string;
  /** #EXTINF seconds, and where the segment starts in its playlist. */
  duration: number;
  start: number;
  /** The fMP4 init segment (EXT-X-MAP URI) it needs, if any. */
  map?: string;
}

export interface MediaPlaylist {
  version: number;
  segments: Segment[];
  duration: number;
}

/** Reads a VOD media playlist; a master playlist or one without segments is refused (undefined). */
export function parsePlaylist(text: string): MediaPlaylist | undefined {
  if (!text.trimStart().startsWith("#EXTM3U") || /#EXT-X-STREAM-INF/.test(text)) return undefined;
  const segments: Segment[] = [];
  let version = 3;
  let map: string | undefined;
  let pending: number | undefined;
  let at = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const v = /^#EXT-X-VERSION:(\d+)/.exec(line);
    if (v) version = Number(v[1]);
    const m = /^#EXT-X-MAP:.*URI="([^"]+)"/.exec(line);
    if (m) map = m[1];
    const inf = /^#EXTINF:([\d.]+)/.exec(line);
    if (inf) pending = Number(inf[1]);
    else if (line && !line.startsWith("#") && pending !== undefined) {
      segments.push({ uri: line, duration: pending, start: at, map });
      at += pending;
      pending = undefined;
    }
  }
  return segments.length ? { version, segments, duration: at } : undefined;
}

export type ClipMode = "StartInclusiveEndInclusive" | "StartInclusiveEndExclusive";

/**
 * The segments of [start, end) (seconds; end beyond the playlist means its end). The segment the
 * start falls in is always kept; the one the end falls inside only with EndInclusive.
 */
export function clipSegments(pl: MediaPlaylist, start: number, end: number, mode: ClipMode): Segment[] {
  const eps = 1e-6;
  return pl.segments.filter((s) => {
    const segEnd = s.start + s.duration;
    if (segEnd <= start + eps || s.start >= end - eps) return false;
    if (mode === "StartInclusiveEndExclusive" && segEnd > end + eps && s.start > start + eps) return false;
    return true;
  });
}

/**
 * The window the API's offsets mean on a playlist of `duration` seconds: 0/absent = the start or
 * the end, negative = counted from the end. Undefined when it is empty.
 */
export function clipWindow(
  duration: number,
  startOffset = 0,
  endOffset = 0,
): { start: number; end: number } | undefined {
  const start = Math.max(0, startOffset < 0 ? duration + startOffset : startOffset);
  const end = Math.min(
    duration,
    endOffset < 0 ? duration + endOffset : endOffset === 0 ? duration : endOffset,
  );
  return end > start && start < duration ? { start, end } : undefined;
}

/** A VOD playlist of the parts in order, each part's segments under its own URIs. */
export function renderPlaylist(parts: { segments: Segment[] }[]): string {
  const all = parts.flatMap((p) => p.segments);
  const target = Math.max(1, ...all.map((s) => Math.ceil(s.duration)));
  const fmp4 = all.some((s) => s.map);
  const lines = [
    "#EXTM3U",
    `#EXT-X-VERSION:${fmp4 ? 7 : 3}`,
    `#EXT-X-TARGETDURATION:${target}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:VOD",
  ];
  let map: string | undefined;
  parts.forEach((p, i) => {
    if (!p.segments.length) return;
    if (i > 0 && lines.length > 5) lines.push("#EXT-X-DISCONTINUITY");
    for (const s of p.segments) {
      if (s.map && s.map !== map) lines.push(`#EXT-X-MAP:URI="${s.map}"`);
      map = s.map;
      lines.push(`#EXTINF:${s.duration.toFixed(6)},`, s.uri);
    }
  });
  lines.push("#EXT-X-ENDLIST", "");
  return lines.join("\n");
}
