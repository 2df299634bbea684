import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { TaskErrCode } from "../src/protocol/errors.js";
import { interpretProbe, NotMediaError, probeMedia, rotation, type ProbedMedia } from "../src/media/probe.js";
import { taskFailureOf } from "../src/workers/failures.js";
import { MediaError, runFfmpeg, runFfprobe, writeAtomically } from "../src/media/run.js";
import { locateMediaTools, type MediaTools } from "../src/media/tools.js";
import { makeAudio, makeImage, makeVideo } from "./helpers/media.js";

let tools: MediaTools;
let dir: string;
let videoPath: string;
let audioPath: string;
let imagePath: string;

before(async () => {
  tools = await locateMediaTools();
  dir = await mkdtemp(path.join(os.tmpdir(), "openvod-media-"));
  videoPath = path.join(dir, "video.mp4");
  audioPath = path.join(dir, "audio.m4a");
  imagePath = path.join(dir, "image.png");
  await makeVideo(tools, videoPath);
  await makeAudio(tools, audioPath, 1);
  await makeImage(tools, imagePath, 64, 48);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Not media, which a task reports as 60000 SourceFileError with the same message. */
const isSourceFailure = (err: unknown) => {
  assert.ok(err instanceof NotMediaError, `expected NotMediaError, got ${String(err)}`);
  const failure = taskFailureOf(err);
  assert.ok(failure);
  assert.equal(failure.errCode, TaskErrCode.sourceFile);
  assert.equal(failure.errCode, 60000);
  assert.equal(failure.errCodeExt, "SourceFileError");
  assert.equal(failure.message, err.message);
  return true;
};

/** Children of this process still known to the kernel (zombies included), Linux only. */
async function childPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = await readFile(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may contain spaces, so split after the last ")".
      const ppid = Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid) pids.push(Number(entry));
    } catch {
      // The process went away while we looked.
    }
  }
  return pids;
}

describe("locateMediaTools", () => {
  test("picks the system ffmpeg/ffprobe from PATH", async () => {
    const t = await locateMediaTools({ PATH: process.env.PATH });
    assert.equal(t.source, "system");
    assert.equal(path.basename(t.ffmpeg), "ffmpeg");
    assert.equal(path.basename(t.ffprobe), "ffprobe");
    assert.ok(path.isAbsolute(t.ffmpeg));
    assert.match(t.ffmpegVersion, /\d/);
    assert.match(t.ffprobeVersion, /\d/);
    if (existsSync("/usr/bin/ffmpeg")) assert.match(t.ffmpegVersion, /^5\./);
  });

  test("an explicit OPENVOD_FFMPEG that does not exist throws (no silent fallback)", async () => {
    await assert.rejects(
      locateMediaTools({ PATH: process.env.PATH, OPENVOD_FFMPEG: "/nonexistent/ffmpeg" }),
      /OPENVOD_FFMPEG=\/nonexistent\/ffmpeg is not an executable file/,
    );
  });

  test("an explicit OPENVOD_FFPROBE that is not ffprobe throws", async () => {
    await assert.rejects(
      locateMediaTools({ PATH: process.env.PATH, OPENVOD_FFPROBE: "/bin/true" }),
      /OPENVOD_FFPROBE=\/bin\/true does not run as ffprobe/,
    );
  });

  test("env paths are used independently of each other", async () => {
    const t = await locateMediaTools({ PATH: process.env.PATH, OPENVOD_FFMPEG: tools.ffmpeg });
    assert.equal(t.source, "env");
    assert.equal(t.ffmpeg, tools.ffmpeg);
    assert.equal(path.basename(t.ffprobe), "ffprobe");
  });

  test("falls back to the npm packages when PATH has nothing", async (t) => {
    let found: MediaTools;
    try {
      found = await locateMediaTools({ PATH: "" });
    } catch {
      t.skip("optional npm packages not installed");
      return;
    }
    assert.equal(found.source, "npm");
    assert.match(found.ffmpeg, /node_modules/);
    assert.match(found.ffprobe, /node_modules/);
  });

  test("throws a clear error when nothing is found", async () => {
    await assert.rejects(
      locateMediaTools({ PATH: "" }, { npm: false }),
      /ffmpeg not found: set OPENVOD_FFMPEG/,
    );
  });
});

describe("probeMedia", () => {
  test("a 320x240 2 s h264/aac mp4", async () => {
    const p: ProbedMedia = await probeMedia(tools, videoPath);
    const m = p.metaData;
    assert.equal(p.category, "Video");
    assert.equal(p.formatName, "mp4");
    assert.equal(m.Width, 320);
    assert.equal(m.Height, 240);
    assert.ok(Math.abs(m.Duration - 2) <= 0.1, `Duration ${m.Duration}`);
    assert.ok(Math.abs(m.VideoDuration - 2) <= 0.1, `VideoDuration ${m.VideoDuration}`);
    assert.ok(Math.abs(m.AudioDuration - 2) <= 0.1, `AudioDuration ${m.AudioDuration}`);
    assert.match(m.Container, /mp4/);
    assert.equal(m.Size, (await stat(videoPath)).size);
    assert.ok(Number.isInteger(m.Bitrate) && m.Bitrate > 0);
    assert.equal(m.Rotate, 0);
    assert.equal(m.Md5, "");
    assert.equal(m.VideoStreamSet.length, 1);
    const v = m.VideoStreamSet[0]!;
    assert.equal(v.Codec, "h264");
    assert.equal(v.CodecTag, "avc1");
    assert.equal(v.Fps, 25);
    assert.equal(v.Width, 320);
    assert.equal(v.Height, 240);
    assert.ok(Number.isInteger(v.Bitrate) && v.Bitrate > 0);
    assert.deepEqual(v.DynamicRangeInfo, { Type: "SDR", HDRType: "" });
    assert.equal(m.AudioStreamSet.length, 1);
    assert.equal(m.AudioStreamSet[0]!.Codec, "aac");
    assert.equal(m.AudioStreamSet[0]!.SamplingRate, 48000);
    // Exactly the spec's member names, nothing else.
    assert.deepEqual(Object.keys(m).sort(), [
      "AudioDuration",
      "AudioStreamSet",
      "Bitrate",
      "Container",
      "Duration",
      "Height",
      "Md5",
      "Rotate",
      "Size",
      "VideoDuration",
      "VideoStreamSet",
      "Width",
    ]);
  });

  test("an audio-only m4a", async () => {
    const p = await probeMedia(tools, audioPath);
    assert.equal(p.category, "Audio");
    assert.equal(p.formatName, "m4a");
    assert.equal(p.metaData.Width, 0);
    assert.equal(p.metaData.Height, 0);
    assert.equal(p.metaData.VideoStreamSet.length, 0);
    assert.equal(p.metaData.VideoDuration, 0);
    assert.ok(Math.abs(p.metaData.AudioDuration - 1) <= 0.1);
    assert.equal(p.metaData.AudioStreamSet[0]!.Codec, "aac");
  });

  test("a png", async () => {
    const p = await probeMedia(tools, imagePath);
    assert.equal(p.category, "Image");
    assert.equal(p.formatName, "png");
    assert.equal(p.metaData.Width, 64);
    assert.equal(p.metaData.Height, 48);
    assert.equal(p.metaData.VideoStreamSet[0]!.Codec, "png");
    assert.equal(p.metaData.Duration, 0);
  });

  test("a rotated video keeps coded dims and reports Rotate", async () => {
    const rotated = path.join(dir, "rotated.mp4");
    // ffmpeg 5.1 writes `rotate=90` as a display matrix that ffprobe reads back as
    // rotation=90 (counterclockwise), i.e. 270 clockwise; older builds echo the tag.
    await writeAtomically(rotated, (tmp) =>
      runFfmpeg(tools, {
        args: ["-i", videoPath, "-c", "copy", "-metadata:s:v:0", "rotate=90", tmp],
        timeoutMs: 30_000,
      }),
    );
    const p = await probeMedia(tools, rotated);
    assert.equal(p.metaData.Width, 320);
    assert.equal(p.metaData.Height, 240);
    assert.ok([90, 270].includes(p.metaData.Rotate), `Rotate ${p.metaData.Rotate}`);
  });

  test("a text file named .mp4 is a SourceFileError", async () => {
    const fake = path.join(dir, "fake.mp4");
    await writeFile(fake, "this is not a video\n");
    await assert.rejects(probeMedia(tools, fake), (err: unknown) => {
      isSourceFailure(err);
      assert.ok(!(err as Error).message.includes(dir), "no server path in the message");
      return true;
    });
  });

  test("messages name the file for what it is: the source by default, an output when told", async () => {
    const fake = path.join(dir, "fake-out.mp4");
    await writeFile(fake, "this is not a video\n");
    await assert.rejects(
      probeMedia(tools, fake),
      /^NotMediaError: The source file fake-out\.mp4 could not be read/,
    );
    await assert.rejects(
      probeMedia(tools, fake, undefined, undefined, "output fake-out.mp4"),
      (err: Error) =>
        /^The output fake-out\.mp4 could not be read as media/.test(err.message) &&
        !/source/.test(err.message),
    );
    await assert.rejects(
      probeMedia(tools, path.join(dir, "gone.mp4"), undefined, undefined, "output gone.mp4"),
      {
        message: "The output gone.mp4 does not exist.",
      },
    );
  });

  test("a 0-byte file is a SourceFileError without running ffprobe", async () => {
    const empty = path.join(dir, "empty.mp4");
    await writeFile(empty, "");
    // A broken ffprobe path proves ffprobe is never spawned for an empty file.
    const broken: MediaTools = { ...tools, ffprobe: "/nonexistent/ffprobe" };
    await assert.rejects(probeMedia(broken, empty), isSourceFailure);
    await assert.rejects(probeMedia(tools, empty), /empty/);
  });

  test("a missing file is a SourceFileError", async () => {
    await assert.rejects(probeMedia(tools, path.join(dir, "missing.mp4")), isSourceFailure);
  });

  test("a missing ffprobe binary is not blamed on the file", async () => {
    const broken: MediaTools = { ...tools, ffprobe: "/nonexistent/ffprobe" };
    await assert.rejects(probeMedia(broken, videoPath), (err: unknown) => {
      assert.ok(err instanceof MediaError);
      assert.equal(err.kind, "spawn");
      return true;
    });
  });
});

describe("interpretProbe (ffprobe JSON mapping)", () => {
  const base = { file: "/x/in.mkv", size: 1000 };
  test("HDR, Matroska tags, attached pictures", () => {
    const p = interpretProbe(
      {
        format: { format_name: "matroska,webm", duration: "4.000000", bit_rate: "2000" },
        streams: [
          {
            codec_type: "video",
            codec_name: "hevc",
            codec_tag_string: "[0][0][0][0]",
            width: 3840,
            height: 2160,
            avg_frame_rate: "30000/1001",
            color_transfer: "smpte2084",
            tags: { BPS: "1500", DURATION: "00:00:03.960000000" },
          },
          {
            codec_type: "video",
            codec_name: "hevc",
            width: 1280,
            height: 720,
            color_transfer: "arib-std-b67",
          },
          {
            codec_type: "video",
            codec_name: "mjpeg",
            width: 600,
            height: 600,
            disposition: { attached_pic: 1 },
          },
          { codec_type: "audio", codec_name: "opus", sample_rate: "48000" },
        ],
      },
      base,
    );
    const m = p.metaData;
    assert.equal(p.category, "Video");
    assert.equal(p.formatName, "mkv");
    assert.equal(m.VideoStreamSet.length, 2, "the cover picture is not a video stream");
    assert.equal(m.Width, 3840);
    assert.equal(m.Height, 2160);
    assert.equal(m.Bitrate, 2000);
    assert.equal(m.VideoDuration, 3.96);
    assert.equal(m.AudioDuration, 4);
    assert.deepEqual(m.VideoStreamSet[0], {
      Bitrate: 1500,
      Height: 2160,
      Width: 3840,
      Codec: "hevc",
      Fps: 30,
      CodecTag: "",
      DynamicRangeInfo: { Type: "HDR", HDRType: "hdr10" },
    });
    assert.deepEqual(m.VideoStreamSet[1]!.DynamicRangeInfo, { Type: "HDR", HDRType: "hlg" });
    assert.deepEqual(m.AudioStreamSet, [{ Bitrate: 0, SamplingRate: 48000, Codec: "opus" }]);
  });

  test("an mp3 with cover art is Audio", () => {
    const p = interpretProbe(
      {
        format: { format_name: "mp3", duration: "3.0", bit_rate: "128000" },
        streams: [
          { codec_type: "audio", codec_name: "mp3", sample_rate: "44100", bit_rate: "128000" },
          {
            codec_type: "video",
            codec_name: "png",
            width: 500,
            height: 500,
            disposition: { attached_pic: 1 },
          },
        ],
      },
      { file: "/x/song.mp3", size: 48000 },
    );
    assert.equal(p.category, "Audio");
    assert.equal(p.formatName, "mp3");
    assert.equal(p.metaData.Width, 0);
  });

  test("rotation normalisation", () => {
    assert.equal(rotation({ tags: { rotate: "90" } }), 90);
    assert.equal(rotation({ side_data_list: [{ side_data_type: "Display Matrix", rotation: -90 }] }), 90);
    assert.equal(rotation({ side_data_list: [{ side_data_type: "Display Matrix", rotation: 90 }] }), 270);
    assert.equal(rotation({ side_data_list: [{ side_data_type: "Display Matrix", rotation: 180 }] }), 180);
    assert.equal(rotation({ side_data_list: [{ side_data_type: "Display Matrix", rotation: -180 }] }), 180);
    assert.equal(rotation({}), 0);
  });

  test("no audio or video stream", () => {
    assert.throws(
      () => interpretProbe({ format: { format_name: "mpegts" }, streams: [{ codec_type: "data" }] }, base),
      isSourceFailure,
    );
    assert.throws(
      () =>
        interpretProbe(
          { format: { format_name: "tty" }, streams: [{ codec_type: "video", codec_name: "ansi" }] },
          { file: "/x/a.txt", size: 10 },
        ),
      isSourceFailure,
    );
  });
});

describe("runFfmpeg / runFfprobe", () => {
  test("progress is monotonic and reaches 100 on a 2 s transcode", async () => {
    const seen: number[] = [];
    const out = path.join(dir, "transcoded.mp4");
    await writeAtomically(out, (tmp) =>
      runFfmpeg(tools, {
        args: ["-i", videoPath, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", tmp],
        timeoutMs: 60_000,
        durationSec: 2,
        onProgress: (p) => seen.push(p),
      }),
    );
    assert.ok(seen.length > 0);
    assert.equal(seen.at(-1), 100);
    for (let i = 1; i < seen.length; i++)
      assert.ok(seen[i]! > seen[i - 1]!, `not increasing: ${seen.join(",")}`);
    assert.ok(seen.every((p) => Number.isInteger(p) && p >= 0 && p <= 100));
    assert.ok((await stat(out)).size > 0);
  });

  test("a timeout SIGKILLs an endless run quickly and leaves no zombie", async () => {
    const started = Date.now();
    await assert.rejects(
      runFfmpeg(tools, { args: ["-f", "lavfi", "-i", "testsrc2", "-f", "null", "-"], timeoutMs: 200 }),
      (err: unknown) => {
        assert.ok(err instanceof MediaError);
        assert.equal(err.kind, "timeout");
        return true;
      },
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
    if (process.platform === "linux") assert.deepEqual(await childPids(), []);
  });

  test("an abort SIGKILLs the run", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const started = Date.now();
    await assert.rejects(
      runFfmpeg(tools, {
        args: ["-f", "lavfi", "-i", "testsrc2", "-f", "null", "-"],
        timeoutMs: 60_000,
        signal: ac.signal,
      }),
      (err: unknown) => err instanceof MediaError && err.kind === "aborted",
    );
    assert.ok(Date.now() - started < 2000);
    if (process.platform === "linux") assert.deepEqual(await childPids(), []);
    // An already-aborted signal never spawns.
    await assert.rejects(
      runFfmpeg(
        { ...tools, ffmpeg: "/nonexistent/ffmpeg" },
        { args: [], timeoutMs: 1000, signal: ac.signal },
      ),
      (err: unknown) => err instanceof MediaError && err.kind === "aborted",
    );
  });

  test("a failing run rejects with kind exit and the stderr tail", async () => {
    await assert.rejects(
      runFfmpeg(tools, { args: ["-i", path.join(dir, "missing.mp4"), "-f", "null", "-"], timeoutMs: 10_000 }),
      (err: unknown) => {
        assert.ok(err instanceof MediaError);
        assert.equal(err.kind, "exit");
        assert.equal(err.exitCode !== 0, true);
        assert.match(err.stderrTail, /No such file/);
        assert.match(err.message, /No such file/);
        return true;
      },
    );
  });

  test("a missing binary rejects with kind spawn", async () => {
    await assert.rejects(
      runFfmpeg({ ...tools, ffmpeg: "/nonexistent/ffmpeg" }, { args: [], timeoutMs: 1000 }),
      (err: unknown) => err instanceof MediaError && err.kind === "spawn",
    );
  });

  test("runFfprobe returns stdout", async () => {
    const out = await runFfprobe(
      tools,
      ["-v", "error", "-print_format", "json", "-show_format", videoPath],
      10_000,
    );
    assert.match((JSON.parse(out) as { format: { format_name: string } }).format.format_name, /mp4/);
  });
});

describe("writeAtomically", () => {
  test("the temp name is hidden, in the same directory, and ends with the real extension", async () => {
    const final = path.join(dir, "atomic", "sub", "out.mp4");
    let seenTmp = "";
    await writeAtomically(final, async (tmp) => {
      seenTmp = tmp;
      assert.equal(path.dirname(tmp), path.dirname(final));
      assert.match(path.basename(tmp), /^\.out\.[0-9a-f]+\.tmp\.mp4$/);
      assert.equal(existsSync(final), false, "final path must not exist while producing");
      await writeFile(tmp, "complete");
    });
    assert.equal(await readFile(final, "utf8"), "complete");
    assert.equal(existsSync(seenTmp), false);
  });

  test("a failing produce leaves no temp file and never a partial final file", async () => {
    const sub = path.join(dir, "atomic-fail");
    const final = path.join(sub, "out.mp4");
    await assert.rejects(
      writeAtomically(final, async (tmp) => {
        await writeFile(tmp, "partial");
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.deepEqual(await readdir(sub), []);

    // An existing final file stays intact until a complete replacement is renamed over it.
    await writeFile(final, "old");
    await assert.rejects(
      writeAtomically(final, async (tmp) => {
        await writeFile(tmp, "partial");
        assert.equal(await readFile(final, "utf8"), "old");
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(await readFile(final, "utf8"), "old");
    assert.deepEqual(await readdir(sub), ["out.mp4"]);
  });

  test("a failing ffmpeg run leaves nothing behind", async () => {
    const sub = path.join(dir, "atomic-ffmpeg");
    await assert.rejects(
      writeAtomically(path.join(sub, "x.mp4"), (tmp) =>
        runFfmpeg(tools, {
          args: ["-f", "lavfi", "-i", "testsrc2=size=64x48", "-c:v", "libx264", "-preset", "ultrafast", tmp],
          timeoutMs: 300,
        }),
      ),
      (err: unknown) => err instanceof MediaError && err.kind === "timeout",
    );
    assert.deepEqual(await readdir(sub), []);
  });
});
