import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  adaptiveStreaming,
  animatedGraphic,
  containerExtension,
  coverSnapshot,
  imageSprites,
  JobError,
  parseExtTimeOffsets,
  sampleSnapshots,
  snapshotsByTimeOffset,
  targetGeometry,
  transcode,
  type JobContext,
} from "../src/media/jobs/index.js";
import { CpuAllotment } from "../src/media/cpus.js";
import { probeMedia, type ProbedMedia } from "../src/media/probe.js";
import { MediaError, runFfmpeg, runFfprobe, runProcess, writeAtomically } from "../src/media/run.js";
import { locateMediaTools, type MediaTools } from "../src/media/tools.js";
import { makeAudio, makeImage, makeVideo } from "./helpers/media.js";

let tools: MediaTools;
let dir: string;
let video: string; // 320x240, 2 s, h264 + aac
let portrait: string; // 240x320, 2 s
let rotated: string; // 320x240 coded, rotate=90 → upright 240x320
let audio: string; // 2 s aac m4a
let wmPng: string; // 64x48 png

before(async () => {
  tools = await locateMediaTools();
  dir = await mkdtemp(path.join(os.tmpdir(), "openvod-jobs-"));
  video = path.join(dir, "video.mp4");
  portrait = path.join(dir, "portrait.mp4");
  rotated = path.join(dir, "rotated.mp4");
  audio = path.join(dir, "audio.m4a");
  wmPng = path.join(dir, "wm.png");
  await Promise.all([
    makeVideo(tools, video),
    makeVideo(tools, portrait, { width: 240, height: 320, audio: false }),
    makeAudio(tools, audio, 2),
    makeImage(tools, wmPng, 64, 48),
  ]);
  await writeAtomically(rotated, (tmp) =>
    runFfmpeg(tools, {
      args: ["-i", video, "-c", "copy", "-metadata:s:v:0", "rotate=90", tmp],
      timeoutMs: 30_000,
    }),
  );
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh output directory per test. */
let outCount = 0;
async function outDir(): Promise<string> {
  const d = path.join(dir, `out${outCount++}`);
  await mkdir(d);
  return d;
}

function context(over: Partial<JobContext> = {}): JobContext & { progress: number[] } {
  const progress: number[] = [];
  return {
    tools,
    signal: new AbortController().signal,
    timeoutMs: 60_000,
    cpus: new CpuAllotment(2),
    onProgress: (p) => progress.push(p),
    progress,
    ...over,
  };
}

const probe = (file: string): Promise<ProbedMedia> => probeMedia(tools, file);

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual}, expected ${expected} ± ${tolerance}`,
  );
}

/** Nothing but `expected` in the directory (no temporary files or directories left). */
async function assertOnly(d: string, expected: string[]): Promise<void> {
  assert.deepEqual((await readdir(d)).sort(), [...expected].sort());
}

/** One frame at `t` as 8-bit gray pixels. */
async function grayFrame(file: string, t: number): Promise<{ data: Buffer; width: number; height: number }> {
  const m = (await probe(file)).metaData;
  const { stdout } = await runProcess({
    name: "ffmpeg",
    command: tools.ffmpeg,
    args: [
      "-v",
      "error",
      "-ss",
      String(t),
      "-i",
      file,
      "-frames:v",
      "1",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "gray",
      "-",
    ],
    timeoutMs: 30_000,
    collectStdoutMax: 16 * 1024 * 1024,
  });
  return { data: stdout, width: m.Width, height: m.Height };
}

/** Mean absolute difference of two frames over a rectangle. */
function regionDiff(
  a: { data: Buffer; width: number },
  b: { data: Buffer; width: number },
  x: number,
  y: number,
  w: number,
  h: number,
): number {
  let sum = 0;
  for (let j = y; j < y + h; j++) {
    for (let i = x; i < x + w; i++) sum += Math.abs(a.data[j * a.width + i]! - b.data[j * b.width + i]!);
  }
  return sum / (w * h);
}

function regionMean(f: { data: Buffer; width: number }, x: number, y: number, w: number, h: number): number {
  let sum = 0;
  for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) sum += f.data[j * f.width + i]!;
  return sum / (w * h);
}

const isJobError = (code: number) => (err: unknown) => {
  assert.ok(err instanceof JobError, `expected JobError, got ${String(err)}`);
  assert.equal(err.errCode, code, err.message);
  return true;
};

/** PNG/JPEG/WebP size from ffprobe. */
async function imageSize(file: string): Promise<[number, number]> {
  const m = (await probe(file)).metaData;
  return [m.Width, m.Height];
}

const FLU_360P = {
  Container: "mp4",
  RemoveVideo: 0,
  RemoveAudio: 0,
  VideoTemplate: {
    Codec: "libx264",
    Fps: 25,
    Bitrate: 400,
    ResolutionAdaptive: "open",
    Width: 0,
    Height: 360,
  },
  AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100, AudioChannel: 2 },
};

describe("geometry rules", () => {
  const src = { width: 320, height: 240 };
  test("open: Height is the short side, Width derived and even", () => {
    const g = targetGeometry(src, { Width: 0, Height: 360 }, { even: true });
    assert.deepEqual([g.width, g.height, g.fill], [480, 360, "none"]);
    const p = targetGeometry({ width: 240, height: 320 }, { Width: 0, Height: 360 }, { even: true });
    assert.deepEqual([p.width, p.height], [360, 480]);
  });
  test("open: Width is the long side of a portrait source", () => {
    const p = targetGeometry({ width: 240, height: 320 }, { Width: 640, Height: 360 }, { even: true });
    assert.deepEqual([p.width, p.height], [360, 640]);
  });
  test("close: Width is the width", () => {
    const p = targetGeometry(
      { width: 240, height: 320 },
      { Width: 640, Height: 360, ResolutionAdaptive: "close" },
      { even: true },
    );
    assert.deepEqual([p.width, p.height, p.innerWidth, p.innerHeight, p.fill], [640, 360, 270, 360, "black"]);
  });
  test("both 0 keeps the source; odd sizes become even for video only", () => {
    assert.deepEqual(targetGeometry({ width: 321, height: 241 }, {}, { even: true }).width, 322);
    assert.deepEqual(targetGeometry({ width: 321, height: 241 }, {}, { even: false }).width, 321);
  });
  test("stretch fills the box; DisableHigherVideoResolution never upscales", () => {
    const s = targetGeometry(src, { Width: 320, Height: 180, FillType: "stretch" }, { even: true });
    assert.deepEqual([s.width, s.height, s.fill], [320, 180, "none"]);
    const n = targetGeometry(src, { Width: 1280, Height: 720 }, { even: true, noUpscale: true });
    assert.ok(n.width <= 320 && n.height <= 240, `${n.width}x${n.height}`);
  });
  test("containerExtension", () => {
    assert.equal(containerExtension("hls"), "m3u8");
    assert.equal(containerExtension("mp4"), "mp4");
    assert.equal(containerExtension("m4a"), "m4a");
    assert.throws(() => containerExtension("avi"), isJobError(40000));
  });
});

describe("transcode", () => {
  test("a 360p-style template on 320x240 → 480x360 h264/aac, same duration, progress to 100", async () => {
    const d = await outDir();
    const out = path.join(d, "out.mp4");
    const ctx = context();
    await transcode(ctx, video, out, FLU_360P, { sourceDuration: 2 });
    const m = (await probe(out)).metaData;
    assert.equal(m.Height, 360);
    assert.equal(m.Width, 480);
    assert.equal(m.VideoStreamSet[0]!.Codec, "h264");
    assert.equal(m.VideoStreamSet[0]!.Fps, 25);
    assert.equal(m.AudioStreamSet[0]!.Codec, "aac");
    assert.equal(m.AudioStreamSet[0]!.SamplingRate, 44100);
    near(m.Duration, 2, 0.15, "duration");
    assert.equal(ctx.progress.at(-1), 100);
    assert.deepEqual(
      ctx.progress,
      [...ctx.progress].sort((a, b) => a - b),
    );
    await assertOnly(d, ["out.mp4"]);
  });

  test("ResolutionAdaptive open keeps a portrait source portrait", async () => {
    const d = await outDir();
    const out = path.join(d, "p.mp4");
    const t = {
      ...FLU_360P,
      VideoTemplate: { ...FLU_360P.VideoTemplate, Width: 640, Height: 360, FillType: "black" },
    };
    await transcode(context(), portrait, out, t, { sourceDuration: 2 });
    const m = (await probe(out)).metaData;
    assert.deepEqual([m.Width, m.Height], [360, 640]);
    assert.equal(m.AudioStreamSet.length, 0, "the source has no audio");
  });

  test("a rotated source comes out upright with Rotate 0", async () => {
    const d = await outDir();
    const out = path.join(d, "r.mp4");
    await transcode(context(), rotated, out, FLU_360P, { sourceDuration: 2 });
    const m = (await probe(out)).metaData;
    assert.deepEqual([m.Width, m.Height, m.Rotate], [360, 480, 0]);
  });

  test("ResolutionAdaptive close with white bars and gauss fill", async () => {
    const d = await outDir();
    const white = path.join(d, "white.mp4");
    const gauss = path.join(d, "gauss.mp4");
    const vt = { Codec: "libx264", ResolutionAdaptive: "close", Width: 320, Height: 180 };
    await transcode(
      context(),
      video,
      white,
      { Container: "mp4", VideoTemplate: { ...vt, FillType: "white" } },
      { sourceDuration: 2 },
    );
    await transcode(
      context(),
      video,
      gauss,
      { Container: "mp4", VideoTemplate: { ...vt, FillType: "gauss" } },
      { sourceDuration: 2 },
    );
    for (const f of [white, gauss]) assert.deepEqual(await imageSize(f), [320, 180]);
    // 4:3 in 16:9: the picture is 240 wide, bars of 40 px on each side.
    const w = await grayFrame(white, 0.5);
    assert.ok(regionMean(w, 0, 0, 36, 180) > 220, "left bar is white");
    const g = await grayFrame(gauss, 0.5);
    const m = regionMean(g, 0, 0, 36, 180);
    assert.ok(m > 20 && m < 235, `gauss bar is neither black nor white (${m})`);
  });

  test("Start/EndTimeOffset trims to 1 s (also counted from the end)", async () => {
    const d = await outDir();
    const a = path.join(d, "a.mp4");
    const b = path.join(d, "b.mp4");
    await transcode(context(), video, a, FLU_360P, {
      sourceDuration: 2,
      startTimeOffset: 0.5,
      endTimeOffset: 1.5,
    });
    await transcode(context(), video, b, FLU_360P, { sourceDuration: 2, startTimeOffset: -1 });
    near((await probe(a)).metaData.Duration, 1, 0.1, "0.5..1.5");
    near((await probe(b)).metaData.Duration, 1, 0.1, "-1..end");
    await assert.rejects(
      transcode(context(), video, path.join(d, "c.mp4"), FLU_360P, {
        sourceDuration: 2,
        startTimeOffset: 1.5,
        endTimeOffset: 1,
      }),
      isJobError(40000),
    );
  });

  test("hls → a playable m3u8 with segments beside it", async () => {
    const d = await outDir();
    const out = path.join(d, "v.m3u8");
    const t = { ...FLU_360P, Container: "hls", VideoTemplate: { ...FLU_360P.VideoTemplate, HlsTime: 1 } };
    await transcode(context(), video, out, t, { sourceDuration: 2 });
    const files = await readdir(d);
    const segments = files.filter((f) => f.endsWith(".ts"));
    assert.ok(segments.length >= 2, `segments: ${files.join(", ")}`);
    assert.deepEqual(
      files.filter((f) => f.startsWith(".")),
      [],
      "no temporary files",
    );
    const playlist = await readFile(out, "utf8");
    for (const s of segments) assert.ok(playlist.includes(s), `${s} listed`);
    const info = JSON.parse(
      await runFfprobe(
        tools,
        ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", out],
        30_000,
      ),
    );
    near(Number(info.format.duration), 2, 0.2, "hls duration");
    const v = info.streams.find((s: { codec_type: string }) => s.codec_type === "video");
    assert.deepEqual([v.codec_name, v.width, v.height], ["h264", 480, 360]);
  });

  test("hls (fmp4) → MetaData bitrates measured from the segments, not the playlist", async () => {
    const d = await outDir();
    const out = path.join(d, "v.m3u8");
    const t = {
      ...FLU_360P,
      Container: "hls",
      SegmentType: "fmp4",
      VideoTemplate: { ...FLU_360P.VideoTemplate, HlsTime: 1 },
    };
    const { probed } = await transcode(context(), video, out, t, { sourceDuration: 2 });
    const m = probed.metaData;
    let bytes = 0;
    for (const f of await readdir(d)) if (f !== "v.m3u8") bytes += (await stat(path.join(d, f))).size;
    assert.ok(
      (await readdir(d)).some((f) => f.endsWith("_init.mp4")),
      "an init segment",
    );
    near(m.Bitrate, (bytes * 8) / m.Duration, (bytes * 8) / m.Duration / 10, "Bitrate");
    const streams = m.VideoStreamSet[0]!.Bitrate + m.AudioStreamSet[0]!.Bitrate;
    assert.ok(m.VideoStreamSet[0]!.Bitrate > 0 && m.AudioStreamSet[0]!.Bitrate > 0, JSON.stringify(m));
    assert.ok(streams <= m.Bitrate && streams > m.Bitrate * 0.6, `${streams} of ${m.Bitrate}`);
  });

  test("libx265 → hevc tagged hvc1", async () => {
    const d = await outDir();
    const out = path.join(d, "h.mp4");
    const t = { ...FLU_360P, VideoTemplate: { ...FLU_360P.VideoTemplate, Codec: "libx265", Height: 240 } };
    await transcode(context(), video, out, t, { sourceDuration: 2 });
    const v = (await probe(out)).metaData.VideoStreamSet[0]!;
    assert.deepEqual([v.Codec, v.CodecTag, v.Height], ["hevc", "hvc1", 240]);
  });

  test("audio containers: m4a with RemoveVideo, mp3, and a video template on an audio-only source", async () => {
    const d = await outDir();
    const m4a = path.join(d, "a.m4a");
    const mp3 = path.join(d, "a.mp3");
    const mp4 = path.join(d, "audio-only.mp4");
    await transcode(
      context(),
      video,
      m4a,
      {
        Container: "m4a",
        RemoveVideo: 1,
        AudioTemplate: { Codec: "libfdk_aac", Bitrate: 48, SampleRate: 44100, AudioChannel: 2 },
      },
      { sourceDuration: 2 },
    );
    await transcode(
      context(),
      video,
      mp3,
      {
        Container: "mp3",
        RemoveVideo: 1,
        AudioTemplate: { Codec: "libmp3lame", Bitrate: 128, SampleRate: 44100, AudioChannel: 2 },
      },
      { sourceDuration: 2 },
    );
    await transcode(context(), audio, mp4, FLU_360P, { sourceDuration: 2 });
    const a = await probe(m4a);
    assert.equal(a.metaData.VideoStreamSet.length, 0);
    assert.equal(a.metaData.AudioStreamSet[0]!.Codec, "aac");
    assert.equal(a.formatName, "m4a");
    const b = await probe(mp3);
    assert.equal(b.metaData.VideoStreamSet.length, 0);
    assert.equal(b.metaData.AudioStreamSet[0]!.Codec, "mp3");
    near(b.metaData.Duration, 2, 0.15, "mp3 duration");
    const flv = path.join(d, "a.flv");
    await transcode(
      context(),
      video,
      flv,
      {
        Container: "flv",
        VideoTemplate: { Codec: "libx264" },
        AudioTemplate: { Codec: "libmp3lame", SampleRate: 48000 },
      },
      { sourceDuration: 2 },
    );
    const f = (await probe(flv)).metaData;
    // MP3 in FLV exists at 44.1 kHz only (and its halves): 48000 is brought to 44100.
    assert.deepEqual(
      [f.VideoStreamSet[0]!.Codec, f.AudioStreamSet[0]!.Codec, f.AudioStreamSet[0]!.SamplingRate],
      ["h264", "mp3", 44100],
    );
    const c = await probe(mp4);
    assert.equal(c.metaData.VideoStreamSet.length, 0);
    assert.equal(c.metaData.AudioStreamSet[0]!.Codec, "aac");
    // Nothing to produce: a video-only template on an audio source.
    await assert.rejects(
      transcode(
        context(),
        audio,
        path.join(d, "x.mp4"),
        { ...FLU_360P, RemoveAudio: 1 },
        { sourceDuration: 2 },
      ),
      (err) => isJobError(40000)(err) && /no video stream/.test((err as Error).message),
    );
  });

  test("image and text watermarks change pixels in their corner only", async () => {
    const d = await outDir();
    const plain = path.join(d, "plain.mp4");
    const marked = path.join(d, "marked.mp4");
    const t = {
      Container: "mp4",
      VideoTemplate: { Codec: "libx264", Vcrf: 18 },
      AudioTemplate: { Codec: "libfdk_aac" },
    };
    await transcode(context(), video, plain, t, { sourceDuration: 2 });
    await transcode(context(), video, marked, t, {
      sourceDuration: 2,
      watermarks: [
        {
          template: {
            Type: "image",
            CoordinateOrigin: "topRight",
            XPos: "0px",
            YPos: "0px",
            ImageTemplate: { Width: "20%", Height: "0px" },
          },
          imageFile: wmPng,
        },
        {
          template: {
            Type: "text",
            CoordinateOrigin: "bottomLeft",
            XPos: "2%",
            YPos: "2%",
            TextTemplate: { FontSize: "40px", FontColor: "0x000000", FontAlpha: 1 },
          },
          text: "it's: 100% [a,b];\\x",
          startTimeOffset: 0,
          endTimeOffset: 0,
        },
      ],
    });
    const mp = (await probe(marked)).metaData;
    assert.deepEqual([mp.Width, mp.Height], [320, 240], "dimensions unchanged");
    near(mp.Duration, 2, 0.15, "duration");
    const a = await grayFrame(plain, 0.5);
    const b = await grayFrame(marked, 0.5);
    // The picture is 64 px (20 % of 320) wide, 48 high, in the top-right corner.
    assert.ok(regionDiff(a, b, 320 - 64, 0, 64, 48) > 8, "image watermark top right");
    assert.ok(regionDiff(a, b, 6, 240 - 40, 100, 30) > 8, "text watermark bottom left");
    assert.ok(regionDiff(a, b, 120, 80, 80, 60) < 3, "centre untouched");
  });
});

describe("snapshots", () => {
  test("parseExtTimeOffsets", () => {
    assert.deepEqual(
      parseExtTimeOffsets(["3.5s", "10%", "0s", "100%", " 1s ", "0.25S"], 20),
      [3500, 2000, 0, 20000, 1000, 250],
    );
    assert.deepEqual(parseExtTimeOffsets([], 20), []);
    for (const bad of ["3.5", "-1s", "10 %x", "150%", "", "1e3s", "s", "%"]) {
      assert.throws(() => parseExtTimeOffsets([bad], 20), isJobError(40000), bad);
    }
    assert.throws(() => parseExtTimeOffsets([3 as unknown as string], 20), isJobError(40000));
  });

  test("snapshotsByTimeOffset [0.5s, 50%] + beyond the end → pictures of the right size", async () => {
    const d = path.join(dir, "snaps"); // does not exist yet: the temporary directory is renamed
    const offsets = [...parseExtTimeOffsets(["0.5s", "50%"], 2), 5000];
    const shots = await snapshotsByTimeOffset(
      context(),
      video,
      d,
      { Format: "jpg", Width: 160, Height: 0, ResolutionAdaptive: "open" },
      offsets,
      {
        sourceDuration: 2,
        watermarks: [{ template: { Type: "image", ImageTemplate: { Width: "10%" } }, imageFile: wmPng }],
      },
    );
    assert.deepEqual(
      shots.map((s) => s.timeOffsetMs),
      [500, 1000, 5000],
    );
    for (const s of shots) {
      assert.equal(path.dirname(s.file), d);
      assert.match(s.file, /\.jpg$/);
      assert.deepEqual(await imageSize(s.file), [160, 120]);
    }
    await assertOnly(
      d,
      shots.map((s) => path.basename(s.file)),
    );
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith(".")),
      [],
    );
  });

  test("sampleSnapshots every 25 % of 2 s → 4 pictures (0, 0.5, 1, 1.5 s; none at the end)", async () => {
    const d = await outDir();
    const files = await sampleSnapshots(
      context(),
      video,
      d,
      { SampleType: "Percent", SampleInterval: 25, Format: "png", Width: 0, Height: 120 },
      { sourceDuration: 2 },
    );
    assert.equal(files.length, 4);
    for (const f of files) assert.deepEqual(await imageSize(f), [160, 120]);
    await assertOnly(
      d,
      files.map((f) => path.basename(f)),
    );
  });

  test("imageSprites 3x3 with 142x80 cells → 426x240 sprites and a WebVTT", async () => {
    const d = await outDir();
    const r = await imageSprites(
      context(),
      video,
      d,
      {
        SampleType: "Percent",
        SampleInterval: 10,
        RowCount: 3,
        ColumnCount: 3,
        Width: 142,
        Height: 80,
        Format: "jpg",
        FillType: "black",
      },
      { sourceDuration: 2, spriteUrl: (i, name) => `http://h/sprites/${i}/${name}` },
    );
    // 10 % of 2 s: 10 frames, so 2 sprite images (9 + 1).
    assert.equal(r.totalCount, 10);
    assert.equal(r.images.length, 2);
    assert.deepEqual([r.width, r.height, r.cellsPerImage], [142, 80, 9]);
    for (const f of r.images) assert.deepEqual(await imageSize(f), [426, 240]);
    const vtt = await readFile(r.webVtt, "utf8");
    assert.match(vtt, /^WEBVTT\n/);
    const cues = [...vtt.matchAll(/^(\S+) --> (\S+)\n(\S+)$/gm)];
    assert.equal(cues.length, 10);
    assert.deepEqual(cues[0]!.slice(1), [
      "00:00:00.000",
      "00:00:00.200",
      `http://h/sprites/0/${path.basename(r.images[0]!)}#xywh=0,0,142,80`,
    ]);
    assert.deepEqual(cues[4]!.slice(1), [
      "00:00:00.800",
      "00:00:01.000",
      `http://h/sprites/0/${path.basename(r.images[0]!)}#xywh=142,80,142,80`,
    ]);
    assert.deepEqual(cues[9]!.slice(1), [
      "00:00:01.800",
      "00:00:02.000",
      `http://h/sprites/1/${path.basename(r.images[1]!)}#xywh=0,0,142,80`,
    ]);
    await assertOnly(d, [...r.images.map((f) => path.basename(f)), path.basename(r.webVtt)]);
  });

  test("coverSnapshot at 50 %", async () => {
    const d = await outDir();
    const out = path.join(d, "cover.jpg");
    await coverSnapshot(
      context(),
      video,
      out,
      { Width: 0, Height: 0 },
      { positionType: "Percent", positionValue: 50, sourceDuration: 2 },
    );
    assert.deepEqual(await imageSize(out), [320, 240]);
    await assertOnly(d, ["cover.jpg"]);
  });

  test("pictures of an audio-only source → 40000 the source has no video stream", async () => {
    const d = await outDir();
    const tpl = { SampleType: "Percent", SampleInterval: 50, RowCount: 2, ColumnCount: 2 };
    const noVideo = (err: unknown) =>
      isJobError(40000)(err) && /no video stream/.test((err as Error).message);
    await assert.rejects(snapshotsByTimeOffset(context(), audio, d, {}, [0], { sourceDuration: 2 }), noVideo);
    await assert.rejects(sampleSnapshots(context(), audio, d, tpl, { sourceDuration: 2 }), noVideo);
    await assert.rejects(
      imageSprites(context(), audio, d, tpl, { sourceDuration: 2, spriteUrl: () => "" }),
      noVideo,
    );
    await assert.rejects(
      coverSnapshot(
        context(),
        audio,
        path.join(d, "c.jpg"),
        {},
        { positionType: "Time", positionValue: 0, sourceDuration: 2 },
      ),
      noVideo,
    );
    await assert.rejects(
      animatedGraphic(
        context(),
        audio,
        path.join(d, "a.gif"),
        {},
        { startTimeOffset: 0, endTimeOffset: 1, sourceDuration: 2 },
      ),
      noVideo,
    );
    await assertOnly(d, []);
  });
});

describe("animated graphics", () => {
  test("gif: 1 s at 10 fps → about 10 frames", async () => {
    const d = await outDir();
    const out = path.join(d, "a.gif");
    await animatedGraphic(
      context(),
      video,
      out,
      { Format: "gif", Fps: 10, Width: 160, Height: 0, Quality: 75 },
      { startTimeOffset: 0.5, endTimeOffset: 1.5, sourceDuration: 2 },
    );
    const info = JSON.parse(
      await runFfprobe(
        tools,
        ["-v", "error", "-count_frames", "-print_format", "json", "-show_streams", out],
        30_000,
      ),
    );
    const s = info.streams[0];
    assert.deepEqual([s.codec_name, s.width, s.height], ["gif", 160, 120]);
    near(Number(s.nb_read_frames), 10, 1, "gif frames");
    await assertOnly(d, ["a.gif"]);
  });

  test("webp: 1 s at 8 fps → about 8 animation frames", async () => {
    const d = await outDir();
    const out = path.join(d, "a.webp");
    await animatedGraphic(
      context(),
      video,
      out,
      { Format: "webp", Fps: 8, Width: 0, Height: 0, Quality: 60 },
      { startTimeOffset: -1, endTimeOffset: 0, sourceDuration: 2 },
    );
    const buf = await readFile(out);
    assert.equal(buf.subarray(0, 4).toString("latin1"), "RIFF");
    assert.equal(buf.subarray(8, 12).toString("latin1"), "WEBP");
    // ffmpeg 5.1 cannot decode animated WebP: count the ANMF (animation frame) chunks.
    const frames = buf.toString("latin1").split("ANMF").length - 1;
    near(frames, 8, 1, "webp frames");
    // The canvas size (VP8X chunk: 24-bit width-1 and height-1 at offsets 24 and 27).
    assert.equal(buf.readUIntLE(24, 3) + 1, 320);
    assert.equal(buf.readUIntLE(27, 3) + 1, 240);
  });
});

describe("adaptive streaming", () => {
  const streams = [
    {
      Video: { Codec: "libx264", Bitrate: 300, Fps: 25, Width: 0, Height: 240 },
      Audio: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100, AudioChannel: 2 },
      RemoveAudio: 0,
      RemoveVideo: 0,
    },
    {
      Video: { Codec: "libx264", Bitrate: 120, Fps: 25, Width: 0, Height: 120 },
      Audio: { Codec: "libfdk_aac", Bitrate: 48, SampleRate: 44100, AudioChannel: 2 },
      RemoveAudio: 0,
      RemoveVideo: 0,
    },
  ];

  test("HLS with 2 renditions → a master playlist with BANDWIDTH and RESOLUTION, playable variants", async () => {
    const d = path.join(dir, "abr-hls");
    const ctx = context();
    const r = await adaptiveStreaming(
      ctx,
      video,
      d,
      { Format: "HLS", StreamInfos: streams, SegmentDuration: 1 },
      { sourceDuration: 2 },
    );
    assert.equal(r.manifest, "master.m3u8");
    assert.equal(ctx.progress.at(-1), 100);
    const master = await readFile(path.join(d, r.manifest), "utf8");
    const variants = [...master.matchAll(/^#EXT-X-STREAM-INF:(.*)\n(\S+)$/gm)];
    assert.equal(variants.length, 2, master);
    assert.match(variants[0]![1]!, /BANDWIDTH=\d+/);
    assert.match(variants[0]![1]!, /RESOLUTION=320x240/);
    assert.match(variants[1]![1]!, /RESOLUTION=160x120/);
    assert.deepEqual(
      r.streams.map((s) => [s.file, s.width, s.height, s.codec]),
      [
        ["stream_0.m3u8", 320, 240, "h264"],
        ["stream_1.m3u8", 160, 120, "h264"],
      ],
    );
    for (const [i, s] of r.streams.entries()) {
      assert.equal(variants[i]![2], s.file);
      assert.ok(s.bitrate > 0 && s.size > 0);
      const bw = Number(/BANDWIDTH=(\d+)/.exec(variants[i]![1]!)![1]);
      assert.ok(bw >= s.bitrate, `BANDWIDTH ${bw} is the peak, average ${s.bitrate}`);
      const info = JSON.parse(
        await runFfprobe(
          tools,
          ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path.join(d, s.file)],
          30_000,
        ),
      );
      const v = info.streams.find((x: { codec_type: string }) => x.codec_type === "video");
      assert.deepEqual([v.width, v.height], [s.width, s.height]);
      assert.ok(info.streams.some((x: { codec_type: string }) => x.codec_type === "audio"));
      near(Number(info.format.duration), 2, 0.2, "variant duration");
    }
    // The whole master also opens (ffprobe reads every variant).
    const all = JSON.parse(
      await runFfprobe(
        tools,
        ["-v", "error", "-print_format", "json", "-show_streams", path.join(d, "master.m3u8")],
        30_000,
      ),
    );
    assert.ok(all.streams.length >= 4);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith(".")),
      [],
    );
  });

  test("a rendition without audio is listed too (ffmpeg 5.1 drops it from its own master)", async () => {
    const d = path.join(dir, "abr-noaudio");
    const r = await adaptiveStreaming(
      context(),
      video,
      d,
      { Format: "HLS", StreamInfos: [streams[0], { ...streams[1], RemoveAudio: 1 }] },
      { sourceDuration: 2 },
    );
    const master = await readFile(path.join(d, r.manifest), "utf8");
    assert.equal([...master.matchAll(/^#EXT-X-STREAM-INF:.*BANDWIDTH=\d+.*\n(\S+)$/gm)].length, 2, master);
    const info = JSON.parse(
      await runFfprobe(
        tools,
        ["-v", "error", "-print_format", "json", "-show_streams", path.join(d, "stream_1.m3u8")],
        30_000,
      ),
    );
    assert.deepEqual(
      info.streams.map((x: { codec_type: string }) => x.codec_type),
      ["video"],
    );
  });

  test("DASH → an mpd ffprobe can open; identical audio is encoded once", async () => {
    const d = path.join(dir, "abr-dash");
    const same = streams.map((s) => ({ ...s, Audio: streams[0]!.Audio }));
    const r = await adaptiveStreaming(
      context(),
      video,
      d,
      { Format: "DASH", StreamInfos: same },
      { sourceDuration: 2 },
    );
    assert.equal(r.manifest, "manifest.mpd");
    const info = JSON.parse(
      await runFfprobe(
        tools,
        ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path.join(d, r.manifest)],
        30_000,
      ),
    );
    const videos = info.streams.filter((x: { codec_type: string }) => x.codec_type === "video");
    assert.deepEqual(videos.map((v: { width: number; height: number }) => [v.width, v.height]).sort(), [
      [160, 120],
      [320, 240],
    ]);
    assert.ok(info.streams.some((x: { codec_type: string }) => x.codec_type === "audio"));
    assert.deepEqual(
      r.streams.map((s) => s.type),
      ["video", "video", "audio"],
    );
    for (const s of r.streams) await stat(path.join(d, s.file));
  });
});

describe("failures, abort, threads", () => {
  test("a truncated mp4 → JobError 60000 and no output", async () => {
    const d = await outDir();
    const broken = path.join(dir, "broken.mp4");
    await writeFile(broken, await readFile(video));
    await truncate(broken, Math.floor((await stat(broken)).size / 2));
    await assert.rejects(
      transcode(context(), broken, path.join(d, "o.mp4"), FLU_360P, { sourceDuration: 2 }),
      isJobError(60000),
    );
    await assert.rejects(
      sampleSnapshots(
        context(),
        broken,
        path.join(d, "s"),
        { SampleType: "Time", SampleInterval: 1 },
        { sourceDuration: 2 },
      ),
      isJobError(60000),
    );
    await assertOnly(d, []);
  });

  test("a faststart mp4 cut short (ffmpeg exits 0 on it) → JobError 60000 and no output", async () => {
    const d = await outDir();
    const faststart = path.join(dir, "faststart.mp4");
    await writeAtomically(faststart, (tmp) =>
      runFfmpeg(tools, {
        args: ["-i", video, "-c", "copy", "-movflags", "+faststart", tmp],
        timeoutMs: 30_000,
      }),
    );
    const cut = path.join(dir, "cut.mp4");
    await writeFile(
      cut,
      (await readFile(faststart)).subarray(0, Math.floor((await stat(faststart)).size / 3)),
    );
    await assert.rejects(
      transcode(context(), cut, path.join(d, "o.mp4"), FLU_360P, { sourceDuration: 2 }),
      (err) => isJobError(60000)(err) && /truncated/.test((err as Error).message),
    );
    await assertOnly(d, []);
  });

  test("the job's time budget kills ffmpeg → JobError 70000 'timed out after N s', no output", async () => {
    const d = await outDir();
    // Ten minutes at 1 fps: made in a moment, but a minute of work at 720p and 25 fps.
    const long = path.join(dir, "long.mp4");
    await writeAtomically(long, (tmp) =>
      runFfmpeg(tools, {
        args: ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=1:duration=600", "-c:v", "libx264", tmp],
        timeoutMs: 30_000,
      }),
    );
    const hd = { ...FLU_360P, VideoTemplate: { ...FLU_360P.VideoTemplate, Height: 720 } };
    const started = Date.now();
    await assert.rejects(
      transcode(context({ timeoutMs: 1500 }), long, path.join(d, "o.mp4"), hd, { sourceDuration: 600 }),
      (err) => isJobError(70000)(err) && /timed out after 1\.5 s/.test((err as Error).message),
    );
    assert.ok(Date.now() - started < 15_000);
    await assertOnly(d, []);
  });

  test("abort via the signal → rejects, the child is killed, no temporary files", async () => {
    const d = await outDir();
    const ac = new AbortController();
    const heavy = {
      Container: "hls",
      VideoTemplate: { Codec: "libx265", Width: 1920, Height: 1080, FillType: "gauss", Gop: 25 },
    };
    const started = Date.now();
    const timer = setTimeout(() => ac.abort(), 700);
    try {
      await assert.rejects(
        transcode(
          context({ signal: ac.signal, cpus: new CpuAllotment(1), onProgress: (p) => p > 0 && ac.abort() }),
          video,
          path.join(d, "v.m3u8"),
          heavy,
          { sourceDuration: 2 },
        ),
        (err) => err instanceof MediaError && err.kind === "aborted",
      );
    } finally {
      clearTimeout(timer);
    }
    assert.ok(Date.now() - started < 10_000);
    await assertOnly(d, []);
    // Already aborted: nothing starts.
    await assert.rejects(
      coverSnapshot(
        context({ signal: ac.signal }),
        video,
        path.join(d, "c.jpg"),
        {},
        { positionType: "Time", positionValue: 0, sourceDuration: 2 },
      ),
      (err) => err instanceof MediaError && err.kind === "aborted",
    );
    await assertOnly(d, []);
  });

  test("a job's threads come from ctx.cpus when it starts: every core alone, one beside a job holding them all", async () => {
    const d = await outDir();
    const log = path.join(dir, "args.log");
    const wrapper = path.join(dir, "ffmpeg-wrapper.sh");
    await writeFile(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${tools.ffmpeg}' "$@"\n`);
    await chmod(wrapper, 0o755);
    const wrapped: MediaTools = { ...tools, ffmpeg: wrapper };
    const t = { ...FLU_360P, VideoTemplate: { ...FLU_360P.VideoTemplate, Codec: "libx265" } };
    const cpus = new CpuAllotment(3);
    const sample = () =>
      sampleSnapshots(
        context({ tools: wrapped, cpus }),
        video,
        path.join(d, "s"),
        { SampleType: "Time", SampleInterval: 1 },
        { sourceDuration: 2 },
      );
    // Alone: all three cores, for the decoder, the filters and the encoder (x265's own pool too).
    await transcode(context({ tools: wrapped, cpus }), video, path.join(d, "t.mp4"), t, {
      sourceDuration: 2,
    });
    await sample();
    assert.equal(cpus.running, 0, "the jobs gave their threads back");
    // Beside another job that holds every core: one thread each, not three more.
    const other = cpus.acquire();
    assert.equal(other.threads, 3);
    await transcode(context({ tools: wrapped, cpus }), video, path.join(d, "t2.mp4"), t, {
      sourceDuration: 2,
    });
    await sample();
    other.release();
    const runs = (await readFile(log, "utf8"))
      .trim()
      .split("\n")
      // The jobs' runs, not the capability check's (caps.ts: a tiny lavfi HLS run).
      .filter((l) => l.includes(" -i ") && !l.includes(" lavfi "));
    assert.equal(runs.length, 4);
    const threadOptions = (r: string) =>
      [...r.matchAll(/ -(threads|filter_threads|filter_complex_threads)(?::\S+)? (\S+)/g)].map((m) => m[2]);
    runs.forEach((r, i) => {
      const expected = i < 2 ? "3" : "1";
      const values = threadOptions(r);
      assert.ok(values.length >= 3, r);
      assert.deepEqual(new Set(values), new Set([expected]), r);
    });
    assert.match(runs[0]!, /pools=3/);
    assert.match(runs[2]!, /pools=1/);
  });
});
