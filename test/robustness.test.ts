// Awkward inputs through ProcessMedia on one real openvod process: corrupt, truncated and empty
// originals, audio only, portrait, rotated, odd-sized and variable-frame-rate video. Each ends
// with a correct result or a clean per-sub-task failure; never a crash, a stuck task, or a
// partial file under the data directory.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { probeMedia } from "../src/media/probe.js";
import { runFfmpeg, writeAtomically } from "../src/media/run.js";
import type { MediaTools } from "../src/media/tools.js";
import { audio, video, withOpenvod } from "./helpers/openvod.js";
import { FAST_H264 } from "./helpers/media.js";
import { APP_ID, waitForTask } from "./helpers/server.js";
import { results, tree } from "./helpers/inspect.js";

const ffmpegMedia = (tools: MediaTools, out: string, args: string[]) =>
  writeAtomically(out, (tmp) => runFfmpeg(tools, { args: [...args, tmp], timeoutMs: 60_000 }));

describe("robust Procedure inputs", () => {
  // Registered before the fixture's after(), so that it runs while the server is still up.
  after(() => {
    // Never a crash: the server is still up after all of it, and its scratch space is empty.
    assert.equal(server.child.exitCode, null, server.stderr);
    assert.deepEqual(tree(join(server.dataDir, "tmp")), []);
  });
  const { server, vod, files, tools, dir } = withOpenvod({
    media: {
      "clip.mp4": video({ width: 320, height: 240, seconds: 2 }),
      "portrait.mp4": video({ width: 240, height: 320, seconds: 2 }),
      "tone.m4a": audio(2),
      // 4:4:4 lets x264 keep odd sizes (testsrc2 itself rounds down to even ones).
      "odd.mp4": (tools, out) =>
        ffmpegMedia(tools, out, [
          "-f",
          "lavfi",
          "-i",
          "testsrc2=size=320x240:rate=25:duration=2",
          "-vf",
          "scale=321:239,setsar=1,format=yuv444p",
          "-c:v",
          "libx264",
          "-preset",
          "ultrafast",
          "-pix_fmt",
          "yuv444p",
        ]),
      // Variable frame rate: 10 fps for the first second, 30 fps for the second.
      "vfr.mp4": (tools, out) =>
        ffmpegMedia(tools, out, [
          "-f",
          "lavfi",
          "-i",
          "testsrc2=size=320x240:rate=30:duration=2",
          "-f",
          "lavfi",
          "-i",
          "sine=frequency=440:sample_rate=48000:duration=2",
          "-vf",
          "select='if(lt(t,1),not(mod(n,3)),1)'",
          "-fps_mode",
          "vfr",
          ...FAST_H264,
          "-c:a",
          "aac",
        ]),
    },
    env: { OPENVOD_TASK_TIMEOUT_MS: "120000" },
  });
  const ids: Record<string, string> = {};

  /** Local path of a media item's original in the server's blob store. */
  const original = (fileId: string): string => {
    const d = join(server.dataDir, "files", String(APP_ID), fileId);
    const f0 = readdirSync(d).find((n) => n.startsWith("f0."));
    assert.ok(f0, `no original in ${d}`);
    return join(d, f0);
  };

  /** Every file of the media item is an original, a cover or a listed output: no temporaries. */
  const assertNoPartialFiles = (fileId: string, allowed: RegExp[] = []) => {
    const listing = tree(join(server.dataDir, "files", String(APP_ID), fileId)).filter(
      (f) => !f.endsWith("/"),
    );
    for (const f of listing) {
      assert.ok(
        /^(f0\.\w+|cover\.\w+|cover-\d+\.jpg)$/.test(f) || allowed.some((re) => re.test(f)),
        `unexpected file ${f} of ${fileId}`,
      );
      assert.doesNotMatch(f, /(^|\/)\.|\.tmp|\.old-/, `temporary file ${f}`);
    }
  };

  const run = async (fileId: string, task: Record<string, unknown>) => {
    const { TaskId } = await vod.ProcessMedia({ FileId: fileId, MediaProcessTask: task });
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 60_000 });
    assert.equal(detail.Status, "FINISH");
    return results(detail);
  };

  const download = async (url: string, name: string) => {
    const res = await fetch(url);
    assert.equal(res.status, 200, url);
    const file = join(dir(), name);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return probeMedia(tools, file);
  };

  before(async () => {
    const clip = join(dir(), "clip.mp4");
    // Coded 320x240 with a rotate=90 tag: upright it is 240x320.
    await ffmpegMedia(tools, join(dir(), "rotated.mp4"), [
      "-i",
      clip,
      "-c",
      "copy",
      "-metadata:s:v:0",
      "rotate=90",
    ]);
    await ffmpegMedia(tools, join(dir(), "faststart.mp4"), [
      "-i",
      clip,
      "-c",
      "copy",
      "-movflags",
      "+faststart",
    ]);
    const pulls: Array<[string, string]> = [
      ["corrupt", "clip.mp4"],
      ["truncated", "clip.mp4"],
      ["empty", "clip.mp4"],
      ["faststart", "faststart.mp4"],
      ["midcorrupt", "faststart.mp4"],
      ["audio", "tone.m4a"],
      ["portrait", "portrait.mp4"],
      ["rotated", "rotated.mp4"],
      ["odd", "odd.mp4"],
      ["vfr", "vfr.mp4"],
    ];
    await Promise.all(
      pulls.map(async ([key, name]) => {
        const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/${name}`, MediaName: key });
        const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
        assert.equal(detail.PullUploadTask.ErrCode, 0, `${name}: ${detail.PullUploadTask.Message}`);
        ids[key] = detail.PullUploadTask.FileId;
      }),
    );
  });

  const EVERYTHING = {
    TranscodeTaskSet: [{ Definition: 100010 }, { Definition: 100210 }],
    SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ["1s"] }],
    SampleSnapshotTaskSet: [{ Definition: 10 }],
    ImageSpriteTaskSet: [{ Definition: 10 }],
    AnimatedGraphicTaskSet: [{ Definition: 20000, StartTimeOffset: 0, EndTimeOffset: 1 }],
    CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: "Time", PositionValue: 1 }],
    AdaptiveDynamicStreamingTaskSet: [{ Definition: 10 }],
  };

  /** Failed sub-tasks whose Output the spec does not allow to be null: an empty item instead. */
  const NON_NULL_OUTPUT = new Set(["CoverBySnapshot", "AdaptiveDynamicStreaming"]);
  const assertNoOutput = (x: any) => {
    if (NON_NULL_OUTPUT.has(x.type)) assert.equal(x.Output.Url ?? x.Output.CoverUrl, "", x.type);
    else assert.equal(x.Output, null, x.type);
  };

  const assertAllFailed = (r: Record<string, any[]>, code: number, message: RegExp) => {
    const all = Object.entries(r).flatMap(([type, xs]) => xs.map((x) => ({ ...x, type })));
    assert.equal(all.length, 8);
    for (const x of all) {
      assert.equal(x.Status, "FAIL", JSON.stringify(x.Input));
      assert.equal(x.ErrCode, code, x.Message);
      assert.equal(x.ErrCodeExt, "SourceFileError");
      assert.match(x.Message, message);
      assert.doesNotMatch(x.Message, /\/tmp\/|openvod-test-/, "no server paths in messages");
      assertNoOutput(x);
      assert.match(x.FinishTime, /Z$/);
    }
  };

  it("corrupt original (random bytes): every sub-task fails with 60000", async () => {
    const f = original(ids.corrupt!);
    writeFileSync(f, randomBytes(statSync(f).size));
    // Now and then the bytes pass for a container that holds no stream: told apart, still 60000.
    assertAllFailed(await run(ids.corrupt!, EVERYTHING), 60000, /could not|invalid|read|no audio or video stream/i);
    assertNoPartialFiles(ids.corrupt!);
  });

  it("truncated original (cut in half): every sub-task fails with 60000", async () => {
    const f = original(ids.truncated!);
    truncateSync(f, Math.floor(statSync(f).size / 2));
    assertAllFailed(await run(ids.truncated!, EVERYTHING), 60000, /could not|truncated|moov/i);
    assertNoPartialFiles(ids.truncated!);
  });

  it("faststart original cut in half: what needs the lost half fails with 60000, the rest succeeds", async () => {
    // The index (moov) is intact and promises 2 s; the data stops near 1 s. ffmpeg reads up to
    // the cut and exits 0, so only its "partial file" report tells a complete run from a cut one.
    const f = original(ids.faststart!);
    truncateSync(f, Math.floor(statSync(f).size / 2));
    const r = await run(ids.faststart!, {
      ...EVERYTHING,
      SnapshotByTimeOffsetTaskSet: [
        { Definition: 10, ExtTimeOffsetSet: ["1.8s"] },
        { Definition: 10, TimeOffsetSet: [200] },
      ],
    });
    const [late, early] = r.SnapshotByTimeOffset!;
    assert.equal(early.Status, "SUCCESS", early.Message);
    const shot = await download(early.Output.PicInfoSet[0].Url, "early.jpg");
    assert.deepEqual([shot.metaData.Width, shot.metaData.Height], [320, 240]);
    for (const x of [
      { ...late, type: "SnapshotByTimeOffset" },
      ...Object.entries(r).flatMap(([k, v]) =>
        k === "SnapshotByTimeOffset" ? [] : v.map((y) => ({ ...y, type: k })),
      ),
    ]) {
      assert.equal(x.Status, "FAIL", JSON.stringify(x.Input));
      assert.equal(x.ErrCode, 60000, x.Message);
      assert.match(x.Message, /truncated/);
      assertNoOutput(x);
    }
    assertNoPartialFiles(ids.faststart!, [/^snapshot-10\/snapshot_\d+_200\.jpg$/]);
  });

  it("damaged middle (garbage in the media data): clean results or clean failures", async () => {
    const f = original(ids.midcorrupt!);
    const buf = readFileSync(f);
    // Deterministic garbage over the middle third (the index at the front stays intact).
    let x = 12345;
    for (let i = Math.floor(buf.length / 3); i < Math.floor((2 * buf.length) / 3); i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      buf[i] = x >> 16;
    }
    writeFileSync(f, buf);
    const r = await run(ids.midcorrupt!, EVERYTHING);
    for (const [type, list] of Object.entries(r)) {
      for (const x of list) {
        assert.ok(
          x.Status === "SUCCESS" || (x.Status === "FAIL" && x.ErrCode === 60000),
          `${type}: ${x.Status} ${x.ErrCode} ${x.Message}`,
        );
        if (type === "Transcode" && x.Status === "SUCCESS")
          assert.ok(Math.abs(x.Output.Duration - 2) < 0.3, `duration ${x.Output.Duration}`);
      }
    }
    assertNoPartialFiles(ids.midcorrupt!, [
      /^v\.f100010\.mp4$/,
      /^v\.f100210\//,
      /^(snapshot|sample|sprite|adp)-10\//,
      /^animated-20000\.gif$/,
    ]);
  });

  it("0-byte original: every sub-task fails with 60000", async () => {
    truncateSync(original(ids.empty!), 0);
    assertAllFailed(await run(ids.empty!, EVERYTHING), 60000, /empty|0 bytes|could not/i);
    assertNoPartialFiles(ids.empty!);
  });

  it("audio only: audio renditions succeed, picture tasks fail with 40000", async () => {
    const r = await run(ids.audio!, EVERYTHING);
    const [mp4, hls] = r.Transcode!;
    for (const t of [mp4, hls]) {
      assert.equal(t.Status, "SUCCESS", t.Message);
      assert.equal(t.Output.VideoStreamSet.length, 0);
      assert.equal(t.Output.AudioStreamSet[0].Codec, "aac");
      assert.ok(Math.abs(t.Output.Duration - 2) < 0.3, `duration ${t.Output.Duration}`);
    }
    for (const type of ["SnapshotByTimeOffset", "SampleSnapshot", "ImageSprites", "AnimatedGraphics"]) {
      const x = r[type]![0];
      assert.equal(x.Status, "FAIL", type);
      assert.equal(x.ErrCode, 40000, `${type}: ${x.Message}`);
      assert.match(x.Message, /no video/);
    }
    const cover = r.CoverBySnapshot![0];
    assert.equal(cover.Status, "FAIL");
    assert.equal(cover.ErrCode, 40000);
    const adp = r.AdaptiveDynamicStreaming![0];
    if (adp.Status === "SUCCESS") {
      assert.ok(
        adp.Output.SubStreamSet.every((s: any) => s.Type === "audio"),
        JSON.stringify(adp.Output),
      );
    } else {
      assert.equal(adp.ErrCode, 40000, adp.Message);
    }
    assertNoPartialFiles(ids.audio!, [/^v\.f100010\.mp4$/, /^v\.f100210\//, /^adp-10\//]);
  });

  it("portrait: 100010 gives a portrait 360x480", async () => {
    const r = await run(ids.portrait!, {
      TranscodeTaskSet: [{ Definition: 100010 }],
      SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [500] }],
    });
    const t = r.Transcode![0];
    assert.equal(t.Status, "SUCCESS", t.Message);
    assert.equal(t.Output.Width, 360);
    assert.equal(t.Output.Height, 480);
    const got = await download(t.Output.Url, "portrait-out.mp4");
    assert.equal(got.metaData.Width, 360);
    assert.equal(got.metaData.Height, 480);
    const shot = await download(r.SnapshotByTimeOffset![0].Output.PicInfoSet[0].Url, "portrait.jpg");
    assert.deepEqual([shot.metaData.Width, shot.metaData.Height], [240, 320]);
  });

  it("rotated (rotate=90): outputs are upright, with Rotate 0 and swapped dimensions", async () => {
    const r = await run(ids.rotated!, {
      TranscodeTaskSet: [{ Definition: 100010 }],
      SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [500] }],
    });
    const t = r.Transcode![0];
    assert.equal(t.Status, "SUCCESS", t.Message);
    assert.deepEqual([t.Output.Width, t.Output.Height], [360, 480]);
    const got = await download(t.Output.Url, "rotated-out.mp4");
    assert.equal(got.metaData.Rotate, 0);
    assert.deepEqual([got.metaData.Width, got.metaData.Height], [360, 480]);
    const shot = await download(r.SnapshotByTimeOffset![0].Output.PicInfoSet[0].Url, "rotated.jpg");
    assert.deepEqual([shot.metaData.Width, shot.metaData.Height], [240, 320]);
  });

  it("odd dimensions (321x239): video outputs are even, pictures keep the size", async () => {
    const { Definition: keepSize } = await vod.CreateTranscodeTemplate({
      Container: "mp4",
      VideoTemplate: { Codec: "libx264", Fps: 0, Bitrate: 0, Width: 0, Height: 0 },
      AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 },
    });
    const r = await run(ids.odd!, {
      TranscodeTaskSet: [{ Definition: 100010 }, { Definition: keepSize }],
      SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [500] }],
      ImageSpriteTaskSet: [{ Definition: 10 }],
    });
    const [flu, keep] = r.Transcode!;
    for (const t of [flu, keep]) {
      assert.equal(t.Status, "SUCCESS", t.Message);
      assert.equal(t.Output.Width % 2, 0, `width ${t.Output.Width}`);
      assert.equal(t.Output.Height % 2, 0, `height ${t.Output.Height}`);
      assert.equal(t.Output.VideoStreamSet[0].Codec, "h264");
    }
    assert.deepEqual([flu.Output.Width, flu.Output.Height], [484, 360]);
    assert.ok(Math.abs(keep.Output.Width - 321) <= 1 && Math.abs(keep.Output.Height - 239) <= 1);
    const got = await download(flu.Output.Url, "odd-out.mp4");
    assert.equal(got.metaData.VideoStreamSet[0]!.Codec, "h264");
    const shot = await download(r.SnapshotByTimeOffset![0].Output.PicInfoSet[0].Url, "odd.jpg");
    assert.deepEqual([shot.metaData.Width, shot.metaData.Height], [321, 239]);
    assert.equal(r.ImageSprites![0].Status, "SUCCESS", r.ImageSprites![0].Message);
  });

  it("variable frame rate: transcodes keep the duration and a sane frame rate", async () => {
    const { Definition: sourceFps } = await vod.CreateTranscodeTemplate({
      Container: "mp4",
      VideoTemplate: { Codec: "libx264", Fps: 0, Bitrate: 0, Width: 0, Height: 240 },
      AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 },
    });
    const r = await run(ids.vfr!, {
      TranscodeTaskSet: [{ Definition: 100010 }, { Definition: sourceFps }, { Definition: 100210 }],
      SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ["0.5s", "1.5s"] }],
    });
    const [flu, keep, hls] = r.Transcode!;
    for (const t of [flu, keep, hls]) {
      assert.equal(t.Status, "SUCCESS", t.Message);
      assert.ok(Math.abs(t.Output.Duration - 2) < 0.3, `duration ${t.Output.Duration}`);
      const fps = t.Output.VideoStreamSet[0].Fps;
      assert.ok(fps > 5 && fps <= 30, `fps ${fps}`);
    }
    // The template's 25 fps is a constant rate: 50 frames in 2 s.
    const got = await download(flu.Output.Url, "vfr-out.mp4");
    assert.equal(got.metaData.VideoStreamSet[0]!.Fps, 25);
    assert.ok(Math.abs(got.metaData.VideoDuration - 2) < 0.2, `video ${got.metaData.VideoDuration}`);
    const shots = r.SnapshotByTimeOffset![0];
    assert.equal(shots.Status, "SUCCESS", shots.Message);
    assert.equal(shots.Output.PicInfoSet.length, 2);
  });
});
