// Content types by file extension, for the files openvod stores and serves. The values are the
// ones @fastify/static sends for the local directory (the `mime` package), so a FileUrl answers
// with the same Content-Type whichever storage holds it.
import { extname } from "node:path";

const TYPES: Record<string, string> = {
  // video
  mp4: "video/mp4",
  m4v: "video/x-m4v",
  mov: "video/quicktime",
  mkv: "video/x-matroska",
  webm: "video/webm",
  flv: "video/x-flv",
  ts: "video/mp2t",
  m4s: "video/iso.segment",
  avi: "video/x-msvideo",
  wmv: "video/x-ms-wmv",
  asf: "video/x-ms-asf",
  "3gp": "video/3gpp",
  mpg: "video/mpeg",
  mpeg: "video/mpeg",
  mxf: "application/mxf",
  rm: "application/vnd.rn-realmedia",
  rmvb: "application/vnd.rn-realmedia-vbr",
  // streaming manifests and subtitles
  m3u8: "application/vnd.apple.mpegurl",
  mpd: "application/dash+xml",
  vtt: "text/vtt",
  srt: "application/x-subrip",
  // audio
  m4a: "audio/mp4",
  mp3: "audio/mpeg",
  aac: "audio/x-aac",
  wav: "audio/wav",
  flac: "audio/x-flac",
  ogg: "audio/ogg",
  opus: "audio/ogg",
  wma: "audio/x-ms-wma",
  amr: "audio/amr",
  // images
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp",
  heic: "image/heic",
  tif: "image/tiff",
  tiff: "image/tiff",
  svg: "image/svg+xml",
  // other
  json: "application/json",
  txt: "text/plain",
};

/** The Content-Type of a key by its extension (text types with charset=utf-8, as send does). */
export function contentTypeOf(key: string): string | undefined {
  const type = TYPES[extname(key).slice(1).toLowerCase()];
  if (!type) return undefined;
  return type.startsWith("text/") || type === "application/json" ? `${type}; charset=utf-8` : type;
}
