// AI recognition and content review through the official SDK, on clips with text drawn by
// ffmpeg at known times: PaddleOCR reads it back (Procedure AiRecognitionTask), keyword review
// blocks a clip showing a listed word and passes one that does not (ReviewAudioVideo). The models
// are optional packages (npm run install:ai, which .ci/run does); without them every AI item
// answers an error naming it, which is what is tested then.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { aiMissing } from "../src/media/ai/engine.js";
import { parseMetadataPrint } from "../src/media/jobs/qualityInspect.js";
import { probeMedia } from "../src/media/probe.js";
import { assertShape, responseType } from "./helpers/shape.js";
import { runFfmpeg, writeAtomically } from "../src/media/run.js";
import { locateMediaTools, type MediaTools } from "../src/media/tools.js";
import {
  codeOf,
  FileServer,
  pullItem,
  startOpenvod,
  tempDir,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

const ZH_FONT = "WenQuanYi Zen Hei";
const installed = aiMissing("ocr").length === 0 && aiMissing("porn").length === 0;

/**
 * `seconds` of a flat blue 480x270 picture showing each text between its times, white on black
 * (DejaVu Sans, or WenQuanYi Zen Hei for Chinese: Debian's fonts-wqy-zenhei, which .ci/run installs).
 */
async function makeTextClip(
  tools: MediaTools,
  out: string,
  seconds: number,
  texts: Array<{ text: string; from: number; to: number; y: number; font?: string }>,
): Promise<void> {
  const draw = texts
    .map(
      (t) =>
        `drawtext=text='${t.text}':font=${t.font ?? "DejaVu Sans"}:fontsize=30:fontcolor=white:box=1:boxcolor=black:boxborderw=8` +
        `:x=40:y=${t.y}:enable='between(t,${t.from},${t.to})'`,
    )
    .join(",");
  await writeAtomically(out, (tmp) =>
    runFfmpeg(tools, {
      args: [
        ...["-f", "lavfi", "-i", `color=c=0x2050a0:size=480x270:rate=25:duration=${seconds}`],
        ...["-vf", draw, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", tmp],
      ],
      timeoutMs: 60_000,
    }),
  );
}

/** Each item switched ON alone is refused at template creation, by an error naming it. */
async function refusesEach(create: (body: any) => Promise<unknown>, items: string[]): Promise<void> {
  for (const item of items) {
    const err: any = await create({ [item]: { Switch: "ON" } }).catch((e) => e);
    assert.equal(err.code, "InvalidParameterValue.Switch", item);
    assert.match(err.message, new RegExp(item), item);
  }
}

/** Within one sampling interval (the frames are `interval` apart). */
function near(actual: number, expected: number, interval: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= interval + 0.05, `${what}: ${actual}, expected ${expected}`);
}

describe("AI recognition and review", { skip: !installed && "the AI packages are not installed" }, () => {
  let server: OpenvodProcess;
  let vod: Vod;
  let files: FileServer;
  const ids: Record<string, string> = {};

  before(async () => {
    const tools = await locateMediaTools();
    const dir = tempDir();
    await makeTextClip(tools, join(dir, "texts.mp4"), 6, [
      { text: "HELLO OPENVOD", from: 1, to: 3, y: 60 },
      { text: "FREE GAMBLING NOW", from: 3.5, to: 5.5, y: 170 },
    ]);
    await makeTextClip(tools, join(dir, "clean.mp4"), 3, [{ text: "GOOD MORNING", from: 0, to: 3, y: 100 }]);
    await makeTextClip(tools, join(dir, "long.mp4"), 60, [
      { text: "STILL READING", from: 0, to: 60, y: 100 },
    ]);
    await makeTextClip(tools, join(dir, "zh.mp4"), 5, [
      { text: "欢迎使用点播", from: 0.5, to: 2.5, y: 60, font: ZH_FONT },
      { text: "网上赌博广告", from: 3, to: 4.5, y: 170, font: ZH_FONT },
    ]);
    await writeAtomically(join(dir, "poster.png"), (tmp) =>
      runFfmpeg(tools, {
        args: [
          ...["-f", "lavfi", "-i", "color=c=0x804020:size=400x200", "-frames:v", "1"],
          ...[
            "-vf",
            "drawtext=text='CASINO GAMBLING':font=DejaVu Sans:fontsize=32:fontcolor=white:x=30:y=80",
            tmp,
          ],
        ],
        timeoutMs: 60_000,
      }),
    );
    files = await new FileServer(dir).start();
    server = await startOpenvod({ env: { OPENVOD_TASK_TIMEOUT_MS: "300000" } });
    vod = server.client();
    for (const name of ["texts.mp4", "clean.mp4", "poster.png", "zh.mp4"])
      ids[name] = await pullItem(vod, `${files.url}/${name}`);
    await vod.CreateWordSamples({
      Usages: ["Review.Ocr"],
      Words: [
        { Keyword: "gambling", Tags: ["Illegal"] },
        { Keyword: "赌博", Tags: ["Illegal"] },
      ],
    });
    await vod.CreateWordSamples({ Usages: ["Recognition.Ocr"], Words: [{ Keyword: "openvod" }] });
  });
  after(async () => {
    await server?.stop();
    await files?.stop();
  });

  it("reads drawn text back with its times (AiRecognitionTask: OCR full text and words)", async () => {
    const interval = 0.5;
    const { Definition } = await vod.CreateAIRecognitionTemplate({
      Name: "ocr",
      OcrFullTextConfigure: { Switch: "ON" },
      OcrWordsConfigure: { Switch: "ON" },
      ScreenshotInterval: interval,
    });
    const listed = await vod.DescribeAIRecognitionTemplates({ Definitions: [Definition!] });
    assert.equal(listed.AIRecognitionTemplateSet![0]!.OcrFullTextConfigure!.Switch, "ON");
    assert.equal(listed.AIRecognitionTemplateSet![0]!.FaceConfigure!.Switch, "OFF");

    const { TaskId } = await vod.ProcessMedia({
      FileId: ids["texts.mp4"]!,
      AiRecognitionTask: { Definition: Definition! },
    });
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 240_000 });
    const p = detail.ProcedureTask;
    assert.equal(p.Status, "FINISH");
    assert.deepEqual(p.MediaProcessResultSet, []);
    const byType = Object.fromEntries(p.AiRecognitionResultSet.map((r: any) => [r.Type, r]));
    const full = byType.OcrFullTextRecognition.OcrFullTextTask;
    assert.equal(full.Status, "SUCCESS", full.Message);
    assert.equal(full.Progress, 100);
    assert.deepEqual(full.Input, { Definition });
    const segs = full.Output.SegmentSet;
    const find = (re: RegExp) => segs.find((s: any) => re.test(s.TextSet[0].Text));
    const hello = find(/HELLO OPENVOD/);
    const gambling = find(/FREE GAMBLING NOW/);
    assert.ok(hello && gambling, JSON.stringify(segs));
    near(hello.StartTimeOffset, 1, interval, "hello start");
    near(hello.EndTimeOffset, 3, interval, "hello end");
    near(gambling.StartTimeOffset, 3.5, interval, "gambling start");
    near(gambling.EndTimeOffset, 5.5, interval, "gambling end");
    assert.ok(hello.TextSet[0].Confidence > 80, String(hello.TextSet[0].Confidence));
    // The box is where the text was drawn (x=40, y=60 on 480x270), in source pixels.
    const [x1, y1, x2, y2] = hello.TextSet[0].AreaCoordSet;
    assert.ok(
      x1 >= 20 && x1 <= 60 && y1 >= 45 && y1 <= 80 && x2 > x1 + 100 && y2 > y1,
      String([x1, y1, x2, y2]),
    );

    const words = byType.OcrWordsRecognition.OcrWordsTask;
    assert.equal(words.Status, "SUCCESS", words.Message);
    assert.deepEqual(
      words.Output.ResultSet.map((r: any) => r.Word),
      ["openvod"],
    );
    near(words.Output.ResultSet[0].SegmentSet[0].StartTimeOffset, 1, interval, "word start");
  });

  it("blocks a clip whose text shows a listed word, with the segment's time and keyword (ReviewAudioVideo)", async () => {
    const { TaskId } = await vod.ReviewAudioVideo({ FileId: ids["texts.mp4"]!, SessionContext: "rv" });
    assert.match(TaskId!, /^1250000000-ReviewAudioVideo-[0-9a-f]{32}t0$/);
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 240_000 });
    assert.equal(detail.TaskType, "ReviewAudioVideo");
    const t = detail.ReviewAudioVideoTask;
    assert.equal(t.Status, "FINISH");
    assert.equal(t.ErrCodeExt, "", t.Message);
    assert.equal(t.SessionContext, "rv");
    assert.deepEqual(t.Input, { FileId: ids["texts.mp4"], Definition: 10, ReviewContents: ["Media"] });
    assert.equal(t.Output.Suggestion, "block");
    assert.equal(t.Output.Label, "Illegal");
    assert.equal(t.Output.Form, "OCR");
    assert.equal(t.Output.SegmentSet.length, 1, JSON.stringify(t.Output.SegmentSet));
    const seg = t.Output.SegmentSet[0];
    assert.deepEqual(seg.KeywordSet, ["gambling"]);
    assert.match(seg.Text, /FREE GAMBLING NOW/);
    assert.equal(seg.Suggestion, "block");
    near(seg.StartTimeOffset, 3.5, 1, "block start");
    near(seg.EndTimeOffset, 5.5, 1, "block end");
    assert.ok(seg.Confidence > 80);

    // The verdict is kept with the item.
    const infos: any = await vod.DescribeMediaInfos({
      FileIds: [ids["texts.mp4"]!],
      Filters: ["reviewInfo"],
    });
    assertShape(responseType("DescribeMediaInfos"), infos);
    const { MediaReviewInfo, CoverReviewInfo } = infos.MediaInfoSet[0].ReviewInfo;
    assert.deepEqual(
      { ...MediaReviewInfo, ReviewTime: "" },
      {
        Definition: 10,
        Suggestion: "block",
        TypeSet: ["OCR.Illegal"],
        ReviewTime: "",
      },
    );
    assert.match(MediaReviewInfo.ReviewTime, /^\d{4}-\d\d-\d\dT.*Z$/);
    assert.equal(CoverReviewInfo, null);
  });

  it("reads Chinese text back, and blocks a clip showing a Chinese listed word", async () => {
    const interval = 0.5;
    const { Definition } = await vod.CreateAIRecognitionTemplate({
      OcrFullTextConfigure: { Switch: "ON" },
      ScreenshotInterval: interval,
    });
    const { TaskId } = await vod.ProcessMedia({
      FileId: ids["zh.mp4"]!,
      AiRecognitionTask: { Definition: Definition! },
    });
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 240_000 });
    const full = detail.ProcedureTask.AiRecognitionResultSet[0].OcrFullTextTask;
    assert.equal(full.Status, "SUCCESS", full.Message);
    const segs = full.Output.SegmentSet;
    const welcome = segs.find((s: any) => s.TextSet[0].Text.includes("欢迎使用点播"));
    assert.ok(welcome, JSON.stringify(segs));
    near(welcome.StartTimeOffset, 0.5, interval, "welcome start");
    near(welcome.EndTimeOffset, 2.5, interval, "welcome end");

    const review = await vod.ReviewAudioVideo({ FileId: ids["zh.mp4"]! });
    const t = (await waitForTask(vod, review.TaskId!, { timeoutMs: 240_000 })).detail.ReviewAudioVideoTask;
    assert.equal(t.ErrCodeExt, "", t.Message);
    assert.equal(t.Output.Suggestion, "block");
    assert.equal(t.Output.SegmentSet.length, 1, JSON.stringify(t.Output.SegmentSet));
    assert.deepEqual(t.Output.SegmentSet[0].KeywordSet, ["赌博"]);
    assert.match(t.Output.SegmentSet[0].Text, /赌博/);
    near(t.Output.SegmentSet[0].StartTimeOffset, 3, 1, "block start");
  });

  it("passes a clip without a listed word", async () => {
    const { TaskId } = await vod.ReviewAudioVideo({ FileId: ids["clean.mp4"]!, Definition: 10 });
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 240_000 });
    const t = detail.ReviewAudioVideoTask;
    assert.equal(t.ErrCodeExt, "", t.Message);
    assert.equal(t.Output.Suggestion, "pass");
    assert.deepEqual(t.Output.SegmentSet, []);
    const infos: any = await vod.DescribeMediaInfos({
      FileIds: [ids["clean.mp4"]!],
      Filters: ["reviewInfo"],
    });
    assert.equal(infos.MediaInfoSet[0].ReviewInfo.MediaReviewInfo.Suggestion, "pass");
    assert.deepEqual(infos.MediaInfoSet[0].ReviewInfo.MediaReviewInfo.TypeSet, []);
  });

  it("reviews an image at once (ReviewImage) and a Procedure's AiContentReviewTask", async () => {
    const r = await vod.ReviewImage({ FileId: ids["poster.png"]!, Definition: 10 });
    assert.equal(r.MediaReviewResult!.Suggestion, "block");
    assert.equal(r.MediaReviewResult!.Form, "OCR");
    assert.deepEqual(r.MediaReviewResult!.SegmentSet![0]!.KeywordSet, ["gambling"]);
    assert.equal(
      await codeOf(vod.ReviewImage({ FileId: ids["clean.mp4"]!, Definition: 10 })),
      "InvalidParameterValue.FileId",
    );

    const { Definition } = await vod.CreateReviewTemplate({ Labels: ["Porn", "Illegal"], Name: "mine" });
    const { TaskId } = await vod.ProcessMedia({
      FileId: ids["clean.mp4"]!,
      AiContentReviewTask: { Definition: Definition! },
    });
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 240_000 }).catch((e) => {
      throw new Error(`${e.message}\n${server.stderr}`);
    });
    const byType = Object.fromEntries(
      detail.ProcedureTask.AiContentReviewResultSet.map((x: any) => [x.Type, x]),
    );
    assert.equal(byType.Porn.PornTask.Status, "SUCCESS", byType.Porn.PornTask.Message);
    assert.equal(byType.Porn.PornTask.Output.Suggestion, "pass");
    assert.equal(byType["Prohibited.Ocr"].ProhibitedOcrTask.Output.Suggestion, "pass");
    assert.deepEqual(byType["Prohibited.Ocr"].ProhibitedOcrTask.Input, { Definition });
  });

  it("stops OCR at the sub-task timeout, failing that sub-task alone with 70000", async () => {
    const short = await startOpenvod({ env: { OPENVOD_SUBTASK_TIMEOUT_MS: "3000" } });
    try {
      const v = short.client();
      // 120 frames to read: more than 3 s of OCR on any machine (a quiet one reads ~4 frames/s).
      const fileId = await pullItem(v, `${files.url}/long.mp4`);
      const { Definition } = await v.CreateAIRecognitionTemplate({
        OcrFullTextConfigure: { Switch: "ON" },
        ScreenshotInterval: 0.5,
      });
      const { TaskId } = await v.ProcessMedia({
        FileId: fileId,
        AiRecognitionTask: { Definition: Definition! },
        MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ["1s"] }] },
      });
      const { detail } = await waitForTask(v, TaskId!, { timeoutMs: 120_000 });
      const ocr = detail.ProcedureTask.AiRecognitionResultSet[0].OcrFullTextTask;
      assert.equal(ocr.Status, "FAIL");
      assert.equal(ocr.ErrCode, 70000);
      assert.match(ocr.Message, /timed out/);
      // The other sub-task still ran.
      assert.equal(detail.ProcedureTask.MediaProcessResultSet[0].SnapshotByTimeOffsetTask.Status, "SUCCESS");
    } finally {
      await short.stop();
    }
  });

  it("refuses recognition items no shipped model does, naming them", async () => {
    await refusesEach(
      (b) => vod.CreateAIRecognitionTemplate(b),
      [
        "AsrFullTextConfigure",
        "AsrWordsConfigure",
        "AsrTranslateConfigure",
        "ObjectConfigure",
        "HeadTailConfigure",
      ],
    );
    assert.equal(
      await codeOf(vod.ProcessMedia({ FileId: ids["clean.mp4"]!, AiAnalysisTask: { Definition: 10 } })),
      "InvalidParameterValue.AiAnalysisTaskDefinition",
    );
  });
});

describe("AI items without the AI packages", { skip: installed && "the AI packages are installed" }, () => {
  let server: OpenvodProcess;
  before(async () => {
    server = await startOpenvod();
  });
  after(async () => server?.stop());

  it("answers an error naming the item", async () => {
    const vod = server.client();
    const err = await vod
      .CreateAIRecognitionTemplate({ OcrFullTextConfigure: { Switch: "ON" } })
      .catch((e) => e);
    assert.equal(err.code, "UnsupportedOperation");
    assert.match(err.message, /OcrFullTextConfigure.*npm run install:ai/);
    // Face recognition: its template item, and person sample pictures (which are described at once).
    const face = await vod.CreateAIRecognitionTemplate({ FaceConfigure: { Switch: "ON" } }).catch((e) => e);
    assert.equal(face.code, "UnsupportedOperation");
    assert.match(face.message, /FaceConfigure.*npm run install:ai/);
    const person = await vod
      .CreatePersonSample({ Name: "x", Usages: ["All"], FaceContents: ["/9j/4AAQ"] })
      .catch((e) => e);
    assert.equal(person.code, "UnsupportedOperation");
    assert.match(person.message, /FaceContents.*npm run install:ai/);
  });
});

/** blurdetect (lower is sharper) and mean luma of `file`'s frame at `at` seconds (a picture: 0). */
async function frameStats(tools: MediaTools, dir: string, file: string, at = 0) {
  const meta = join(dir, `stats-${Math.random().toString(36).slice(2)}.txt`);
  await runFfmpeg(tools, {
    args: [
      // -t, not -frames:v 1 (ffmpeg then stops before metadata writes its file); no -ss on a
      // picture (image2 seeking to 0 gives no frame).
      ...(at ? ["-ss", String(at), "-i", file, "-t", "0.04"] : ["-i", file]),
      ...["-vf", `format=yuv420p,signalstats,blurdetect,metadata=mode=print:file=${meta}`, "-f", "null", "-"],
    ],
    timeoutMs: 60_000,
  });
  const [f] = parseMetadataPrint(readFileSync(meta, "utf8"));
  assert.ok(f, `stats of ${file}`);
  return { blur: Number(f.m["lavfi.blur"]), yavg: Number(f.m["lavfi.signalstats.YAVG"]) };
}

// Cover selection needs no model (ffmpeg's blurdetect and signalstats): it runs with or without
// the AI packages.
describe("AI analysis: cover selection", () => {
  let server: OpenvodProcess;
  let vod: Vod;
  let files: FileServer;
  let tools: MediaTools;
  let dir: string;
  let fileId: string;

  before(async () => {
    tools = await locateMediaTools();
    dir = tempDir();
    // 0-2 s black, 2-4 s blurred, 4-6 s sharp: the cover must come from the last part.
    await writeAtomically(join(dir, "cover.mp4"), (tmp) =>
      runFfmpeg(tools, {
        args: [
          ...["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6"],
          ...[
            "-vf",
            "boxblur=8:enable='between(t,2,4)',drawbox=c=black:t=fill:enable='lt(t,2)'",
            ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", tmp],
          ],
        ],
        timeoutMs: 60_000,
      }),
    );
    files = await new FileServer(dir).start();
    server = await startOpenvod();
    vod = server.client();
    fileId = await pullItem(vod, `${files.url}/cover.mp4`);
  });
  after(async () => {
    await server?.stop();
    await files?.stop();
  });

  it("picks the sharpest frame that is not black (CoverConfigure)", async () => {
    const { Definition } = await vod.CreateAIAnalysisTemplate({
      Name: "cover",
      CoverConfigure: { Switch: "ON" },
    });
    const listed = await vod.DescribeAIAnalysisTemplates({ Definitions: [Definition!] });
    const tpl = listed.AIAnalysisTemplateSet![0]!;
    assert.equal(tpl.CoverConfigure!.Switch, "ON");
    assert.equal(tpl.ClassificationConfigure!.Switch, "OFF");

    const { TaskId } = await vod.ProcessMedia({
      FileId: fileId,
      AiAnalysisTask: { Definition: Definition! },
    });
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
    const p = detail.ProcedureTask;
    assert.equal(p.Status, "FINISH");
    assert.equal(p.AiAnalysisResultSet.length, 1, JSON.stringify(p.AiAnalysisResultSet));
    const [r] = p.AiAnalysisResultSet;
    assert.equal(r.Type, "Cover");
    assert.equal(r.CoverTask.Status, "SUCCESS", r.CoverTask.Message);
    assert.deepEqual(r.CoverTask.Input, { Definition });
    const [cover] = r.CoverTask.Output.CoverSet;
    assert.ok(cover.Confidence >= 0 && cover.Confidence <= 100, String(cover.Confidence));
    const res = await fetch(cover.CoverUrl);
    assert.equal(res.status, 200, cover.CoverUrl);
    const jpg = join(dir, "picked.jpg");
    writeFileSync(jpg, Buffer.from(await res.arrayBuffer()));
    const picked = await frameStats(tools, dir, jpg);
    const blurred = await frameStats(tools, dir, join(dir, "cover.mp4"), 3);
    assert.ok(picked.yavg > 30, `not black: YAVG ${picked.yavg}`);
    assert.ok(picked.blur < blurred.blur, `sharper than the blurred part: ${picked.blur} vs ${blurred.blur}`);
    const { metaData } = await probeMedia(tools, jpg);
    assert.equal(metaData.Width, 320, "the frame at the source's size");
  });

  it("runs a procedure template's AiAnalysisTask (ProcessMediaByProcedure)", async () => {
    const { Definition } = await vod.CreateAIAnalysisTemplate({ CoverConfigure: { Switch: "ON" } });
    await vod.CreateProcedureTemplate({
      Name: "covers",
      AiAnalysisTask: { Definition: Definition! },
      MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ["5s"] }] },
    });
    const [tpl] = (await vod.DescribeProcedureTemplates({ Names: ["covers"] })).ProcedureTemplateSet!;
    assert.deepEqual(tpl!.AiAnalysisTask, { Definition });
    const { TaskId } = await vod.ProcessMediaByProcedure({ FileId: fileId, ProcedureName: "covers" });
    const p = (await waitForTask(vod, TaskId!, { timeoutMs: 120_000 })).detail.ProcedureTask;
    assert.equal(p.MediaProcessResultSet[0].SnapshotByTimeOffsetTask.Status, "SUCCESS");
    const cover = p.AiAnalysisResultSet[0].CoverTask;
    assert.equal(cover.Status, "SUCCESS", cover.Message);
    assert.equal((await fetch(cover.Output.CoverSet[0].CoverUrl)).status, 200);
    // The same procedure named at upload runs once the file is in.
    const pulledId = await pullItem(vod, `${files.url}/cover.mp4`, { Procedure: "covers" });
    const tasks: any = await vod.DescribeTasks({ FileId: pulledId });
    const procedureId = tasks.TaskSet.find((t: any) => t.TaskType === "Procedure").TaskId;
    const q = (await waitForTask(vod, procedureId, { timeoutMs: 120_000 })).detail.ProcedureTask;
    assert.equal(
      q.AiAnalysisResultSet[0].CoverTask.Status,
      "SUCCESS",
      q.AiAnalysisResultSet[0].CoverTask.Message,
    );
    assert.equal(
      await codeOf(vod.CreateProcedureTemplate({ Name: "none", AiAnalysisTask: { Definition: 424242 } })),
      "InvalidParameterValue.AiAnalysisTaskDefinition",
    );
  });

  it("refuses the analysis items without a shipped model, naming each", async () => {
    await refusesEach(
      (b) => vod.CreateAIAnalysisTemplate(b),
      ["ClassificationConfigure", "TagConfigure", "FrameTagConfigure", "HighlightConfigure"],
    );
    const err = await vod
      .ProcessMedia({ FileId: fileId, AiAnalysisTask: { Definition: 10 } })
      .catch((e) => e);
    assert.equal(err.code, "InvalidParameterValue.AiAnalysisTaskDefinition");
    assert.match(err.message, /AiAnalysisTask.*10/);
  });
});
