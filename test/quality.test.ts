// Media quality through the official SDK: InspectMediaQuality finds defects planted in generated
// clips at their times; enhancement, rebuild and watermark removal make new media items whose
// real properties are measured with ffprobe and ffmpeg's own analysers.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { INSPECT_CHECKS, parseMetadataPrint } from "../src/media/jobs/qualityInspect.js";
import { runFfmpeg, runFfprobe, writeAtomically } from "../src/media/run.js";
import { type MediaTools } from "../src/media/tools.js";
import { audio, video, withOpenvod } from "./helpers/openvod.js";
import { FAST_H264 } from "./helpers/media.js";
import { codeOf, waitForTask } from "./helpers/server.js";

/** 6 s of 320x180 testsrc2 + 440 Hz: frozen 1-2 s, black 3-4 s, silent 4.5-5.5 s. */
async function makeDefective(tools: MediaTools, out: string): Promise<void> {
  const graph =
    "[0:v]split[a][b];[a][b]freezeframes=first=25:last=49:replace=25," +
    "drawbox=color=black:t=fill:enable='gte(t,3)*lt(t,4)'[v];" +
    "[1:a]volume=volume=0:enable='gte(t,4.5)*lt(t,5.5)'[au]";
  await writeAtomically(out, (tmp) =>
    runFfmpeg(tools, {
      args: [
        ...["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6"],
        ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6"],
        ...["-filter_complex", graph, "-map", "[v]", "-map", "[au]"],
        ...[...FAST_H264, "-c:a", "aac", "-b:a", "64k", tmp],
      ],
      timeoutMs: 60_000,
    }),
  );
}

/** `what` within two frames (25 fps) of `expected`. */
function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 0.081, `${what}: ${actual}, expected ${expected}`);
}

describe("media quality", () => {
  const { vod, files, tools, dir, pull } = withOpenvod({
    media: {
      "bad.mp4": makeDefective,
      "clean.mp4": video({ width: 320, height: 180, seconds: 4 }),
      "tone.m4a": audio(2),
    },
    env: { OPENVOD_TASK_TIMEOUT_MS: "120000" },
  });
  const ids: Record<string, string> = {};
  let inspectAll: number;

  before(async () => {
    for (const name of ["bad.mp4", "clean.mp4", "tone.m4a"]) ids[name] = await pull(name);
    const created = await vod.CreateQualityInspectTemplate({
      Name: "all",
      Configs: INSPECT_CHECKS.map((Type) => ({ Type, Duration: 500 })),
      ScreenshotInterval: 1,
    });
    inspectAll = created.Definition!;
  });

  async function inspect(fileId: string, definition = inspectAll) {
    const { TaskId } = await vod.InspectMediaQuality({
      FileId: fileId,
      Definition: definition,
      SessionContext: "qi",
    });
    assert.match(TaskId!, /^1250000000-InspectMediaQuality-[0-9a-f]{32}t0$/);
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
    assert.equal(detail.TaskType, "QualityInspect");
    assert.equal(detail.Status, "FINISH");
    const task = detail.QualityInspectTask;
    assert.equal(task.Status, "FINISH");
    assert.equal(task.ErrCodeExt, "", task.Message);
    assert.equal(task.SessionContext, "qi");
    assert.deepEqual(task.Input, { FileId: fileId, Definition: definition });
    for (const other of ["ProcedureTask", "PullUploadTask", "QualityEnhanceTask", "RebuildMediaTask"])
      assert.equal(detail[other], null, other);
    return { TaskId: TaskId!, task };
  }

  const byType = (task: any) =>
    Object.fromEntries(task.Output.QualityInspectResultSet.map((r: any) => [r.Type, r.SegmentSet]));

  it("finds a black, a frozen and a silent second at their times, and nothing else", async () => {
    const { task } = await inspect(ids["bad.mp4"]!);
    assert.equal(task.MetaData.Width, 320);
    assert.equal(task.Output.NoAudio, 0);
    assert.equal(task.Output.NoVideo, 0);
    const found = byType(task);
    assert.deepEqual(Object.keys(found).sort(), ["NoVoice", "SolidColorScreen"], JSON.stringify(found));
    assert.equal(found.SolidColorScreen.length, 1);
    near(found.SolidColorScreen[0].StartTimeOffset, 3, "black start");
    near(found.SolidColorScreen[0].EndTimeOffset, 4, "black end");
    assert.equal(found.NoVoice.length, 1);
    near(found.NoVoice[0].StartTimeOffset, 4.5, "silence start");
    near(found.NoVoice[0].EndTimeOffset, 5.5, "silence end");
    // The frozen second; the black one, frozen too, is reported as a solid screen only.
    const frozen = task.Output.ContainerDiagnoseResultSet.filter(
      (d: any) => d.Type === "VideoDuplicatedFrame",
    );
    assert.equal(frozen.length, 1, JSON.stringify(task.Output.ContainerDiagnoseResultSet));
    near(frozen[0].TimestampSet[0], 1, "freeze start");
    near(frozen[0].TimestampSet[1], 2, "freeze end");
  });

  it("reports no finding on a clean clip, and NoVideo for audio", async () => {
    const clean = (await inspect(ids["clean.mp4"]!)).task;
    assert.deepEqual(clean.Output.QualityInspectResultSet, []);
    assert.deepEqual(clean.Output.ContainerDiagnoseResultSet, []);
    const audio = (await inspect(ids["tone.m4a"]!)).task;
    assert.equal(audio.Output.NoVideo, 1);
    assert.equal(audio.Output.NoAudio, 0);
    assert.deepEqual(audio.Output.QualityInspectResultSet, []);
    assert.deepEqual(
      audio.Output.ContainerDiagnoseResultSet.map((d: any) => d.Type),
      ["VideoStreamLack"],
    );
  });

  it("finds blur, noise, low light and black edges planted in a clip", async () => {
    const graph =
      "[0:v]split=4[a][b][c][d];[a]trim=0:1,gblur=sigma=4,setpts=PTS-STARTPTS[p];" +
      "[b]trim=1:2,noise=alls=60:allf=t,setpts=PTS-STARTPTS[q];" +
      "[c]trim=2:3,eq=brightness=-0.4,setpts=PTS-STARTPTS[r];" +
      "[d]trim=3:4,scale=320:136,pad=320:180:0:22,setsar=1,setpts=PTS-STARTPTS[s];" +
      "[p][q][r][s]concat=n=4[v]";
    await writeAtomically(join(dir(), "defects.mp4"), (tmp) =>
      runFfmpeg(tools, {
        args: [
          ...["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=4", "-filter_complex", graph],
          ...[
            "-map",
            "[v]",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "10",
            "-pix_fmt",
            "yuv420p",
            tmp,
          ],
        ],
        timeoutMs: 60_000,
      }),
    );
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/defects.mp4` });
    const fileId = (await waitForTask(vod, TaskId!)).detail.PullUploadTask.FileId;
    const { Definition } = await vod.CreateQualityInspectTemplate({
      Configs: ["Blur", "Noise", "LowLighting", "BlackWhiteEdge"].map((Type) => ({
        Type,
        IntervalTime: 250,
      })),
    });
    const found = byType((await inspect(fileId, Definition!)).task);
    const covers = (type: string, at: number) =>
      assert.ok(
        (found[type] ?? []).some((s: any) => s.StartTimeOffset <= at && s.EndTimeOffset >= at),
        `${type} at ${at}: ${JSON.stringify(found)}`,
      );
    covers("Blur", 0.5);
    covers("Noise", 1.5);
    covers("LowLighting", 2.5);
    covers("BlackWhiteEdge", 3.5);
    // The letterbox: the top band is the abnormal area. (Darkened testsrc2 has a black left
    // side of its own, which counts as an edge too.)
    const letterbox = found.BlackWhiteEdge.find(
      (s: any) => s.StartTimeOffset <= 3.5 && s.EndTimeOffset >= 3.5,
    );
    assert.deepEqual(letterbox.AreaCoordSet, [0, 0, 319, 21]);
    assert.deepEqual(Object.keys(found).sort(), ["BlackWhiteEdge", "Blur", "LowLighting", "Noise"]);
  });

  it("keeps QualityInspect templates: Describe, Modify, Delete, and refuses what it cannot check", async () => {
    const { Definition } = await vod.CreateQualityInspectTemplate({
      Name: "legacy",
      VoiceConfigure: { Switch: "ON" },
      BlackWhiteEdgeConfigure: { Switch: "ON" },
    });
    const d = await vod.DescribeQualityInspectTemplates({ Definitions: [Definition!] });
    assert.equal(d.TotalCount, 1);
    const t: any = d.QualityInspectTemplateSet![0];
    assert.equal(t.Type, "Custom");
    assert.equal(t.Name, "legacy");
    assert.equal(t.ScreenshotInterval, 1);
    assert.deepEqual(t.VoiceConfigure, { Switch: "ON" });
    assert.equal(t.JitterConfigure, null);
    await vod.ModifyQualityInspectTemplate({
      Definition: Definition!,
      Comment: "c",
      VoiceConfigure: { Switch: "OFF" },
    });
    const m: any = (await vod.DescribeQualityInspectTemplates({ Definitions: [Definition!] }))
      .QualityInspectTemplateSet![0];
    assert.equal(m.Comment, "c");
    assert.deepEqual(m.VoiceConfigure, { Switch: "OFF" });
    assert.deepEqual(m.BlackWhiteEdgeConfigure, { Switch: "ON" });
    assert.equal(
      await codeOf(vod.CreateQualityInspectTemplate({ Configs: [{ Type: "QRCode" }] })),
      "InvalidParameterValue.Type",
    );
    assert.equal(
      await codeOf(vod.CreateQualityInspectTemplate({ JitterConfigure: { Switch: "ON" } })),
      "InvalidParameterValue.Switch",
    );
    assert.equal(
      await codeOf(vod.InspectMediaQuality({ FileId: ids["bad.mp4"]!, Definition: 999999 })),
      "InvalidParameterValue.Definition",
    );
    assert.equal(
      await codeOf(vod.InspectMediaQuality({ FileId: "5285890784246869930", Definition: Definition! })),
      "InvalidParameterValue.FileId",
    );
    await vod.DeleteQualityInspectTemplate({ Definition: Definition! });
    assert.equal((await vod.DescribeQualityInspectTemplates({ Definitions: [Definition!] })).TotalCount, 0);
  });

  it("emits QualityInspectComplete with the task", async () => {
    await vod.ModifyEventConfig({ Mode: "PULL" });
    const { TaskId } = await inspect(ids["clean.mp4"]!);
    let event: any;
    for (let i = 0; i < 5 && !event; i++) {
      const r: any = await vod.PullEvents({});
      event = r.EventSet.find(
        (e: any) =>
          e.EventType === "QualityInspectComplete" && e.QualityInspectCompleteEvent.TaskId === TaskId,
      );
    }
    assert.ok(event, "QualityInspectComplete");
    assert.equal(event.QualityInspectCompleteEvent.Input.FileId, ids["clean.mp4"]);
    assert.deepEqual(event.QualityInspectCompleteEvent.Output.QualityInspectResultSet, []);
  });

  /** Per-frame metadata of `filters` over a URL or file, averaged per key. */
  async function measure(input: string, filters: string): Promise<Record<string, number>> {
    const out = join(dir(), `m-${Math.random().toString(16).slice(2)}.txt`);
    await runFfmpeg(tools, {
      args: ["-i", input, "-vf", `${filters},metadata=mode=print:file=${out}`, "-f", "null", "-"],
      timeoutMs: 60_000,
    });
    const frames = parseMetadataPrint(readFileSync(out, "utf8"));
    const sums: Record<string, number> = {};
    for (const f of frames)
      for (const [k, v] of Object.entries(f.m)) sums[k] = (sums[k] ?? 0) + Number(v) / frames.length;
    return sums;
  }

  async function lavfi(name: string, source: string, vf: string, seconds = 2): Promise<string> {
    await writeAtomically(join(dir(), name), (tmp) =>
      runFfmpeg(tools, {
        args: [
          ...["-f", "lavfi", "-i", `${source}:duration=${seconds}`],
          ...["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`, "-vf", vf],
          ...[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "12",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            tmp,
          ],
        ],
        timeoutMs: 60_000,
      }),
    );
    return pull(name);
  }

  async function finished(TaskId: string, field: string) {
    const { detail } = await waitForTask(vod, TaskId, { timeoutMs: 180_000 });
    const task = detail[field];
    assert.ok(task, `${field} in ${JSON.stringify(detail)}`);
    assert.equal(task.ErrCode, 0, task.Message);
    return { detail, task };
  }

  /** Mean PSNR (dB) of `input` against a local reference file. */
  async function psnr(input: string, reference: string): Promise<number> {
    const out = join(dir(), `p-${Math.random().toString(16).slice(2)}.txt`);
    await runFfmpeg(tools, {
      args: [
        "-i",
        input,
        "-i",
        reference,
        "-lavfi",
        `[0:v][1:v]psnr,metadata=mode=print:file=${out}`,
        "-f",
        "null",
        "-",
      ],
      timeoutMs: 60_000,
    });
    const frames = parseMetadataPrint(readFileSync(out, "utf8"));
    return frames.reduce((a, f) => a + Number(f.m["lavfi.psnr.psnr_avg"]), 0) / frames.length;
  }

  it("RebuildMedia denoises for real: a new item closer to the clean picture", async () => {
    const noisy = await lavfi("noisy.mp4", "testsrc2=size=320x180:rate=25", "noise=alls=20:allf=t");
    // The same testsrc2 frames without the noise: the reference both are measured against.
    const reference = join(dir(), "reference.mp4");
    await writeAtomically(reference, (tmp) =>
      runFfmpeg(tools, {
        args: [
          "-f",
          "lavfi",
          "-i",
          "testsrc2=size=320x180:rate=25:duration=2",
          "-c:v",
          "libx264",
          "-crf",
          "12",
          tmp,
        ],
        timeoutMs: 60_000,
      }),
    );
    const { TaskId } = await vod.RebuildMedia({
      FileId: noisy,
      VideoDenoiseInfo: { Switch: "ON", Type: "strong" },
      AudioDenoiseInfo: { Switch: "ON" },
      TargetInfo: { MediaName: "clean", Container: "mp4" },
    });
    assert.match(TaskId!, /^1250000000-RebuildMedia-[0-9a-f]{32}t0$/);
    const { detail, task } = await finished(TaskId!, "RebuildMediaTask");
    assert.equal(detail.TaskType, "RebuildMedia");
    assert.equal(task.Input.FileId, noisy);
    assert.deepEqual(task.Input.VideoDenoiseInfo, { Switch: "ON", Type: "strong" });
    assert.notEqual(task.Output.FileId, noisy);
    assert.equal(task.Output.MediaName, "clean");
    assert.equal(task.Output.FileType, "mp4");
    assert.equal(task.MetaData.Width, 320);
    const info = await vod.DescribeMediaInfos({ FileIds: [task.Output.FileId] });
    assert.equal(info.MediaInfoSet![0]!.BasicInfo!.Name, "clean");
    const src = (await vod.DescribeMediaInfos({ FileIds: [noisy] })).MediaInfoSet![0]!.BasicInfo!.MediaUrl!;
    const before = await psnr(src, reference);
    const after = await psnr(task.Output.FileUrl, reference);
    assert.ok(after > before + 2, `PSNR against the clean picture ${before} -> ${after} dB`);
  });

  it("RebuildMedia upscales 2x with lanczos and interpolates to the requested frame rate", async () => {
    const small = await lavfi("small.mp4", "testsrc2=size=160x90:rate=25", "null");
    const { TaskId } = await vod.RebuildMedia({
      FileId: small,
      SuperResolutionInfo: { Switch: "ON", Type: "hq", Size: 2 },
      VideoFrameInterpolationInfo: { Switch: "ON", Fps: 50 },
      EndTimeOffset: 1,
    });
    const { task } = await finished(TaskId!, "RebuildMediaTask");
    const probe = JSON.parse(
      await runFfprobe(
        tools,
        ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", task.Output.FileUrl],
        30_000,
      ),
    );
    const v = probe.streams.find((s: any) => s.codec_type === "video");
    assert.equal(v.width, 320);
    assert.equal(v.height, 180);
    assert.equal(v.avg_frame_rate, "50/1");
    assert.ok(Math.abs(Number(probe.format.duration) - 1) < 0.2, `duration ${probe.format.duration}`);
  });

  it("EnhanceMediaQuality and the rebuild templates: preset 100, custom templates, refusals", async () => {
    const { TaskId } = await vod.EnhanceMediaQuality({
      FileId: ids["clean.mp4"]!,
      Definition: 100,
      OutputConfig: { MediaName: "enh" },
    });
    assert.match(TaskId!, /^1250000000-EnhanceMediaQuality-[0-9a-f]{32}t0$/);
    const { detail, task } = await finished(TaskId!, "QualityEnhanceTask");
    assert.equal(detail.TaskType, "QualityEnhance");
    assert.deepEqual(task.Input, { FileId: ids["clean.mp4"], Definition: 100 });
    assert.equal(task.Output.MediaName, "enh");
    assert.equal(task.MetaData.Height, 180);

    const presets = await vod.DescribeEnhanceMediaTemplates({ Type: "Preset" });
    assert.equal(presets.RebuildMediaTemplateSet![0]!.Definition, 100);
    const { Definition } = await vod.CreateRebuildMediaTemplate({
      Container: "mp4",
      Name: "colour",
      RebuildVideoInfo: { ColorInfo: { Switch: "ON", Type: "strong" } },
      TargetVideoInfo: { Codec: "libx264", Width: 160, Height: 0 },
      RemoveAudio: "1",
    });
    const listed: any = (await vod.DescribeRebuildMediaTemplates({ Definitions: [Definition!] }))
      .RebuildMediaTemplateSet![0];
    assert.equal(listed.Type, "Custom");
    assert.equal(listed.RemoveAudio, 1);
    const run = await vod.RebuildMediaByTemplate({ FileId: ids["clean.mp4"]!, Definition: Definition! });
    const rebuilt = (await finished(run.TaskId!, "RebuildMediaTask")).task;
    assert.equal(rebuilt.Input.Definition, Definition);
    assert.equal(rebuilt.MetaData.Width, 160);
    assert.equal(rebuilt.MetaData.AudioStreamSet.length, 0);
    const sat = async (url: string) => (await measure(url, "signalstats"))["lavfi.signalstats.SATAVG"]!;
    const srcUrl = (await vod.DescribeMediaInfos({ FileIds: [ids["clean.mp4"]!] })).MediaInfoSet![0]!
      .BasicInfo!.MediaUrl!;
    assert.ok((await sat(rebuilt.Output.FileUrl)) > (await sat(srcUrl)) * 1.2, "colour enhanced");
    await vod.ModifyRebuildMediaTemplate({ Definition: Definition!, Comment: "c" });
    await vod.DeleteRebuildMediaTemplate({ Definition: Definition! });
    assert.equal((await vod.DescribeRebuildMediaTemplates({ Definitions: [Definition!] })).TotalCount, 0);

    assert.equal(
      await codeOf(
        vod.RebuildMedia({ FileId: ids["clean.mp4"]!, FaceInfo: { Switch: "ON", Intensity: 0.5 } }),
      ),
      "InvalidParameterValue.Switch",
    );
    assert.equal(
      await codeOf(vod.RebuildMedia({ FileId: ids["clean.mp4"]!, TargetInfo: { Container: "hls" } })),
      "InvalidParameterValue.Container",
    );
    assert.equal(
      await codeOf(
        vod.CreateEnhanceMediaTemplate({
          Container: "mp4",
          RebuildVideoInfo: { HDRInfo: { Switch: "ON", Type: "hdr10" } },
        }),
      ),
      "InvalidParameterValue.Switch",
    );
    // Picture filters on audio: the task ends FINISH with 40000 and says why.
    const audioOnly = await vod.RebuildMedia({
      FileId: ids["tone.m4a"]!,
      SuperResolutionInfo: { Switch: "ON", Type: "hq" },
    });
    const failed = (await waitForTask(vod, audioOnly.TaskId!)).detail.RebuildMediaTask;
    assert.equal(failed.ErrCode, 40000, failed.Message);
    assert.match(failed.Message, /no video/);
    assert.deepEqual(failed.Output, {
      FileType: "",
      FileUrl: "",
      FileId: "",
      MediaName: "",
      ClassId: 0,
      ExpireTime: "",
    });
    assert.equal(
      await codeOf(vod.EnhanceMediaQuality({ FileId: ids["clean.mp4"]!, Definition: 4242 })),
      "InvalidParameterValue.Definition",
    );
  });

  it("RemoveWatermark finds a static logo over a moving picture and removes it; no logo, no file", async () => {
    const logo =
      "scroll=h=0.02:v=0.01,drawbox=x=250:y=12:w=52:h=26:color=white:t=fill,drawbox=x=258:y=18:w=36:h=14:color=black:t=fill";
    const marked = await lavfi("marked.mp4", "testsrc2=size=320x180:rate=25", logo, 3);
    const { TaskId } = await vod.RemoveWatermark({ FileId: marked });
    assert.match(TaskId!, /^1250000000-RemoveWatermark-[0-9a-f]{32}t0$/);
    const { detail, task } = await finished(TaskId!, "RemoveWatermarkTask");
    assert.equal(detail.TaskType, "RemoveWatermarkTask");
    assert.ok(task.Output, task.Message);
    const area = /\[(\d+), (\d+), (\d+), (\d+)\]/.exec(task.Message)!.slice(1).map(Number);
    // The box covers the logo (250..301 x 12..37), not much more.
    assert.ok(area[0]! <= 250 && area[1]! <= 12 && area[2]! >= 301 && area[3]! >= 37, task.Message);
    assert.ok((area[2]! - area[0]!) * (area[3]! - area[1]!) < 4 * 52 * 26, task.Message);
    const crop = "crop=36:14:258:18,signalstats";
    const srcUrl = (await vod.DescribeMediaInfos({ FileIds: [marked] })).MediaInfoSet![0]!.BasicInfo!
      .MediaUrl!;
    const before = (await measure(srcUrl, crop))["lavfi.signalstats.YAVG"]!;
    const after = (await measure(task.Output.FileUrl, crop))["lavfi.signalstats.YAVG"]!;
    assert.ok(before < 30 && after > before + 40, `logo centre luma ${before} -> ${after}`);
    assert.equal(task.Output.MetaData.Width, 320);

    const plain = await lavfi("plain.mp4", "testsrc2=size=320x180:rate=25", "scroll=h=0.02:v=0.01", 3);
    const none = (
      await finished((await vod.RemoveWatermark({ FileId: plain })).TaskId!, "RemoveWatermarkTask")
    ).task;
    assert.equal(none.Output, null);
    assert.match(none.Message, /no static overlay/);
    const still = await lavfi("still.mp4", "color=c=gray:size=320x180:rate=25", "null", 2);
    const flat = (
      await finished((await vod.RemoveWatermark({ FileId: still })).TaskId!, "RemoveWatermarkTask")
    ).task;
    assert.equal(flat.Output, null);
    assert.match(flat.Message, /barely changes/);
  });
});
