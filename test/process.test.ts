// Procedure tasks through the official SDK: ProcessMedia, ProcessMediaByProcedure and
// PullUpload's Procedure really run ffmpeg; the tests check real properties of the outputs.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { probeMedia } from "../src/media/probe.js";
import { runFfprobe } from "../src/media/run.js";
import type { MediaTools } from "../src/media/tools.js";
import { audio, video, withOpenvod } from "./helpers/openvod.js";
import { sdkError, waitForTask } from "./helpers/server.js";
import { results } from "./helpers/inspect.js";

/** Downloads a URL into the scratch dir and probes it. */
async function probeUrl(tools: MediaTools, dir: string, url: string, name: string) {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  const file = join(dir, name);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return probeMedia(tools, file);
}

/** Bytes of every segment (and init segment) a media playlist URL lists. */
async function hlsSegmentBytes(playlistUrl: string): Promise<number> {
  const text = await (await fetch(playlistUrl)).text();
  const uris = text
    .split("\n")
    .map((l) => l.trim())
    .flatMap((l) =>
      l.startsWith("#EXT-X-MAP:") ? [/URI="([^"]+)"/.exec(l)![1]!] : l && !l.startsWith("#") ? [l] : [],
    );
  assert.ok(uris.length > 0, text);
  let total = 0;
  for (const uri of uris) {
    const res = await fetch(new URL(uri, playlistUrl));
    assert.equal(res.status, 200, uri);
    total += (await res.arrayBuffer()).byteLength;
  }
  return total;
}

/** |actual − expected| within `fraction` of expected. */
function near(actual: number, expected: number, fraction: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= expected * fraction, `${what}: ${actual}, expected ≈ ${expected}`);
}

describe("media processing", () => {
  const { vod, files, tools, dir, pull } = withOpenvod({
    media: { "clip.mp4": video({ width: 320, height: 240, seconds: 2 }), "tone.m4a": audio(2) },
    env: { OPENVOD_TASK_TIMEOUT_MS: "120000" },
  });
  let videoId: string;
  let audioId: string;

  before(async () => {
    videoId = await pull("clip.mp4");
    audioId = await pull("tone.m4a");
  });

  it("runs every kind of sub-task for real and keeps the outputs with the media", async () => {
    const { TaskId } = await vod.ProcessMedia({
      FileId: videoId,
      MediaProcessTask: {
        TranscodeTaskSet: [{ Definition: 100010 }, { Definition: 100210, EndTimeOffset: 1 }],
        SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ["0.5s", "50%"] }],
        SampleSnapshotTaskSet: [{ Definition: 10 }],
        ImageSpriteTaskSet: [{ Definition: 10 }],
        AnimatedGraphicTaskSet: [{ Definition: 20000, StartTimeOffset: 0, EndTimeOffset: 1 }],
        CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: "Time", PositionValue: 1 }],
      },
      SessionContext: "proc-1",
    });
    assert.match(TaskId!, /^1250000000-procedurev2-[0-9a-f]{32}t0$/);
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
    assert.equal(detail.TaskType, "Procedure");
    assert.equal(detail.ProcedureTask.Status, "FINISH");
    assert.equal(detail.ProcedureTask.FileId, videoId);
    assert.equal(detail.ProcedureTask.SessionContext, "proc-1");
    assert.equal(detail.ProcedureTask.MetaData.Width, 320);
    const r = results(detail);
    for (const [type, list] of Object.entries(r)) {
      for (const x of list) {
        assert.equal(x.Status, "SUCCESS", `${type}: ${x.Message}`);
        assert.equal(x.Progress, 100);
        assert.match(x.FinishTime, /Z$/);
      }
    }

    const [mp4, hls] = r.Transcode!;
    assert.equal(mp4.Input.Definition, 100010);
    assert.equal(mp4.Output.Height, 360);
    assert.equal(mp4.Output.Width, 480);
    assert.ok(Math.abs(mp4.Output.Duration - 2) < 0.3, `duration ${mp4.Output.Duration}`);
    assert.match(mp4.Output.Md5, /^[0-9a-f]{32}$/);
    const got = await probeUrl(tools, dir(), mp4.Output.Url, "out.mp4");
    assert.equal(got.metaData.Height, 360);
    assert.equal(got.metaData.VideoStreamSet[0]!.Codec, "h264");
    assert.equal(got.metaData.AudioStreamSet[0]!.Codec, "aac");
    assert.equal(got.metaData.Size, mp4.Output.Size);

    assert.match(hls.Output.Url, /\.m3u8$/);
    const hlsProbe = JSON.parse(
      await runFfprobe(
        tools,
        ["-v", "error", "-print_format", "json", "-show_format", hls.Output.Url],
        30_000,
      ),
    );
    assert.ok(
      Math.abs(Number(hlsProbe.format.duration) - 1) < 0.5,
      `hls duration ${hlsProbe.format.duration}`,
    );
    // The real bitrate of the segments, not the playlist file's (ffprobe's format.bit_rate).
    const segmentBytes = await hlsSegmentBytes(hls.Output.Url);
    const expected = (segmentBytes * 8) / Number(hlsProbe.format.duration);
    near(hls.Output.Bitrate, expected, 0.1, "HLS Bitrate");
    const [hv] = hls.Output.VideoStreamSet;
    const [ha] = hls.Output.AudioStreamSet;
    assert.ok(hv.Bitrate > 0 && ha.Bitrate > 0, `stream bitrates ${hv.Bitrate} + ${ha.Bitrate}`);
    // Payload only: MPEG-TS packet headers and padding are in the total alone.
    const streams = hv.Bitrate + ha.Bitrate;
    assert.ok(
      streams <= hls.Output.Bitrate && streams > hls.Output.Bitrate * 0.6,
      `${streams} of ${hls.Output.Bitrate}`,
    );

    const shots = r.SnapshotByTimeOffset![0].Output.PicInfoSet;
    assert.deepEqual(
      shots.map((p: any) => p.TimeOffset),
      [500, 1000],
    );
    const shot = await probeUrl(tools, dir(), shots[0].Url, "shot.jpg");
    assert.equal(shot.category, "Image");
    assert.equal(shot.metaData.Width, 320);

    const sample = r.SampleSnapshot![0].Output;
    assert.equal(sample.SampleType, "Percent");
    assert.ok(sample.ImageUrlSet.length >= 9, `${sample.ImageUrlSet.length} samples`);

    const sprite = r.ImageSprites![0].Output;
    assert.equal(sprite.TotalCount, 100, "10 x 10 pictures per sheet");
    assert.equal(sprite.Width, 142);
    assert.equal(sprite.Height, 80);
    const vtt = await (await fetch(sprite.WebVttUrl)).text();
    assert.match(vtt, /^WEBVTT/);
    assert.equal((vtt.match(/#xywh=/g) ?? []).length, 10, "one cue per 10% of the video");
    const sheet = await probeUrl(tools, dir(), sprite.ImageUrlSet[0], "sprite.jpg");
    assert.equal(sheet.metaData.Width, 142 * 10);

    const gif = r.AnimatedGraphics![0].Output;
    assert.equal(gif.Container, "gif");
    assert.equal((await probeUrl(tools, dir(), gif.Url, "anim.gif")).metaData.Container, "gif");

    const cover = r.CoverBySnapshot![0].Output.CoverUrl;
    const info: any = await vod.DescribeMediaInfos({ FileIds: [videoId] });
    const media = info.MediaInfoSet[0];
    assert.equal(media.BasicInfo.CoverUrl, cover);
    assert.deepEqual(
      media.TranscodeInfo.TranscodeSet.map((t: any) => t.Definition),
      [0, 100010, 100210],
    );
    assert.equal(media.SnapshotByTimeOffsetInfo.SnapshotByTimeOffsetSet[0].PicInfoSet.length, 2);
    assert.equal(media.ImageSpriteInfo.ImageSpriteSet[0].WebVttUrl, sprite.WebVttUrl);
    assert.equal(media.AnimatedGraphicsInfo.AnimatedGraphicsSet[0].Url, gif.Url);

    // DeleteParts removes exactly the part named.
    await vod.DeleteMedia({ FileId: videoId, DeleteParts: [{ Type: "TranscodeFiles", Definition: 100010 }] });
    assert.equal((await fetch(mp4.Output.Url)).status, 404);
    assert.equal((await fetch(hls.Output.Url)).status, 200);
    const after: any = await vod.DescribeMediaInfos({ FileIds: [videoId], Filters: ["transcodeInfo"] });
    assert.deepEqual(
      after.MediaInfoSet[0].TranscodeInfo.TranscodeSet.map((t: any) => t.Definition),
      [0, 100210],
    );
    assert.equal(after.MediaInfoSet[0].BasicInfo, null);
  });

  it("streams adaptive HLS with a master playlist (ProcessMediaByProcedure LongVideoPreset)", async () => {
    const { TaskId, ReviewAudioVideoTaskId } = await vod.ProcessMediaByProcedure({
      FileId: videoId,
      ProcedureName: "LongVideoPreset",
    });
    assert.equal(ReviewAudioVideoTaskId, "");
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 180_000 });
    const r = results(detail);
    assert.deepEqual(Object.keys(r).sort(), ["AdaptiveDynamicStreaming", "CoverBySnapshot", "ImageSprites"]);
    const adp = r.AdaptiveDynamicStreaming![0];
    assert.equal(adp.Status, "SUCCESS", adp.Message);
    assert.equal(adp.Output.Package, "HLS");
    const master = await (await fetch(adp.Output.Url)).text();
    const variants = master.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF"));
    assert.equal(variants.length, 3, master);
    for (const v of variants) assert.match(v, /BANDWIDTH=\d+.*RESOLUTION=\d+x\d+/);
    const probe = JSON.parse(
      await runFfprobe(
        tools,
        ["-v", "error", "-print_format", "json", "-show_format", adp.Output.Url],
        30_000,
      ),
    );
    assert.ok(Number(probe.format.duration) > 1.5);
    const info: any = await vod.DescribeMediaInfos({
      FileIds: [videoId],
      Filters: ["adaptiveDynamicStreamingInfo"],
    });
    assert.equal(
      info.MediaInfoSet[0].AdaptiveDynamicStreamingInfo.AdaptiveDynamicStreamingSet[0].Url,
      adp.Output.Url,
    );
  });

  it("fails a sub-task cleanly when it cannot apply, and still ends FINISH", async () => {
    const { TaskId } = await vod.ProcessMedia({
      FileId: audioId,
      MediaProcessTask: {
        SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ["1s"] }],
        TranscodeTaskSet: [{ Definition: 1110 }],
      },
    });
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 60_000 });
    assert.equal(detail.Status, "FINISH");
    const r = results(detail);
    assert.equal(r.SnapshotByTimeOffset![0].Status, "FAIL");
    assert.equal(r.SnapshotByTimeOffset![0].ErrCode, 40000);
    assert.equal(r.SnapshotByTimeOffset![0].Output, null);
    assert.equal(r.Transcode![0].Status, "SUCCESS", r.Transcode![0].Message);
    assert.equal(r.Transcode![0].Output.VideoStreamSet.length, 0);
    assert.equal(r.Transcode![0].Output.AudioStreamSet[0].Codec, "aac");
  });

  it("starts the Procedure PullUpload names, and notifies per TasksNotifyMode", async () => {
    const { TaskId } = await vod.PullUpload({
      MediaUrl: `${files.url}/clip.mp4`,
      Procedure: "LongVideoPreset",
    });
    const { detail } = await waitForTask(vod, TaskId!);
    const procId = detail.PullUploadTask.ProcedureTaskId;
    assert.match(procId, /-procedurev2-/);
    const { detail: proc } = await waitForTask(vod, procId, { timeoutMs: 180_000 });
    assert.equal(proc.ProcedureTask.FileId, detail.PullUploadTask.FileId);
    assert.equal(proc.ProcedureTask.MediaProcessResultSet.length, 3);

    // Drain what is queued so far, then count the events of each mode.
    for (;;) {
      const r: any = await vod.PullEvents({});
      if (!r.EventSet.length) break;
      await vod.ConfirmEvents({ EventHandles: r.EventSet.map((e: any) => e.EventHandle) });
    }
    const counts: Record<string, number> = {};
    for (const mode of ["Finish", "Change", "None"]) {
      const { TaskId: id } = await vod.ProcessMedia({
        FileId: videoId,
        TasksNotifyMode: mode,
        MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [0] }] },
      });
      await waitForTask(vod, id!);
      counts[mode] = 0;
      for (;;) {
        const r: any = await vod.PullEvents({});
        const mine = r.EventSet.filter((e: any) => e.ProcedureStateChangeEvent?.TaskId === id);
        counts[mode] += mine.length;
        if (r.EventSet.length)
          await vod.ConfirmEvents({ EventHandles: r.EventSet.map((e: any) => e.EventHandle) });
        else break;
      }
    }
    assert.equal(counts.Finish, 1);
    assert.ok(counts.Change! >= 3, `Change mode sent ${counts.Change} events`);
    assert.equal(counts.None, 0);
  });

  it("refuses what the cloud would refuse, and what openvod cannot do for real", async () => {
    const code = async (req: any) => (await sdkError(() => vod.ProcessMedia(req))).code;
    assert.equal(
      await code({ FileId: videoId, MediaProcessTask: { TranscodeTaskSet: [{ Definition: 999 }] } }),
      "InvalidParameterValue.Definition",
    );
    assert.equal(
      await code({
        FileId: "1234567890123456789",
        MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }] },
      }),
      "InvalidParameterValue.FileId",
    );
    assert.equal(
      await code({ FileId: videoId, MediaProcessTask: {} }),
      "InvalidParameterValue.MediaProcessTask",
    );
    assert.equal(
      await code({ FileId: videoId, AiAnalysisTask: { Definition: 10 } }),
      "InvalidParameterValue.AiAnalysisTaskDefinition",
    );
    assert.equal(
      await code({
        FileId: videoId,
        MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010, TraceWatermark: { Switch: "ON" } }] },
      }),
      // A trace watermark needs its player id (ExtInfo {"Uv"}).
      "InvalidParameterValue.ExtInfo",
    );
    assert.equal(
      await code({
        FileId: videoId,
        TasksNotifyMode: "Sometimes",
        MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }] },
      }),
      "InvalidParameterValue.TasksNotifyMode",
    );
    assert.equal(
      (
        await sdkError(() =>
          vod.ProcessMediaByProcedure({ FileId: videoId, ProcedureName: "NoSuchProcedure" }),
        )
      ).code,
      "InvalidParameter.ProcedureNameNotExist",
    );
  });
});
