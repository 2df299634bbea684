// Editing through the official SDK: EditMedia, SplitMedia and ComposeMedia make real new media
// items with ffmpeg; the outputs are downloaded and checked with ffprobe and by their pictures.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { probeMedia, type ProbedMedia } from "../src/media/probe.js";
import { runFfmpeg, runProcess } from "../src/media/run.js";
import { video, withOpenvod } from "./helpers/openvod.js";
import { sdkError, startOpenvod, until, waitForTask } from "./helpers/server.js";

/** One frame's duration at 25 fps: how close a cut must be. */
const FRAME = 1 / 25;

describe("editing", () => {
  const fixture = withOpenvod({
    media: {
      "red.mp4": video({ width: 320, height: 180, fps: 25, seconds: 3, color: "red" }),
      "blue.mp4": video({ width: 160, height: 90, fps: 30, seconds: 3, color: "blue", audio: false }),
      // 1 s red, 1 s lime, 1 s blue, with a tone: where a cut falls shows in the picture.
      "rgb.mp4": async (tools, out) => {
        const rgb = ["red", "lime", "blue"].map((c) => `color=c=${c}:size=320x180:rate=25:duration=1`);
        await runFfmpeg(tools, {
          args: [
            ...rgb.flatMap((src) => ["-f", "lavfi", "-i", src]),
            ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3"],
            ...["-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]", "-map", "3:a"],
            ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
            out,
          ],
          timeoutMs: 60_000,
        });
      },
      "white.png": async (tools, out) => {
        await runFfmpeg(tools, {
          args: ["-f", "lavfi", "-i", "color=c=white:size=40x40", "-frames:v", "1", "-update", "1", out],
          timeoutMs: 30_000,
        });
      },
    },
    env: { OPENVOD_TASK_TIMEOUT_MS: "120000" },
  });
  const { vod, files, tools, dir } = fixture;
  /** red: 320x180 25 fps 3 s with a tone; blue: 160x90 30 fps 3 s, silent. */
  let redId: string;
  let blueId: string;
  /** 320x180 25 fps: 1 s red, 1 s lime, 1 s blue. */
  let rgbId: string;
  /** A 40x40 white picture. */
  let whiteId: string;

  const pull = (name: string, subAppId?: number): Promise<string> => fixture.pull(name, { subAppId });

  /** Downloads a URL (an HLS playlist: remuxed by ffmpeg from the server into one file) and probes it. */
  async function probeUrl(url: string, name: string): Promise<{ probed: ProbedMedia; file: string }> {
    const file = join(dir(), name);
    if (url.endsWith(".m3u8")) {
      await runFfmpeg(tools, { args: ["-i", url, "-c", "copy", file], timeoutMs: 30_000 });
    } else {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    }
    return { probed: await probeMedia(tools, file), file };
  }

  /** The colour of the picture at time t (of the w×h region at x,y when given), as one averaged RGB pixel. */
  async function colourAt(file: string, t: number, region?: [number, number, number, number]) {
    const crop = region ? `crop=${region[2]}:${region[3]}:${region[0]}:${region[1]},` : "";
    const { stdout } = await runProcess({
      name: "ffmpeg",
      command: tools.ffmpeg,
      args: [
        ...["-v", "error", "-ss", String(t), "-i", file, "-frames:v", "1"],
        ...["-vf", `${crop}scale=1:1`, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
      ],
      timeoutMs: 30_000,
      collectStdoutMax: 1024,
    });
    return [stdout[0]!, stdout[1]!, stdout[2]!];
  }

  const isRed = ([r, g, b]: number[]) => r > 180 && g < 80 && b < 80;
  const isGreen = ([r, g, b]: number[]) => g > 180 && r < 80 && b < 80;
  const isBlue = ([r, g, b]: number[]) => b > 180 && r < 80 && g < 80;
  const isBlack = ([r, g, b]: number[]) => r < 40 && g < 40 && b < 40;
  const isWhite = ([r, g, b]: number[]) => r > 215 && g > 215 && b > 215;

  before(async () => {
    redId = await pull("red.mp4");
    blueId = await pull("blue.mp4");
    rgbId = await pull("rgb.mp4");
    whiteId = await pull("white.png");
  });

  describe("EditMedia", () => {
    it("cuts two different clips, one silent, and joins them in order into a new item", async () => {
      const { TaskId } = await vod.EditMedia({
        InputType: "File",
        FileInfos: [
          { FileId: redId, StartTimeOffset: 0.5, EndTimeOffset: 1.5 },
          { FileId: blueId, StartTimeOffset: 1, EndTimeOffset: 2.2 },
        ],
        OutputConfig: { MediaName: "joined", VideoStream: { Width: 320, Height: 180, Fps: 25 } },
        SessionContext: "edit-1",
      });
      assert.match(TaskId!, /^1250000000-EditMedia-[0-9a-f]{32}t0$/);
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
      assert.equal(detail.TaskType, "EditMedia");
      const t = detail.EditMediaTask;
      assert.equal(t.ErrCode, 0, t.Message);
      assert.equal(t.Status, "FINISH");
      assert.equal(t.Progress, 100);
      assert.equal(t.SessionContext, "edit-1");
      assert.equal(t.Input.InputType, "File");
      assert.deepEqual(
        t.Input.FileInfoSet.map((f: any) => [f.FileId, f.StartTimeOffset, f.EndTimeOffset]),
        [
          [redId, 0.5, 1.5],
          [blueId, 1, 2.2],
        ],
      );
      assert.match(t.Output.FileId, /^\d{19}$/);
      assert.notEqual(t.Output.FileId, redId);
      assert.equal(t.Output.FileType, "mp4");
      assert.equal(t.Output.MediaName, "joined");
      assert.equal(t.MetaData.Width, 320);
      assert.equal(t.MetaData.Height, 180);

      const { probed, file } = await probeUrl(t.Output.FileUrl, "joined.mp4");
      const m = probed.metaData;
      assert.ok(Math.abs(m.Duration - 2.2) <= 2 * FRAME, `duration ${m.Duration}, expected 2.2`);
      assert.equal(m.Width, 320);
      assert.equal(m.Height, 180);
      assert.equal(m.VideoStreamSet.length, 1);
      assert.equal(m.VideoStreamSet[0]!.Codec, "h264");
      assert.equal(Math.round(m.VideoStreamSet[0]!.Fps), 25);
      assert.equal(m.AudioStreamSet.length, 1, "the silent part got a silent track");
      assert.ok(m.AudioDuration >= 2.1, `audio lasts ${m.AudioDuration}`);
      assert.ok(isRed(await colourAt(file, 0.5)), "red first");
      assert.ok(isBlue(await colourAt(file, 1.6)), "blue second");
      // The 160x90 part is scaled up to the frame: blue fills it (no bars at 16:9).
      assert.ok(isBlue(await colourAt(file, 1.9)));

      const info: any = await vod.DescribeMediaInfos({ FileIds: [t.Output.FileId] });
      assert.equal(info.MediaInfoSet.length, 1);
      assert.equal(info.MediaInfoSet[0].BasicInfo.Name, "joined");
      assert.equal(info.MediaInfoSet[0].BasicInfo.SourceInfo.SourceType, "VideoProcessing");
      assert.equal(info.MediaInfoSet[0].MetaData.Width, 320);

      const events: any = await vod.PullEvents({});
      const done = events.EventSet.find(
        (e: any) => e.EventType === "EditMediaComplete" && e.EditMediaCompleteEvent.TaskId === TaskId,
      );
      assert.ok(done, "EditMediaComplete was emitted");
      assert.equal(done.EditMediaCompleteEvent.Output.FileId, t.Output.FileId);
      assert.equal(done.EditMediaCompleteEvent.SessionContext, "edit-1");
    });

    it("writes HLS, takes the size of the largest input, clamps an end beyond the source", async () => {
      const { TaskId } = await vod.EditMedia({
        InputType: "File",
        FileInfos: [
          { FileId: blueId, EndTimeOffset: 1 },
          { FileId: redId, StartTimeOffset: 2, EndTimeOffset: 99 },
        ],
        OutputConfig: { Type: "hls" },
      });
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
      const t = detail.EditMediaTask;
      assert.equal(t.ErrCode, 0, t.Message);
      assert.equal(t.Output.FileType, "m3u8");
      assert.match(t.Output.FileUrl, /\.m3u8$/);
      const { probed, file } = await probeUrl(t.Output.FileUrl, "joined-hls.mp4");
      assert.equal(probed.metaData.Width, 320, "the largest input's size");
      assert.equal(probed.metaData.Height, 180);
      assert.ok(Math.abs(probed.metaData.Duration - 2) <= 2 * FRAME, `duration ${probed.metaData.Duration}`);
      assert.ok(isBlue(await colourAt(file, 0.5)));
      assert.ok(isRed(await colourAt(file, 1.5)));
    });

    it("starts the named Procedure on the new item", async () => {
      const { TaskId } = await vod.EditMedia({
        InputType: "File",
        FileInfos: [{ FileId: redId, EndTimeOffset: 1 }],
        ProcedureName: "LongVideoPreset",
      });
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
      const t = detail.EditMediaTask;
      assert.equal(t.ErrCode, 0, t.Message);
      assert.match(t.ProcedureTaskId, /-procedurev2-/);
      const proc = await waitForTask(vod, t.ProcedureTaskId, { timeoutMs: 120_000 });
      assert.equal(proc.detail.ProcedureTask.FileId, t.Output.FileId);
    });

    it("answers the cloud's errors for what it cannot edit", async () => {
      const bad = (p: Record<string, unknown>) =>
        sdkError(() => vod.EditMedia({ InputType: "File", ...p } as any)).then((e) => e.code);
      assert.equal(
        (
          await sdkError(() =>
            vod.EditMedia({
              InputType: "Stream",
              StreamInfos: [
                { StreamId: "s", StartTime: "2024-01-01T00:00:00Z", EndTime: "2024-01-01T00:01:00Z" },
              ],
            }),
          )
        ).code,
        "InvalidParameterValue.InputType",
      );
      assert.equal(
        await bad({ FileInfos: [{ FileId: "5285890784246869930" }] }),
        "InvalidParameterValue.FileId",
      );
      assert.equal(
        await bad({ FileInfos: [{ FileId: redId, StartTimeOffset: -1 }] }),
        "InvalidParameterValue.StartTimeOffset",
      );
      assert.equal(
        await bad({ FileInfos: [{ FileId: redId, StartTimeOffset: 2, EndTimeOffset: 1 }] }),
        "InvalidParameterValue.EndTimeOffset",
      );
      assert.equal(
        await bad({ FileInfos: [{ FileId: redId, StartTimeOffset: 10 }] }),
        "InvalidParameterValue.StartTimeOffset",
      );
      assert.equal(
        await bad({ FileInfos: [{ FileId: redId }], Definition: 30 }),
        "InvalidParameterValue.Definition",
      );
      assert.equal(
        await bad({ FileInfos: [{ FileId: redId }], OutputConfig: { Type: "flv" } }),
        "InvalidParameterValue.Type",
      );
      assert.equal(
        await bad({ FileInfos: [{ FileId: redId }], OutputConfig: { VideoStream: { Codec: "H.266" } } }),
        "InvalidParameterValue.Codec",
      );
      assert.equal(
        await bad({ FileInfos: [{ FileId: redId }], ProcedureName: "nope" }),
        "InvalidParameter.ProcedureNameNotExist",
      );
      assert.equal(await bad({ FileInfos: [] }), "MissingParameter");

      // Another application's file is not this application's.
      const { SubAppId } = await vod.CreateSubAppId({ Name: "other" });
      const otherId = await pull("red.mp4", SubAppId);
      assert.equal(await bad({ FileInfos: [{ FileId: otherId }] }), "InvalidParameterValue.FileId");
      const own = await vod.EditMedia({
        InputType: "File",
        FileInfos: [{ FileId: otherId, EndTimeOffset: 1 }],
        SubAppId,
      });
      const { detail } = await waitForTask(vod, own.TaskId!, { subAppId: SubAppId, timeoutMs: 120_000 });
      assert.equal(detail.EditMediaTask.ErrCode, 0, detail.EditMediaTask.Message);
    });
  });

  describe("SplitMedia", () => {
    it("makes one new item per segment, offsets negative from the end", async () => {
      const { TaskId } = await vod.SplitMedia({
        FileId: rgbId,
        Segments: [
          { StartTimeOffset: 0, EndTimeOffset: 1, OutputConfig: { MediaName: "first" } },
          { StartTimeOffset: -1, OutputConfig: { MediaName: "last", Type: "hls" } },
          { StartTimeOffset: 1, EndTimeOffset: -1, ProcedureName: "LongVideoPreset" },
        ],
        SessionContext: "split-1",
      });
      assert.match(TaskId!, /^1250000000-SplitMedia-[0-9a-f]{32}t0$/);
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
      assert.equal(detail.TaskType, "SplitMedia");
      const t = detail.SplitMediaTask;
      assert.equal(t.ErrCode, 0, t.Message);
      assert.equal(t.Status, "FINISH");
      assert.equal(t.FileInfoSet.length, 3);
      const ids = t.FileInfoSet.map((f: any) => f.Output.FileId);
      assert.equal(new Set(ids).size, 3);
      assert.deepEqual(
        t.FileInfoSet.map((f: any) => [f.Input.FileId, f.Input.StartTimeOffset, f.Input.EndTimeOffset]),
        [
          [rgbId, 0, 1],
          [rgbId, -1, 0],
          [rgbId, 1, -1],
        ],
      );
      assert.equal(t.FileInfoSet[0].Output.MediaBasicInfo.Name, "first");
      assert.equal(t.FileInfoSet[1].Output.MediaBasicInfo.Type, "m3u8");
      assert.equal(t.FileInfoSet[0].ProcedureTaskId, "");
      assert.match(t.FileInfoSet[2].ProcedureTaskId, /-procedurev2-/);

      const expect = [isRed, isBlue, isGreen];
      for (const [i, f] of t.FileInfoSet.entries()) {
        const { probed, file } = await probeUrl(f.Output.MediaBasicInfo.MediaUrl, `split-${i}.mp4`);
        const m = probed.metaData;
        assert.ok(Math.abs(m.Duration - 1) <= 2 * FRAME, `segment ${i} lasts ${m.Duration}`);
        assert.equal(m.Width, 320);
        assert.equal(m.AudioStreamSet.length, 1);
        assert.ok(expect[i]!(await colourAt(file, 0.5)), `segment ${i} shows the right second`);
      }
      const info: any = await vod.DescribeMediaInfos({ FileIds: ids });
      assert.equal(info.MediaInfoSet.length, 3);

      const events: any = await vod.PullEvents({});
      const done = events.EventSet.find(
        (e: any) => e.EventType === "SplitMediaComplete" && e.SplitMediaCompleteEvent.TaskId === TaskId,
      );
      assert.ok(done, "SplitMediaComplete was emitted");
      assert.equal(done.SplitMediaCompleteEvent.FileInfoSet.length, 3);
    });

    it("refuses bad segments and files", async () => {
      const code = (p: Record<string, unknown>) =>
        sdkError(() => vod.SplitMedia({ FileId: rgbId, ...p } as any)).then((e) => e.code);
      assert.equal(
        await code({ Segments: [{ StartTimeOffset: 2, EndTimeOffset: 1 }] }),
        "InvalidParameterValue.EndTimeOffset",
      );
      assert.equal(
        await code({ Segments: [{ StartTimeOffset: 5 }] }),
        "InvalidParameterValue.StartTimeOffset",
      );
      assert.equal(await code({ Segments: [] }), "MissingParameter");
      assert.equal(
        await code({ FileId: "5285890784246869930", Segments: [{}] }),
        "InvalidParameterValue.FileId",
      );
      assert.equal(
        await code({ Segments: Array.from({ length: 101 }, () => ({ EndTimeOffset: 1 })) }),
        "InvalidParameterValue.Segments",
      );
    });
  });

  describe("ComposeMedia", () => {
    const video = (SourceMedia: string, more: Record<string, unknown> = {}) => ({
      Type: "Video",
      VideoItem: { SourceMedia, ...more },
    });
    const empty = (Duration: number) => ({ Type: "Empty", EmptyItem: { Duration } });

    it("sequences, leaves gaps, overlays a picture-in-picture and a sticker, mixes audio", async () => {
      const { TaskId } = await vod.ComposeMedia({
        Tracks: [
          {
            Type: "Video",
            TrackItems: [
              video(redId, { Duration: 1 }),
              empty(0.5),
              video(rgbId, { SourceMediaStartTime: 2, Duration: 1 }),
            ],
          },
          {
            Type: "Video",
            TrackItems: [
              empty(1),
              video(rgbId, {
                SourceMediaStartTime: 1,
                Duration: 1,
                CoordinateOrigin: "TopLeft",
                XPos: "0px",
                YPos: "0px",
                Width: "25%",
                AudioOperations: [{ Type: "Volume", VolumeParam: { Mute: 1 } }],
              }),
            ],
          },
          {
            Type: "Sticker",
            TrackItems: [
              {
                Type: "Sticker",
                StickerItem: {
                  SourceMedia: whiteId,
                  StartTime: 0,
                  Duration: 2.5,
                  XPos: "100px",
                  YPos: "40px",
                },
              },
            ],
          },
        ],
        Output: { FileName: "composed", Description: "a test" },
        SessionContext: "compose-1",
      } as any);
      assert.match(TaskId!, /^1250000000-ComposeMedia-[0-9a-f]{32}t0$/);
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
      assert.equal(detail.TaskType, "ComposeMedia");
      const t = detail.ComposeMediaTask;
      assert.equal(t.ErrCode, 0, t.Message);
      assert.equal(t.Output.FileType, "mp4");
      assert.equal(t.Output.MediaName, "composed");
      assert.equal(t.Input.Tracks.length, 3);
      const { probed, file } = await probeUrl(t.Output.FileUrl, "composed.mp4");
      const m = probed.metaData;
      assert.ok(Math.abs(m.Duration - 2.5) <= 2 * FRAME, `duration ${m.Duration}`);
      assert.equal(m.Width, 320, "the canvas takes the first clip's size");
      assert.equal(m.Height, 180);
      assert.equal(m.AudioStreamSet.length, 1);
      const corner: [number, number, number, number] = [10, 10, 40, 20];
      const middle: [number, number, number, number] = [140, 80, 40, 20];
      // Center origin: the sticker's centre 100px right and 40px below the canvas centre.
      const sticker: [number, number, number, number] = [255, 125, 10, 10];
      assert.ok(isRed(await colourAt(file, 0.5, middle)), "red first");
      assert.ok(isRed(await colourAt(file, 0.5, corner)), "no picture-in-picture yet");
      assert.ok(isWhite(await colourAt(file, 0.5, sticker)), "the sticker");
      assert.ok(isBlack(await colourAt(file, 1.2, middle)), "the gap shows the canvas");
      assert.ok(isGreen(await colourAt(file, 1.2, corner)), "the picture-in-picture over the gap");
      assert.ok(isBlue(await colourAt(file, 1.8, middle)), "blue after the gap");
      assert.ok(isGreen(await colourAt(file, 1.8, corner)), "the picture-in-picture over blue");
      assert.ok(isBlue(await colourAt(file, 2.3, corner)), "the picture-in-picture has ended");
      assert.ok(isWhite(await colourAt(file, 2.3, sticker)));

      const info: any = await vod.DescribeMediaInfos({ FileIds: [t.Output.FileId] });
      assert.equal(info.MediaInfoSet[0].BasicInfo.Description, "a test");
      const events: any = await vod.PullEvents({});
      assert.ok(
        events.EventSet.some(
          (e: any) => e.EventType === "ComposeMediaComplete" && e.ComposeMediaCompleteEvent.TaskId === TaskId,
        ),
        "ComposeMediaComplete was emitted",
      );
    });

    it("pulls the next clip earlier by a fade transition, and writes mp3 from audio tracks", async () => {
      const fade = {
        Type: "Transition",
        TransitionItem: { Duration: 0.5, MediaTransitions: [{ Type: "ImageFadeInFadeOut" }] },
      };
      const { TaskId } = await vod.ComposeMedia({
        Tracks: [
          {
            Type: "Video",
            TrackItems: [video(redId, { Duration: 1 }), fade, video(blueId, { Duration: 1 })],
          },
        ],
        Canvas: { Width: 160, Height: 90 },
        Output: { FileName: "faded" },
      } as any);
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
      const t = detail.ComposeMediaTask;
      assert.equal(t.ErrCode, 0, t.Message);
      const { probed, file } = await probeUrl(t.Output.FileUrl, "faded.mp4");
      assert.ok(
        Math.abs(probed.metaData.Duration - 1.5) <= 2 * FRAME,
        `duration ${probed.metaData.Duration}`,
      );
      assert.equal(probed.metaData.Width, 160);
      const whole: [number, number, number, number] = [60, 30, 40, 30];
      assert.ok(isRed(await colourAt(file, 0.2, whole)));
      const [r, , b] = await colourAt(file, 0.75, whole);
      assert.ok(r > 50 && r < 210 && b > 50 && b < 210, `half way through the fade: r ${r} b ${b}`);
      assert.ok(isBlue(await colourAt(file, 1.3, whole)));

      const audio = await vod.ComposeMedia({
        Tracks: [
          {
            Type: "Audio",
            TrackItems: [
              { Type: "Audio", AudioItem: { SourceMedia: redId, Duration: 1 } },
              empty(0.5),
              {
                Type: "Audio",
                AudioItem: { SourceMedia: redId, SourceMediaStartTime: 1, Duration: 1, TargetDuration: 0.5 },
              },
            ],
          },
        ],
        Output: { FileName: "sound", Container: "mp3" },
      } as any);
      const a = (await waitForTask(vod, audio.TaskId!, { timeoutMs: 120_000 })).detail.ComposeMediaTask;
      assert.equal(a.ErrCode, 0, a.Message);
      assert.equal(a.Output.FileType, "mp3");
      const sound = (await probeUrl(a.Output.FileUrl, "sound.mp3")).probed.metaData;
      assert.equal(sound.VideoStreamSet.length, 0);
      assert.equal(sound.AudioStreamSet[0]!.Codec, "mp3");
      assert.ok(Math.abs(sound.Duration - 2) <= 0.1, `duration ${sound.Duration}`);
    });

    it("refuses what it does not render, naming the field", async () => {
      const code = (Tracks: unknown[]) =>
        sdkError(() => vod.ComposeMedia({ Tracks, Output: { FileName: "x" } } as any)).then((e) => e.code);
      assert.equal(
        await code([{ Type: "Video", TrackItems: [video("https://example.com/a.mp4")] }]),
        "InvalidParameterValue.SourceMedia",
      );
      assert.equal(
        await code([{ Type: "Video", TrackItems: [video("5285890784246869930")] }]),
        "InvalidParameterValue.SourceMedia",
      );
      assert.equal(
        await code([
          {
            Type: "Video",
            TrackItems: [
              video(redId),
              { Type: "Transition", TransitionItem: { Duration: 1, MediaTransitions: [{ Type: "Cube" }] } },
              video(blueId),
            ],
          },
        ]),
        "InvalidParameterValue.MediaTransitions",
      );
      assert.equal(
        await code([
          {
            Type: "Video",
            TrackItems: [{ Type: "Sticker", StickerItem: { SourceMedia: whiteId, Duration: 1 } }],
          },
        ]),
        "InvalidParameterValue.Type",
      );
      assert.equal(
        await code([{ Type: "Video", TrackItems: [video(whiteId)] }]),
        "InvalidParameterValue.Duration",
      );
      assert.equal(
        await code([{ Type: "Video", TrackItems: [video(redId, { XPos: "ten" })] }]),
        "InvalidParameterValue.XPos",
      );
    });
  });

  describe("FastEditMedia and SimpleHlsClip", () => {
    let hlsDef: number;
    let hlsUrl: string;

    /** The #EXTINF seconds and the URIs a playlist URL lists. */
    async function listing(url: string): Promise<{ seconds: number; uris: string[] }> {
      const text = await (await fetch(url)).text();
      const seconds = [...text.matchAll(/#EXTINF:([\d.]+)/g)].reduce((a, m) => a + Number(m[1]), 0);
      return { seconds, uris: text.split("\n").filter((l) => l && !l.startsWith("#")) };
    }

    before(async () => {
      // rgb.mp4 as HLS with 1 s segments: one segment per colour.
      ({ Definition: hlsDef } = (await vod.CreateTranscodeTemplate({
        Container: "hls",
        VideoTemplate: { Codec: "libx264", Fps: 25, Bitrate: 0, HlsTime: 1 } as any,
        AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 } as any,
      })) as { Definition: number });
      const { TaskId } = await vod.ProcessMedia({
        FileId: rgbId,
        MediaProcessTask: { TranscodeTaskSet: [{ Definition: hlsDef }] },
      });
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
      const r = detail.ProcedureTask.MediaProcessResultSet[0].TranscodeTask;
      assert.equal(r.Status, "SUCCESS", r.Message);
      hlsUrl = r.Output.Url;
      assert.equal((await listing(hlsUrl)).uris.length, 3);
      await vod.ModifyEventConfig({ PersistenceCompleteEventSwitch: "ON" } as any);
    });

    const persisted = async (fileId: string) => {
      await until(
        `item ${fileId}`,
        async () => ((await vod.DescribeMediaInfos({ FileIds: [fileId] })) as any).MediaInfoSet.length === 1,
        60_000,
      );
      return ((await vod.DescribeMediaInfos({ FileIds: [fileId] })) as any).MediaInfoSet[0];
    };

    it("FastEditMedia joins cuts at segment boundaries without re-encoding, then persists them", async () => {
      const r: any = await vod.FastEditMedia({
        FileInfos: [
          { FileId: rgbId, AudioVideoType: "Transcode", TranscodeDefinition: hlsDef, StartTimeOffset: 2.2 },
          { FileId: rgbId, AudioVideoType: "Transcode", TranscodeDefinition: hlsDef, EndTimeOffset: 0.5 },
        ],
      });
      assert.match(r.FileId, /^\d{19}$/);
      assert.match(r.Url, /\.m3u8$/);
      // Playable at once, whether or not the copy is done: blue (the last second), then red.
      const { probed, file } = await probeUrl(r.Url, "fast.mp4");
      assert.ok(Math.abs(probed.metaData.Duration - 2) <= 0.1, `duration ${probed.metaData.Duration}`);
      assert.ok(isBlue(await colourAt(file, 0.5)));
      assert.ok(isRed(await colourAt(file, 1.5)));

      const item = await persisted(r.FileId);
      assert.equal(item.BasicInfo.Type, "m3u8");
      assert.equal(item.BasicInfo.MediaUrl, r.Url);
      assert.ok(Math.abs(item.MetaData.Duration - 2) <= 0.1, `persisted duration ${item.MetaData.Duration}`);
      const after = await listing(r.Url);
      assert.equal(after.uris.length, 2);
      assert.ok(
        after.uris.every((u) => !u.includes("/")),
        `own segments: ${after.uris}`,
      );
      const events: any = await vod.PullEvents({});
      const done = events.EventSet.find(
        (e: any) => e.EventType === "PersistenceComplete" && e.PersistenceCompleteEvent.FileId === r.FileId,
      );
      assert.ok(done, "PersistenceComplete was emitted");
      assert.equal(done.PersistenceCompleteEvent.PersistenceSource, "FastEditMedia");

      const cut = (ClipMode?: string) =>
        vod.FastEditMedia({
          FileInfos: [
            { FileId: rgbId, AudioVideoType: "Transcode", TranscodeDefinition: hlsDef, EndTimeOffset: 1.5 },
          ],
          ...(ClipMode ? { ClipMode } : {}),
        }) as Promise<any>;
      assert.equal((await listing((await cut()).Url)).uris.length, 2, "the end's segment is kept by default");
      assert.equal((await listing((await cut("StartInclusiveEndExclusive")).Url)).uris.length, 1);

      const code = (p: Record<string, unknown>) =>
        sdkError(() => vod.FastEditMedia(p as any)).then((e) => e.code);
      assert.equal(
        await code({ FileInfos: [{ FileId: redId, AudioVideoType: "Original" }] }),
        "InvalidParameterValue.AudioVideoType",
      );
      assert.equal(
        await code({
          FileInfos: [{ FileId: rgbId, AudioVideoType: "Transcode", TranscodeDefinition: 100210 }],
        }),
        "InvalidParameterValue.TranscodeDefinition",
      );
      assert.equal(
        await code({ FileInfos: [{ FileId: "5285890784246869930", AudioVideoType: "Original" }] }),
        "InvalidParameterValue.FileId",
      );
    });

    it("SimpleHlsClip clips an HLS URL beside its source, or into a new item with a Procedure", async () => {
      const r: any = await vod.SimpleHlsClip({ Url: hlsUrl, StartTimeOffset: 1.2, EndTimeOffset: -0.5 });
      assert.equal(r.FileId, "");
      assert.equal(r.TaskId, "");
      assert.equal(r.MetaData.Container, "hls");
      assert.equal(r.MetaData.Size, 0);
      assert.equal(r.MetaData.Duration, 2);
      assert.equal((await listing(r.Url)).uris.length, 2);
      const { file } = await probeUrl(r.Url, "clip.mp4");
      assert.ok(isGreen(await colourAt(file, 0.5)), "from the second segment");

      const kept: any = await vod.SimpleHlsClip({
        Url: hlsUrl,
        EndTimeOffset: 1,
        IsPersistence: 1,
        Procedure: "LongVideoPreset",
        SourceContext: "clip-src",
      });
      assert.match(kept.FileId, /^\d{19}$/);
      assert.match(kept.TaskId, /-procedurev2-/);
      const item = await persisted(kept.FileId);
      assert.equal(item.BasicInfo.SourceInfo.SourceContext, "clip-src");
      const proc = await waitForTask(vod, kept.TaskId, { timeoutMs: 120_000 });
      assert.equal(proc.detail.ProcedureTask.FileId, kept.FileId);

      const code = (p: Record<string, unknown>) =>
        sdkError(() => vod.SimpleHlsClip(p as any)).then((e) => e.code);
      assert.equal(await code({ Url: "https://example.com/a.m3u8" }), "InvalidParameterValue.Url");
      assert.equal(await code({ Url: hlsUrl, StartTimeOffset: 10 }), "InvalidParameterValue.StartTimeOffset");
      const { SubAppId } = await vod.CreateSubAppId({ Name: "clips" });
      assert.equal(
        await code({ Url: hlsUrl, SubAppId }),
        "InvalidParameterValue.Url",
        "another application's URL",
      );
    });
  });

  it("EditMedia whose source is deleted while it waits ends FINISH with 60000", async () => {
    // One worker, held by a pull that never gets its file: the edit waits behind it.
    const one = await startOpenvod({ env: { OPENVOD_WORKERS: "1" } });
    files.routes.set("/hang.mp4", () => undefined);
    try {
      const v = one.client();
      const { TaskId: pullId } = await v.PullUpload({ MediaUrl: `${files.url}/red.mp4` });
      const sourceId = (await waitForTask(v, pullId!)).detail.PullUploadTask.FileId;
      const { TaskId: blocker } = await v.PullUpload({ MediaUrl: `${files.url}/hang.mp4` });
      await until(
        "the blocking pull runs",
        async () => ((await v.DescribeTaskDetail({ TaskId: blocker! })) as any).Status === "PROCESSING",
      );
      const { TaskId } = await v.EditMedia({ InputType: "File", FileInfos: [{ FileId: sourceId }] });
      assert.equal(((await v.DescribeTaskDetail({ TaskId: TaskId! })) as any).Status, "WAITING");
      await v.DeleteMedia({ FileId: sourceId });
      await v.ManageTask({ TaskId: blocker!, OperationType: "Abort" });
      const { detail } = await waitForTask(v, TaskId!, { timeoutMs: 60_000 });
      assert.equal(detail.Status, "FINISH");
      assert.equal(detail.EditMediaTask.ErrCode, 60000);
      assert.equal(detail.EditMediaTask.ErrCodeExt, "SourceFileError");
      assert.match(detail.EditMediaTask.Message, new RegExp(`${sourceId} no longer exists`));
      assert.equal(detail.EditMediaTask.Output.FileId, "");
    } finally {
      files.routes.delete("/hang.mp4");
      await one.stop();
    }
  });
});
