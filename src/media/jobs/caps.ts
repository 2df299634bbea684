// What this ffmpeg build can do (encoders, filters, muxer features), found out once per binary.
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runProcess } from "../run.js";
import type { MediaTools } from "../tools.js";
import type { JobContext } from "./types.js";
import { mapError } from "./ffmpeg.js";

export interface Capabilities {
  encoders: Set<string>;
  filters: Set<string>;
  /**
   * The hls muxer writes a master playlist over several variants. The 2018 build that
   * @ffmpeg-installer/ffmpeg ships crashes (SIGSEGV) when asked to, after writing the variants.
   */
  hlsMaster: boolean;
}

const capsCache = new Map<string, Promise<Capabilities>>();

export function capabilities(tools: MediaTools): Promise<Capabilities> {
  let p = capsCache.get(tools.ffmpeg);
  if (!p) {
    p = (async () => {
      const list = async (what: string) => {
        const { stdout } = await runProcess({
          name: "ffmpeg",
          command: tools.ffmpeg,
          args: ["-hide_banner", what],
          timeoutMs: 15_000,
          collectStdoutMax: 4 * 1024 * 1024,
        });
        const names = new Set<string>();
        for (const line of stdout.toString("utf8").split("\n")) {
          // " V....D libx264   description" and " TSC gblur   V->V   description".
          const m = /^\s*[A-Z.|]{3,6}\s+(\S+)\s/.exec(line);
          if (m) names.add(m[1]!);
        }
        return names;
      };
      // One after the other: a worker never has more than one ffmpeg child at a time.
      const encoders = await list("-encoders");
      const filters = await list("-filters");
      const hlsMaster = await writesHlsMaster(tools);
      return { encoders, filters, hlsMaster };
    })();
    // A failed listing is not cached: the next job tries again.
    p.catch(() => capsCache.delete(tools.ffmpeg));
    capsCache.set(tools.ffmpeg, p);
  }
  return p;
}

/** A tiny two-variant HLS run (mpeg2video: built into every ffmpeg) in a scratch directory. */
async function writesHlsMaster(tools: MediaTools): Promise<boolean> {
  const dir = await mkdtemp(path.join(tmpdir(), "openvod-caps-"));
  try {
    await runProcess({
      name: "ffmpeg",
      command: tools.ffmpeg,
      // -map 0:v twice without -filter_complex: a build without the filters still answers.
      args: [
        ...["-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "color=s=32x32:r=5:d=0.4"],
        ...["-map", "0:v", "-map", "0:v", "-c:v", "mpeg2video", "-f", "hls", "-hls_playlist_type", "vod"],
        ...["-master_pl_name", "master.m3u8", "-var_stream_map", "v:0 v:1", path.join(dir, "s_%v.m3u8")],
      ],
      timeoutMs: 15_000,
    });
    return (await stat(path.join(dir, "master.m3u8"))).size > 0;
  } catch {
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** What openvod offers that this build cannot do, for the log at start (empty when all is there). */
export function missingFeatures(caps: Capabilities): string[] {
  const missing: string[] = [];
  const encoder = (what: string, ...names: string[]) => {
    if (!names.some((n) => caps.encoders.has(n))) missing.push(`${what}: no ${names.join("/")} encoder`);
  };
  encoder("H.264 video", "libx264");
  encoder("H.265 video", "libx265");
  encoder("AV1 video", "libsvtav1", "libaom-av1", "librav1e");
  encoder("WebP animated graphics and pictures", "libwebp_anim", "libwebp");
  encoder("MP3 audio", "libmp3lame");
  encoder("Opus audio", "libopus");
  encoder("Vorbis audio", "libvorbis");
  const filter = (what: string, ...names: string[]) => {
    const absent = names.filter((n) => !caps.filters.has(n));
    if (absent.length) missing.push(`${what}: no ${absent.join("/")} filter`);
  };
  filter("text watermarks", "drawtext");
  filter("GIF animated graphics", "palettegen", "paletteuse");
  filter("image sprites", "tile");
  filter("HDR to SDR conversion", "zscale", "tonemap");
  if (!caps.hlsMaster) {
    missing.push(
      "CODECS in adaptive HLS master playlists: its hls muxer crashes writing a master playlist " +
        "(openvod writes the master itself, without CODECS)",
    );
  }
  return missing;
}

/** The build's capabilities for a job: a failed listing is the job's internal error. */
export async function loadCaps(ctx: JobContext): Promise<Capabilities> {
  try {
    return await capabilities(ctx.tools);
  } catch (err) {
    throw mapError(err);
  }
}
