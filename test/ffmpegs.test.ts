// The streaming and animated outputs on both ffmpegs openvod may find: the system's (Debian's
// 5.1) and the static builds the optional npm packages ship (@ffmpeg-installer/ffmpeg, a 2018 git
// build, and @ffprobe-installer/ffprobe, a 2023 one), which `npm install && npm start` uses on a
// machine without ffmpeg. One ProcessMedia per pair, checked on what was really written.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { childEnv, isStaticElf } from "../src/media/childenv.js";
import { capabilities } from "../src/media/jobs/caps.js";
import { runFfprobe } from "../src/media/run.js";
import { locateMediaTools, type MediaTools } from "../src/media/tools.js";
import { makeVideo } from "./helpers/media.js";
import { results } from "./helpers/inspect.js";
import {
  FileServer,
  REPO_ROOT,
  startOpenvod,
  tempDir,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

const SECONDS = 3;

/** The system's tools (PATH only) and the npm packages' (an empty PATH leaves only them). */
const PAIRS: Array<[name: string, tools: MediaTools | undefined]> = [
  ["system ffmpeg", await locateMediaTools({ PATH: process.env.PATH }, { npm: false })],
  ["npm-shipped ffmpeg", await locateMediaTools({ PATH: "" }).catch(() => undefined)],
];

async function probe(tools: MediaTools, target: string): Promise<any> {
  return JSON.parse(
    await runFfprobe(
      tools,
      ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", target],
      30_000,
    ),
  );
}

/** Downloads a URL into dir (under `name`) and returns the local path. */
async function download(url: string, dir: string, name: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  const file = join(dir, name);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

/** A media playlist's #EXTINF durations and segment URLs. */
async function mediaPlaylist(url: string): Promise<{ durations: number[]; segments: string[] }> {
  const text = await (await fetch(url)).text();
  const durations = [...text.matchAll(/^#EXTINF:([\d.]+)/gm)].map((m) => Number(m[1]));
  const segments = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => new URL(l, url).href);
  assert.ok(text.includes("#EXT-X-ENDLIST"), text);
  return { durations, segments };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** |actual − expected| ≤ tolerance. */
function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ≈ ${expected}`);
}

const videoOf = (info: any) => info.streams.find((s: any) => s.codec_type === "video");

describe("static builds", () => {
  it("only statically linked tools run with GCONV_PATH set (their glibc crashed in the system's gconv)", () => {
    const [system, npm] = PAIRS.map(([, t]) => t);
    assert.equal(isStaticElf(system!.ffmpeg), false);
    assert.equal(childEnv(system!.ffprobe), undefined);
    assert.equal(isStaticElf(process.execPath), false);
    assert.equal(isStaticElf(join(REPO_ROOT, ".ci/run")), false);
    if (npm) {
      for (const bin of [npm.ffmpeg, npm.ffprobe]) {
        assert.equal(isStaticElf(bin), true, bin);
        assert.ok(childEnv(bin)?.GCONV_PATH, bin);
        assert.equal(childEnv(bin)?.PATH, process.env.PATH);
      }
    }
  });
});

for (const [name, found] of PAIRS) {
  const skip = found ? false : "the optional npm packages are not installed on this platform";
  describe(`streaming and animated outputs on the ${name}`, { skip }, () => {
    const tools = found!;
    let server: OpenvodProcess;
    let files: FileServer;
    let vod: Vod;
    let dir: string;
    let fileId: string;

    before(async () => {
      dir = tempDir();
      await makeVideo(tools, join(dir, "clip.mp4"), { width: 320, height: 180, seconds: SECONDS });
      files = await new FileServer(dir).start();
      server = await startOpenvod({
        env: {
          OPENVOD_FFMPEG: tools.ffmpeg,
          OPENVOD_FFPROBE: tools.ffprobe,
          OPENVOD_TASK_TIMEOUT_MS: "300000",
        },
      });
      vod = server.client();
      const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4` });
      const { detail } = await waitForTask(vod, TaskId!);
      assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
      fileId = detail.PullUploadTask.FileId;
    });
    after(async () => {
      await server?.stop();
      await files?.stop();
    });

    it("mp4, HLS (100210 and 1 s segments), adaptive HLS (10) and DASH (20), WebP (20001 and 256x144)", async (t) => {
      const { Definition: hls1s } = await vod.CreateTranscodeTemplate({
        Container: "hls",
        VideoTemplate: { Codec: "libx264", Fps: 25, Bitrate: 200, Width: 0, Height: 180, HlsTime: 1 },
        AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 },
      });
      const { Definition: webpSmall } = await vod.CreateAnimatedGraphicsTemplate({
        Format: "webp",
        Fps: 8,
        Width: 256,
        Height: 144,
      });
      const started = Date.now();
      const { TaskId } = await vod.ProcessMedia({
        FileId: fileId,
        MediaProcessTask: {
          TranscodeTaskSet: [{ Definition: 100010 }, { Definition: 100210 }, { Definition: hls1s! }],
          AdaptiveDynamicStreamingTaskSet: [{ Definition: 10 }, { Definition: 20 }],
          AnimatedGraphicTaskSet: [
            { Definition: 20001, StartTimeOffset: 0, EndTimeOffset: 1 },
            { Definition: webpSmall!, StartTimeOffset: 0, EndTimeOffset: 1 },
          ],
        },
      });
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 300_000 });
      t.diagnostic(
        `${name} (${tools.ffmpegVersion}): the set took ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      const r = results(detail);
      for (const [type, list] of Object.entries(r))
        for (const x of list)
          assert.equal(x.Status, "SUCCESS", `${type} ${x.Input.Definition}: ${x.Message}`);

      // mp4: the 360p rung of a 16:9 source, read back whole.
      const [mp4, hls, hlsShort] = r.Transcode!;
      const mp4Info = await probe(tools, await download(mp4.Output.Url, dir, "out.mp4"));
      assert.deepEqual([videoOf(mp4Info).width, videoOf(mp4Info).height], [640, 360]);
      near(Number(mp4Info.format.duration), SECONDS, 0.3, "mp4 duration");

      // HLS: the playlist's segments last the clip, and the first one is playable on its own.
      for (const [item, height, segments] of [
        [hls, 360, 1],
        [hlsShort, 180, SECONDS],
      ] as const) {
        assert.match(item.Output.Url, /\.m3u8$/);
        assert.equal(item.Output.Height, height);
        near(item.Output.Duration, SECONDS, 0.3, `${item.Input.Definition} Duration`);
        assert.ok(item.Output.Bitrate > 10_000, `Bitrate ${item.Output.Bitrate}`);
        const list = await mediaPlaylist(item.Output.Url);
        assert.equal(list.segments.length, segments, JSON.stringify(list));
        near(sum(list.durations), SECONDS, 0.3, "sum of #EXTINF");
        if (segments > 1) for (const d of list.durations.slice(0, -1)) near(d, 1, 0.25, "segment duration");
        const first = await probe(
          tools,
          await download(list.segments[0]!, dir, `first-${item.Input.Definition}.ts`),
        );
        assert.equal(first.format.format_name, "mpegts");
        assert.equal(videoOf(first).codec_name, "h264");
        assert.equal(videoOf(first).height, height);
        assert.ok(first.streams.some((s: any) => s.codec_type === "audio"));
      }

      // Adaptive HLS: a master over the preset's 3 renditions, each variant whole and playable.
      const [adpHls, adpDash] = r.AdaptiveDynamicStreaming!;
      assert.equal(adpHls.Output.Package, "HLS");
      const master = await (await fetch(adpHls.Output.Url)).text();
      const variants = [...master.matchAll(/^#EXT-X-STREAM-INF:(.*)\n(\S+)$/gm)];
      assert.deepEqual(
        variants.map((v) => /RESOLUTION=(\d+x\d+)/.exec(v[1]!)![1]),
        ["640x360", "960x540", "1280x720"],
        master,
      );
      // ffmpeg's own master lends its CODECS; the 2018 build crashes writing one, so it is left out there.
      const caps = await capabilities(tools);
      for (const v of variants) assert.equal(/CODECS="[^"]+"/.test(v[1]!), caps.hlsMaster, v[1]);
      for (const [i, v] of variants.entries()) {
        const list = await mediaPlaylist(new URL(v[2]!, adpHls.Output.Url).href);
        near(sum(list.durations), SECONDS, 0.3, `variant ${i} #EXTINF`);
        const first = await probe(tools, await download(list.segments[0]!, dir, `adp-${i}.ts`));
        const [, w, h] = /RESOLUTION=(\d+)x(\d+)/.exec(v[1]!)!.map(Number) as [number, number, number];
        assert.deepEqual([videoOf(first).width, videoOf(first).height], [w, h]);
        assert.deepEqual([adpHls.Output.SubStreamSet[i].Width, adpHls.Output.SubStreamSet[i].Height], [w, h]);
      }

      // DASH: ffprobe opens the manifest over HTTP and finds the three renditions.
      assert.equal(adpDash.Output.Package, "MPEG-DASH");
      const mpd = await probe(tools, adpDash.Output.Url);
      const heights = mpd.streams
        .filter((s: any) => s.codec_type === "video")
        .map((s: any) => s.height)
        .sort((a: number, b: number) => a - b);
      assert.deepEqual(heights, [360, 540, 720]);
      near(Number(mpd.format.duration), SECONDS, 0.3, "mpd duration");

      // Animated WebP: the size the template asks for (20001: the source's), as the file states it.
      const [webpSource, webpSized] = r.AnimatedGraphics!;
      for (const [item, w, h] of [
        [webpSource, 320, 180],
        [webpSized, 256, 144],
      ] as const) {
        assert.equal(item.Output.Container, "webp");
        assert.deepEqual([item.Output.Width, item.Output.Height], [w, h]);
        const buf = Buffer.from(await (await fetch(item.Output.Url)).arrayBuffer());
        assert.equal(buf.toString("latin1", 12, 16), "VP8X");
        assert.deepEqual([buf.readUIntLE(24, 3) + 1, buf.readUIntLE(27, 3) + 1], [w, h]);
        assert.ok(buf.toString("latin1").split("ANMF").length - 1 >= 5, "animation frames");
      }
    });
  });
}
