// Digital watermarks through the official SDK: ProcessMedia embeds openvod's invisible trace,
// copyright and blind marks into transcodes; the Extract* tasks recover them from the outputs
// and from copies attacked with ffmpeg here (a quarter of the bitrate, half the size, the first
// seconds cut, another container); unmarked clips of varied content give no detection.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runFfmpeg } from "../src/media/run.js";
import { locateMediaTools, type MediaTools } from "../src/media/tools.js";
import { ffmpegTo, makeVideo } from "./helpers/media.js";
import {
  codeOf,
  FileServer,
  startOpenvod,
  tempDir,
  until,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

const UV = "5E678F";
const COPYRIGHT = "© openvod tests 2026 – all rights reserved";
const BLIND_TEXT = "blind mark №7";

/** Y PSNR of `a` against `b` (ffmpeg's psnr filter). */
async function psnr(tools: MediaTools, a: string, b: string): Promise<number> {
  const stats = join(tempDir(), "psnr.log");
  await runFfmpeg(tools, {
    args: ["-i", a, "-i", b, "-lavfi", `[0:v][1:v]psnr=stats_file=${stats}`, "-f", "null", "-"],
    timeoutMs: 120_000,
  });
  const { readFileSync } = await import("node:fs");
  const lines = readFileSync(stats, "utf8").trim().split("\n");
  const mse =
    lines.map((l) => Number(/mse_y:([\d.]+)/.exec(l)![1])).reduce((x, y) => x + y, 0) / lines.length;
  return 10 * Math.log10((255 * 255) / mse);
}

describe("digital watermarks", () => {
  let server: OpenvodProcess;
  let vod: Vod;
  let files: FileServer;
  let tools: MediaTools;
  let dir: string;
  /** Output URL per kind ("plain" too). */
  const outputs: Record<string, string> = {};
  const results: Record<string, any> = {};

  before(async () => {
    tools = await locateMediaTools();
    dir = tempDir();
    await makeVideo(tools, join(dir, "source.mp4"), { width: 320, height: 180, seconds: 20 });
    files = await new FileServer(dir).start();
    server = await startOpenvod({ env: { OPENVOD_TASK_TIMEOUT_MS: "300000" } });
    vod = server.client();
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/source.mp4` });
    const fileId = (await waitForTask(vod, TaskId!)).detail.PullUploadTask.FileId;
    const defs: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { Definition } = await vod.CreateTranscodeTemplate({
        Container: "mp4",
        Name: `mark-${i}`,
        VideoTemplate: { Codec: "libx264", Fps: 25, Bitrate: 800, Width: 320, Height: 180 },
        AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 },
      });
      defs.push(Definition!);
    }
    const hls = await vod.CreateTranscodeTemplate({
      Container: "hls",
      Name: "mark-hls",
      VideoTemplate: { Codec: "libx264", Fps: 25, Bitrate: 800, Width: 320, Height: 180, HlsTime: 4 } as any,
      AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 },
    });
    defs.push(hls.Definition!);
    const later = await vod.CreateTranscodeTemplate({
      Container: "mp4",
      Name: "mark-later",
      VideoTemplate: { Codec: "libx264", Fps: 25, Bitrate: 800, Width: 320, Height: 180 },
      AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 },
    });
    defs.push(later.Definition!);
    const blind = await vod.CreateBlindWatermarkTemplate({
      Type: "blind-basic",
      TextContent: BLIND_TEXT,
      Name: "b1",
    });
    const processed = await vod.ProcessMedia({
      FileId: fileId,
      ExtInfo: JSON.stringify({ Uv: UV }),
      MediaProcessTask: {
        TranscodeTaskSet: [
          { Definition: defs[0]! },
          { Definition: defs[1]!, TraceWatermark: { Switch: "ON" } },
          { Definition: defs[2]!, CopyRightWatermark: { Text: COPYRIGHT } },
          { Definition: defs[3]!, BlindWatermark: { Definition: blind.Definition! } },
          { Definition: defs[4]!, TraceWatermark: { Switch: "ON" } },
          // From 4.2 s of the source: the pattern follows the source's timestamps.
          { Definition: defs[5]!, CopyRightWatermark: { Text: COPYRIGHT }, StartTimeOffset: 4.2 },
        ],
      } as any,
    });
    const { detail } = await waitForTask(vod, processed.TaskId!, { timeoutMs: 300_000 });
    const set = detail.ProcedureTask.MediaProcessResultSet;
    ["plain", "trace", "copyright", "blind", "traceHls", "copyrightLater"].forEach((k, i) => {
      const t = set[i].TranscodeTask;
      assert.equal(t.Status, "SUCCESS", t.Message);
      outputs[k] = t.Output.Url;
      results[k] = t.Output;
    });
    for (const k of ["plain", "trace", "copyright", "blind"]) {
      const url = outputs[k]!;
      const res = await fetch(url);
      assert.equal(res.status, 200);
      await writeFile(join(dir, `${k}.mp4`), Buffer.from(await res.arrayBuffer()));
    }
  });
  after(async () => {
    await server?.stop();
    await files?.stop();
  });

  it("marks transcodes invisibly: the outputs say which mark, and PSNR against the unmarked one is at least 40 dB", async (t) => {
    assert.equal(results.plain.DigitalWatermarkType, "None");
    assert.equal(results.trace.DigitalWatermarkType, "Trace");
    assert.equal(results.copyright.DigitalWatermarkType, "CopyRight");
    assert.equal(results.copyright.CopyRightWatermarkText, COPYRIGHT);
    assert.equal(results.blind.DigitalWatermarkType, "None");
    assert.ok(results.blind.BlindWatermarkDefinition > 0);
    for (const k of ["trace", "copyright", "blind"]) {
      assert.equal(results[k].Duration, results.plain.Duration, `${k} lasts as long as the unmarked output`);
      const db = await psnr(tools, join(dir, `${k}.mp4`), join(dir, "plain.mp4"));
      t.diagnostic(`PSNR ${k} vs unmarked: ${db.toFixed(2)} dB`);
      assert.ok(db >= 40, `${k}: PSNR ${db.toFixed(2)} dB`);
    }
  });

  /** Runs the extraction of `kind` on `url`; returns the task payload. */
  async function extract(kind: "trace" | "copyright" | "blind" | "blind-trace", url: string): Promise<any> {
    let taskId: string;
    if (kind === "trace")
      taskId = (await vod.ExtractTraceWatermark({ Url: url, SessionContext: "x" })).TaskId!;
    else if (kind === "copyright") taskId = (await vod.ExtractCopyRightWatermark({ Url: url })).TaskId!;
    else
      taskId = (
        await vod.ExtractBlindWatermark({
          Type: kind === "blind" ? "blind-basic" : "blind-trace",
          InputInfo: { Type: "URL", Url: url },
          SubAppId: 1250000000,
        } as any)
      ).TaskId!;
    const { detail } = await waitForTask(vod, taskId, { timeoutMs: 120_000 });
    assert.equal(detail.Status, "FINISH");
    const field =
      kind === "trace"
        ? "ExtractTraceWatermarkTask"
        : kind === "copyright"
          ? "ExtractCopyRightWatermarkTask"
          : "ExtractBlindWatermarkTask";
    assert.equal(detail.TaskType, field.replace(/Task$/, ""));
    const task = detail[field];
    assert.equal(task.ErrCode, 0, task.Message);
    return task;
  }

  async function found(kind: "trace" | "copyright" | "blind", url: string, what: string) {
    const task = await extract(kind, url);
    if (kind === "trace") assert.equal(task.Output.Uv, UV, `${what}: ${task.Message}`);
    if (kind === "copyright") assert.equal(task.Output.Text, COPYRIGHT, `${what}: ${task.Message}`);
    if (kind === "blind") {
      assert.equal(task.IsDetected, true, `${what}: ${task.Message}`);
      assert.equal(task.Result, BLIND_TEXT);
      assert.equal(task.Type, "blind-basic");
    }
    assert.match(task.Message, /confidence 0\.\d\d/);
    return task;
  }

  it("extracts each mark from its transcode (openvod's own file URL)", async () => {
    const trace = await found("trace", outputs.trace!, "trace");
    assert.deepEqual(trace.Input, { Url: outputs.trace, FileId: "" });
    assert.equal(trace.SessionContext, "x");
    await found("copyright", outputs.copyright!, "copyright");
    await found("blind", outputs.blind!, "blind");
    // ExtractBlindWatermark reads trace marks too (blind-trace): the Uv comes back as ResultUV.
    const bt = await extract("blind-trace", outputs.trace!);
    assert.equal(bt.IsDetected, true, bt.Message);
    assert.equal(bt.ResultUV, UV);
  });

  it("extracts a mark from an HLS output and from a transcode that starts later in the source", async () => {
    assert.match(outputs.traceHls!, /\.m3u8$/);
    assert.equal(results.traceHls.DigitalWatermarkType, "Trace");
    await found("trace", outputs.traceHls!, "trace in HLS");
    await found("copyright", outputs.copyrightLater!, "copyright from 4.2 s");
  });

  it("refuses a playlist from outside openvod (ffmpeg would fetch what it lists)", async () => {
    await writeFile(
      join(dir, "list.m3u8"),
      "#EXTM3U\n#EXTINF:1,\nhttp://169.254.169.254/x.ts\n#EXT-X-ENDLIST\n",
    );
    const { TaskId } = await vod.ExtractCopyRightWatermark({ Url: `${files.url}/list.m3u8` });
    const { detail } = await waitForTask(vod, TaskId!);
    const task = detail.ExtractCopyRightWatermarkTask;
    assert.equal(task.ErrCode, 40000);
    assert.equal(task.ErrCodeExt, "InvalidParameterValue.Url");
    assert.equal(task.Output.Text, "");
  });

  it("keeps each kind to its own key: a mark of one kind is not read as another", async () => {
    const asTrace = await extract("trace", outputs.copyright!);
    assert.equal(asTrace.Output.Uv, "", asTrace.Message);
    assert.match(asTrace.Message, /^No watermark was found/);
    const asBlind = await extract("blind", outputs.trace!);
    assert.equal(asBlind.IsDetected, false);
    assert.equal("Result" in asBlind, false);
  });

  /** Re-encodes `src` as H.264 in mp4 (CRF 23 unless told), audio copied. */
  const reencode = (src: string, o: { before?: string[]; video?: string[] } = {}) => [
    ...(o.before ?? []),
    ...["-i", src, ...(o.video ?? ["-crf", "23"]), "-c:v", "libx264", "-c:a", "copy", "-f", "mp4"],
  ];
  const ATTACKS: Record<string, (src: string) => string[]> = {
    // 800 kbps -> 200 kbps.
    quarterBitrate: (src) => reencode(src, { video: ["-b:v", "200k"] }),
    halfSize: (src) => reencode(src, { video: ["-vf", "scale=160:90", "-crf", "23"] }),
    cutFirstSeconds: (src) => reencode(src, { before: ["-ss", "3.3"] }),
    otherContainer: (src) => ["-i", src, "-c", "copy", "-f", "matroska"],
  };

  for (const [attack, args] of Object.entries(ATTACKS)) {
    it(`survives ${attack} (all three kinds)`, async () => {
      for (const kind of ["trace", "copyright", "blind"] as const) {
        const name = `${kind}-${attack}.${attack === "otherContainer" ? "mkv" : "mp4"}`;
        await ffmpegTo(tools, join(dir, name), args(join(dir, `${kind}.mp4`)), 120_000);
        // An URL outside openvod: downloaded by the task.
        await found(kind, `${files.url}/${name}`, `${kind} after ${attack}`);
      }
    });
  }

  it("finds nothing in 10 unmarked clips of varied content", async (t) => {
    const sources = [
      "testsrc2=size=320x180:rate=25",
      "testsrc=size=320x180:rate=25",
      "smptebars=size=320x180:rate=25",
      "mandelbrot=size=320x180:rate=25",
      "life=size=320x180:rate=25:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00",
      "cellauto=size=320x180:rate=25:rule=110",
      "rgbtestsrc=size=320x180:rate=25",
      "color=c=gray:size=320x180:rate=25,noise=alls=20:allf=t",
      "testsrc2=size=320x180:rate=25,hue=H=2*PI*t/5,zoompan=z='1+0.02*in':d=1:s=320x180:fps=25",
      "yuvtestsrc=size=320x180:rate=25",
    ];
    let detections = 0;
    for (const [i, src] of sources.entries()) {
      const name = `unmarked-${i}.mp4`;
      await ffmpegTo(
        tools,
        join(dir, name),
        [
          ...[
            "-f",
            "lavfi",
            "-i",
            `${src}`,
            "-t",
            "12",
            "-c:v",
            "libx264",
            "-b:v",
            "800k",
            "-pix_fmt",
            "yuv420p",
          ],
        ],
        120_000,
      );
      const url = `${files.url}/${name}`;
      const trace = await extract("trace", url);
      const blind = await extract("blind", url);
      const copyright = await extract("copyright", url);
      t.diagnostic(`${src.split("=")[0]}: ${trace.Message}`);
      for (const [k, hit] of [
        ["trace", trace.Output.Uv !== ""],
        ["blind", blind.IsDetected],
        ["copyright", copyright.Output.Text !== ""],
      ] as const) {
        if (hit) {
          detections++;
          t.diagnostic(`false detection (${k}) in ${src}`);
        }
      }
      assert.match(trace.Message, /^No watermark was found/);
    }
    // The unmarked transcode too.
    const plain = await extract("trace", outputs.plain!);
    assert.equal(plain.Output.Uv, "");
    assert.equal(detections, 0);
  });

  it("emits the completion events the spec names", async () => {
    const seen = new Set<string>();
    await until(
      "the three extraction events",
      async () => {
        const r: any = await vod.PullEvents({});
        for (const e of r.EventSet ?? []) {
          seen.add(e.EventType);
          if (e.EventType === "ExtractTraceWatermarkComplete")
            assert.ok(e.ExtractTraceWatermarkCompleteEvent.TaskId);
          if (e.EventType === "ExtractCopyRightWatermarkComplete")
            assert.ok(e.ExtractCopyRightWatermarkCompleteEvent.TaskId);
          if (e.EventType === "ExtractBlindWatermarkComplete")
            assert.ok(e.ExtractBlindWatermarkComplete.TaskId);
        }
        if (r.EventSet?.length)
          await vod.ConfirmEvents({ EventHandles: r.EventSet.map((e: any) => e.EventHandle) });
        return [
          "ExtractTraceWatermarkComplete",
          "ExtractCopyRightWatermarkComplete",
          "ExtractBlindWatermarkComplete",
        ].every((t) => seen.has(t));
      },
      60_000,
    );
  });

  it("manages BlindWatermark templates and refuses what it cannot do", async () => {
    const { Definition } = await vod.CreateBlindWatermarkTemplate({
      Type: "blind-basic",
      TextContent: "abc",
      Comment: "c",
    });
    // The registered mark texts do not push template Definitions up.
    assert.ok(Definition! < 1_000_000, `Definition ${Definition}`);
    const listed: any = await vod.DescribeBlindWatermarkTemplates({ Definitions: [Definition!] });
    assert.equal(listed.TotalCount, 1);
    assert.equal(listed.BlindWatermarkTemplateSet[0].Type, "blind-basic");
    assert.equal(listed.BlindWatermarkTemplateSet[0].TextContent, "abc");
    await vod.ModifyBlindWatermarkTemplate({ Definition: Definition!, TextContent: "def" });
    const again: any = await vod.DescribeBlindWatermarkTemplates({ Definitions: [Definition!] });
    assert.equal(again.BlindWatermarkTemplateSet[0].TextContent, "def");
    await vod.DeleteBlindWatermarkTemplate({ Definition: Definition! });
    assert.equal(
      await codeOf(vod.CreateBlindWatermarkTemplate({ Type: "blind-nagra", TextContent: "x" })),
      "InvalidParameterValue.Type",
    );
    assert.equal(
      await codeOf(vod.CreateBlindWatermarkTemplate({ Type: "blind-basic", TextContent: "x".repeat(65) })),
      "InvalidParameterValue",
    );
    assert.equal(
      await codeOf(
        vod.ExtractBlindWatermark({
          Type: "blind-x",
          InputInfo: { Type: "URL", Url: outputs.blind },
          SubAppId: 1250000000,
        } as any),
      ),
      "InvalidParameterValue.Type",
    );
    assert.equal(
      await codeOf(vod.ExtractCopyRightWatermark({ Url: "ftp://example.com/a.mp4" })),
      "InvalidParameterValue.Url",
    );
    assert.equal(
      await codeOf(vod.ExtractTraceWatermark({ Url: outputs.trace!, FileId: "1234567890123456789" })),
      "InvalidParameterValue.FileId",
    );
    assert.equal(
      await codeOf(
        vod.ProcessMedia({
          FileId: "x",
          MediaProcessTask: {
            TranscodeTaskSet: [
              { Definition: 100010, CopyRightWatermark: { Text: "a" }, TraceWatermark: { Switch: "ON" } },
            ],
          } as any,
        }),
      ),
      "InvalidParameterValue.FileId",
    );
  });
});
