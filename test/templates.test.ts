// Media-processing templates through the official SDK against a real openvod: presets, the
// create → describe → modify → describe → delete cycle of every family, the checks that keep a
// template within what ffmpeg can do, per-application isolation, the watermark image and
// procedure templates.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { locateMediaTools } from "../src/media/tools.js";
import { makeImage } from "./helpers/media.js";
import { sdkError, startOpenvod, tempDir, type OpenvodProcess, type Vod } from "./helpers/server.js";

const PRESET_TIME = "2018-01-01T00:00:00Z";
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

type Params = Record<string, any>;

/** Every key of `expected` is in `actual` with the same value (lists: same length, each a subset). */
function assertSubset(actual: any, expected: any, path = ""): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path} should be a list`);
    assert.equal(actual.length, expected.length, `${path} length`);
    expected.forEach((e, i) => assertSubset(actual[i], e, `${path}.${i}`));
  } else if (typeof expected === "object" && expected !== null) {
    assert.ok(typeof actual === "object" && actual !== null, `${path} should be an object`);
    for (const [k, v] of Object.entries(expected)) assertSubset(actual[k], v, `${path}.${k}`);
  } else {
    assert.strictEqual(actual, expected, path);
  }
}

/** Nested merge of a Modify request into what was created: the fields Describe should show. */
function merged(base: Params, patch: Params): Params {
  const out: Params = { ...base };
  for (const [k, v] of Object.entries(patch))
    out[k] =
      typeof v === "object" && !Array.isArray(v) && typeof base[k] === "object" && !Array.isArray(base[k])
        ? merged(base[k], v)
        : v;
  return out;
}

interface FamilyCase {
  family: string;
  create: Params;
  modify: Params;
  /** The item's Type: "Custom", or the watermark kind. */
  type?: string;
}

const video = (Height: number, Bitrate: number) => ({ Codec: "libx264", Fps: 25, Bitrate, Width: 0, Height });
const aac = { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100, AudioChannel: 2 };

const CASES: FamilyCase[] = [
  {
    family: "Transcode",
    create: {
      Container: "mp4",
      Name: "h265-480",
      Comment: "custom transcode",
      VideoTemplate: { Codec: "libx265", Fps: 30, Bitrate: 900, Width: 0, Height: 480, FillType: "white" },
      AudioTemplate: { Codec: "libfdk_aac", Bitrate: 96, SampleRate: 48000, AudioChannel: 2 },
    },
    modify: { Name: "h265-480b", VideoTemplate: { Bitrate: 1200 }, AudioTemplate: { SampleRate: 44100 } },
  },
  {
    family: "SnapshotByTimeOffset",
    create: {
      Name: "snap",
      Comment: "c",
      Width: 640,
      Height: 0,
      Format: "png",
      FillType: "white",
      ResolutionAdaptive: "close",
    },
    modify: { Format: "webp", Height: 360 },
  },
  {
    family: "SampleSnapshot",
    create: { Name: "sample", SampleType: "Time", SampleInterval: 5, Width: 320, Height: 180, Format: "jpg" },
    modify: { SampleType: "Percent", SampleInterval: 20 },
  },
  {
    family: "ImageSprite",
    create: {
      Name: "sprite",
      SampleType: "Percent",
      SampleInterval: 5,
      RowCount: 4,
      ColumnCount: 5,
      Width: 160,
      Height: 0,
    },
    modify: { RowCount: 2, Comment: "two rows" },
  },
  {
    family: "AnimatedGraphics",
    create: { Name: "anim", Fps: 12, Format: "webp", Width: 320, Height: 0, Quality: 60 },
    modify: { Fps: 15, Format: "gif" },
  },
  {
    family: "AdaptiveDynamicStreaming",
    create: {
      Name: "abr",
      Format: "HLS",
      StreamInfos: [
        { Video: video(360, 500), Audio: aac },
        { Video: { ...video(720, 1500), Codec: "libx265" }, Audio: aac },
      ],
    },
    modify: {
      Name: "abr-dash",
      Format: "MPEG-DASH",
      SegmentType: "mp4",
      StreamInfos: [{ Video: video(540, 900), Audio: aac }],
    },
  },
  {
    family: "Watermark",
    type: "text",
    create: {
      Type: "text",
      Name: "caption",
      CoordinateOrigin: "BottomRight",
      XPos: "10%",
      YPos: "12px",
      TextTemplate: { FontType: "arial.ttf", FontSize: "24px", FontColor: "0xFF0000", FontAlpha: 0.8 },
    },
    modify: { XPos: "5%", TextTemplate: { FontSize: "30px" } },
  },
];

describe("templates", () => {
  let server: OpenvodProcess;
  let vod: Vod;
  let png: Buffer;
  let jpg: Buffer;

  /** Calls an action by name (the SDK has one method per action). */
  const call = (action: string, params: Params = {}): Promise<any> => (vod as any)[action](params);
  const codeOf = async (action: string, params: Params) => (await sdkError(() => call(action, params))).code;
  const describeOne = async (family: string, definition: number, extra: Params = {}) =>
    (await call(`Describe${family}Templates`, { Definitions: [definition], ...extra }))[
      `${family}TemplateSet`
    ];

  before(async () => {
    const dir = tempDir();
    const tools = await locateMediaTools();
    await makeImage(tools, join(dir, "logo.png"), 64, 48);
    await makeImage(tools, join(dir, "logo.jpg"), 32, 24);
    png = readFileSync(join(dir, "logo.png"));
    jpg = readFileSync(join(dir, "logo.jpg"));
    // The limit tests create 150 templates in a row: no rate limit.
    server = await startOpenvod({ env: { OPENVOD_RATE_LIMIT: "0" } });
    vod = server.client();
  });
  after(async () => {
    if (server && server.child.exitCode === null) {
      const exited = new Promise((r) => server.child.once("exit", r));
      server.child.kill("SIGTERM");
      await exited;
    }
    await server?.stop();
  });

  it("lists the presets with Type Preset", async () => {
    const [hd] = await describeOne("Transcode", 100030);
    assertSubset(hd, {
      Definition: "100030",
      Type: "Preset",
      Container: "mp4",
      ContainerType: "Video",
      VideoTemplate: {
        Codec: "libx264",
        Fps: 25,
        Bitrate: 1800,
        Width: 0,
        Height: 720,
        ResolutionAdaptive: "open",
      },
      AudioTemplate: { Codec: "libfdk_aac", Bitrate: 128, SampleRate: 44100, AudioChannel: 2 },
      CreateTime: PRESET_TIME,
    });
    const presets = await call("DescribeTranscodeTemplates", { Type: "Preset", Limit: 100 });
    assert.equal(presets.TotalCount, 27);
    assert.ok(
      presets.TranscodeTemplateSet.every((t: any) => t.Type === "Preset" && typeof t.Definition === "string"),
    );
    const audio = await call("DescribeTranscodeTemplates", {
      ContainerType: "PureAudio",
      Type: "Preset",
      Limit: 100,
    });
    assert.deepEqual(
      audio.TranscodeTemplateSet.map((t: any) => [t.Definition, t.Container, t.RemoveVideo]),
      [1010, 1020, 1100, 1110, 1120, 1130, 1140].map((d) => [String(d), d < 1100 ? "mp3" : "m4a", 1]),
    );
    const hls = await call("DescribeTranscodeTemplates", { Definitions: [100210, 101040] });
    assert.deepEqual(
      hls.TranscodeTemplateSet.map((t: any) => [t.Container, t.VideoTemplate.Codec, t.VideoTemplate.Height]),
      [
        ["hls", "libx264", 360],
        ["mp4", "libx265", 1080],
      ],
    );
    const page = await call("DescribeTranscodeTemplates", { Type: "Preset", Offset: 25 });
    assert.equal(page.TotalCount, 27);
    assert.equal(page.TranscodeTemplateSet.length, 2);

    const [sprite] = await describeOne("ImageSprite", 10);
    assertSubset(sprite, {
      Definition: 10,
      Type: "Preset",
      RowCount: 10,
      ColumnCount: 10,
      Width: 142,
      Height: 80,
    });
    const [sample] = await describeOne("SampleSnapshot", 10);
    assertSubset(sample, { Definition: 10, SampleType: "Percent", SampleInterval: 10, Format: "jpg" });
    const [snap] = await describeOne("SnapshotByTimeOffset", 10);
    assertSubset(snap, {
      Definition: 10,
      Type: "Preset",
      Width: 0,
      Height: 0,
      Format: "jpg",
      FillType: "black",
    });
    const anim = await call("DescribeAnimatedGraphicsTemplates", { Type: "Preset" });
    assert.deepEqual(
      anim.AnimatedGraphicsTemplateSet.map((t: any) => [t.Definition, t.Format, t.Fps, t.Quality]),
      [
        [20000, "gif", 10, 75],
        [20001, "webp", 10, 75],
      ],
    );
    const abr = await call("DescribeAdaptiveDynamicStreamingTemplates", { Type: "Preset" });
    assert.deepEqual(
      abr.AdaptiveDynamicStreamingTemplateSet.map((t: any) => [
        t.Definition,
        t.Format,
        t.StreamInfos.map((s: any) => [s.Video.Height, s.Video.Bitrate, s.Audio.Bitrate]),
      ]),
      [
        [
          10,
          "HLS",
          [
            [360, 400, 64],
            [540, 1000, 64],
            [720, 1800, 128],
          ],
        ],
        [
          20,
          "MPEG-DASH",
          [
            [360, 400, 64],
            [540, 1000, 64],
            [720, 1800, 128],
          ],
        ],
      ],
    );
    const wm = await call("DescribeWatermarkTemplates", {});
    assert.equal(wm.TotalCount, 0);
  });

  for (const c of CASES) {
    it(`${c.family}: create, describe, modify, describe, delete`, async () => {
      const created = await call(`Create${c.family}Template`, c.create);
      const def = created.Definition;
      assert.equal(typeof def, "number");
      assert.ok(def >= 200000, `custom Definition ${def}`);

      const expectType = c.type ?? "Custom";
      const expectDef = c.family === "Transcode" ? String(def) : def;
      const [item] = await describeOne(c.family, def);
      assertSubset(item, { ...c.create, Definition: expectDef, Type: expectType });
      assert.match(item.CreateTime, ISO);
      assert.equal(item.CreateTime, item.UpdateTime);

      const filter = c.family === "Watermark" ? { Type: c.type } : { Type: "Custom" };
      const custom = await call(`Describe${c.family}Templates`, { ...filter, Limit: 100 });
      const set = custom[`${c.family}TemplateSet`];
      assert.ok(set.some((t: any) => t.Definition === expectDef));
      assert.ok(set.every((t: any) => t.Type === expectType));
      assert.equal(custom.TotalCount, set.length);

      await call(`Modify${c.family}Template`, { Definition: def, ...c.modify });
      const [after] = await describeOne(c.family, def);
      assertSubset(after, { ...merged(c.create, c.modify), Definition: expectDef, Type: expectType });

      await call(`Delete${c.family}Template`, { Definition: def });
      assert.deepEqual(await describeOne(c.family, def), []);
      assert.equal(
        await codeOf(`Delete${c.family}Template`, { Definition: def }),
        "InvalidParameterValue.Definition",
      );
    });
  }

  it("refuses what openvod cannot do, with the cloud's codes", async () => {
    const mp4 = {
      Container: "mp4",
      VideoTemplate: { Codec: "libx264", Fps: 25, Bitrate: 1000 },
      AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 },
    };
    const v = (o: Params) => ({ ...mp4, VideoTemplate: { ...mp4.VideoTemplate, ...o } });
    const a = (o: Params, Container = "mp4") => ({
      ...mp4,
      Container,
      AudioTemplate: { ...mp4.AudioTemplate, ...o },
    });
    const transcode: Array<[Params, string]> = [
      [v({ Codec: "H.266" }), "VideoCodec"],
      [v({ Codec: "vp9" }), "VideoCodec"],
      [{ ...v({ Codec: "libx265" }), Container: "flv" }, "VideoCodec"],
      [{ ...v({ Codec: "av1" }), Container: "hls" }, "VideoCodec"],
      [{ ...mp4, Container: "avi" }, "Container"],
      [v({ Width: 100 }), "Width"],
      [v({ Height: 9000 }), "Height"],
      [v({ Bitrate: 50 }), "VideoBitrate"],
      [v({ Fps: 101 }), "Fps"],
      [a({ Bitrate: 300 }), "AudioBitrate"],
      [a({ SampleRate: 22050 }), "SampleRate"],
      [a({ AudioChannel: 3 }), "AudioChannel"],
      [a({ Codec: "flac" }, "mp3"), "AudioCodec"],
      [a({ Codec: "libfdk_aac" }, "wav"), "AudioCodec"],
      [a({ Codec: "mp2" }, "flv"), "AudioCodec"],
      [a({ Codec: "libmp3lame" }, "m4a"), "AudioCodec"],
      [{ ...mp4, Name: "n".repeat(65) }, "Name"],
      [{ ...mp4, Comment: "c".repeat(257) }, "Comment"],
      [{ ...mp4, TEHDConfig: { Type: "TEHD-100" } }, "TEHDType"],
      [{ ...mp4, RemoveVideo: 1, RemoveAudio: 1 }, "RemoveVideo"],
    ];
    for (const [params, sub] of transcode)
      assert.equal(
        await codeOf("CreateTranscodeTemplate", params),
        `InvalidParameterValue.${sub}`,
        JSON.stringify(params),
      );
    const h266 = await sdkError(() => call("CreateTranscodeTemplate", v({ Codec: "H.266" })));
    assert.match(h266.message, /H\.266.*not supported by openvod/);
    assert.equal(await codeOf("CreateTranscodeTemplate", { Container: "mp4" }), "MissingParameter");

    // What ffmpeg can do is accepted: AV1 in mp4, ffmpeg's own codec names, 6-channel AAC, flac in ogg.
    for (const ok of [
      v({ Codec: "av1" }),
      a({ Codec: "aac", AudioChannel: 6 }),
      a({ Codec: "flac" }, "ogg"),
      a({ Codec: "pcm16", SampleRate: 16000 }, "wav"),
      { ...mp4, RemoveVideo: 1, VideoTemplate: undefined },
    ]) {
      const { Definition } = await call("CreateTranscodeTemplate", ok);
      await call("DeleteTranscodeTemplate", { Definition });
    }

    const others: Array<[string, Params, string]> = [
      ["SnapshotByTimeOffset", { Format: "bmp" }, "Format"],
      ["SnapshotByTimeOffset", { Width: 16 }, "Width"],
      ["SampleSnapshot", { SampleType: "Frames", SampleInterval: 5 }, "SampleType"],
      ["SampleSnapshot", { SampleType: "Percent", SampleInterval: 0 }, "SampleInterval"],
      [
        "ImageSprite",
        { SampleType: "Time", SampleInterval: 1, RowCount: 200, ColumnCount: 1, Width: 128 },
        "RowCount",
      ],
      [
        "ImageSprite",
        { SampleType: "Time", SampleInterval: 1, RowCount: 1, ColumnCount: 100, Width: 320 },
        "ColumnCount",
      ],
      ["AnimatedGraphics", { Fps: 60 }, "Fps"],
      ["AnimatedGraphics", { Fps: 10, Quality: 0 }, "Quality"],
      [
        "AdaptiveDynamicStreaming",
        { Format: "MSS", StreamInfos: [{ Video: video(360, 400), Audio: aac }] },
        "Format",
      ],
      [
        "AdaptiveDynamicStreaming",
        { Format: "HLS", DrmType: "SimpleAES", StreamInfos: [{ Video: video(360, 400), Audio: aac }] },
        "DrmType",
      ],
      [
        "AdaptiveDynamicStreaming",
        { Format: "HLS", StreamInfos: [{ Video: video(360, 400), Audio: { ...aac, Codec: "libmp3lame" } }] },
        "AudioCodec",
      ],
      ["Watermark", { Type: "svg", SvgTemplate: { Width: "10px" } }, "Type"],
      ["Watermark", { Type: "image" }, "ImageTemplate"],
      [
        "Watermark",
        { Type: "image", ImageTemplate: { ImageContent: Buffer.from("not a picture").toString("base64") } },
        "ImageContent",
      ],
      ["Watermark", { Type: "image", ImageTemplate: { ImageContent: "***" } }, "ImageDecodeError"],
      [
        "Watermark",
        {
          Type: "text",
          TextTemplate: { FontType: "comic.ttf", FontSize: "12px", FontColor: "0xFFFFFF", FontAlpha: 1 },
        },
        "TextTemplate",
      ],
      [
        "Watermark",
        {
          Type: "text",
          TextTemplate: { FontType: "arial.ttf", FontSize: "12px", FontColor: "0xFFFFFF", FontAlpha: 0 },
        },
        "TextAlpha",
      ],
      [
        "Watermark",
        {
          Type: "text",
          XPos: "10",
          TextTemplate: { FontType: "arial.ttf", FontSize: "12px", FontColor: "0xFFFFFF", FontAlpha: 1 },
        },
        "XPos",
      ],
      [
        "Watermark",
        {
          Type: "text",
          CoordinateOrigin: "Middle",
          TextTemplate: { FontType: "arial.ttf", FontSize: "12px", FontColor: "0xFFFFFF", FontAlpha: 1 },
        },
        "CoordinateOrigin",
      ],
    ];
    for (const [family, params, sub] of others)
      assert.equal(
        await codeOf(`Create${family}Template`, params),
        `InvalidParameterValue.${sub}`,
        `${family} ${JSON.stringify(params)}`,
      );
    const svg = await sdkError(() =>
      call("CreateWatermarkTemplate", { Type: "svg", SvgTemplate: { Width: "10px" } }),
    );
    assert.match(svg.message, /SVG watermarks are not supported by openvod/);

    // Presets are read-only; unknown Definitions are named.
    assert.equal(
      await codeOf("ModifyTranscodeTemplate", { Definition: 100030, Name: "x" }),
      "InvalidParameterValue.ModifyDefaultTemplate",
    );
    assert.equal(
      await codeOf("DeleteTranscodeTemplate", { Definition: 100030 }),
      "InvalidParameterValue.DeleteDefaultTemplate",
    );
    assert.equal(
      await codeOf("DeleteImageSpriteTemplate", { Definition: 10 }),
      "InvalidParameterValue.DeleteDefaultTemplate",
    );
    assert.equal(
      await codeOf("ModifyTranscodeTemplate", { Definition: 999999, Name: "x" }),
      "InvalidParameterValue.Definition",
    );
    assert.equal(
      await codeOf("ModifyWatermarkTemplate", { Definition: 999999, Name: "x" }),
      "InvalidParameterValue.Definition",
    );
    assert.equal(await codeOf("DescribeTranscodeTemplates", { Limit: 101 }), "InvalidParameterValue.Limit");
    assert.equal(await codeOf("DescribeTranscodeTemplates", { Type: "Mine" }), "InvalidParameterValue.Type");
    assert.equal(
      await codeOf("DescribeTranscodeTemplates", { ContainerType: "Image" }),
      "InvalidParameterValue.ContainerType",
    );

    // A Modify is checked like a Create, on the merged result.
    const { Definition } = await call("CreateTranscodeTemplate", mp4);
    assert.equal(
      await codeOf("ModifyTranscodeTemplate", { Definition, Container: "mp3" }),
      "InvalidParameterValue.AudioCodec",
    );
    assert.equal(
      await codeOf("ModifyTranscodeTemplate", { Definition, VideoTemplate: { Codec: "H.266" } }),
      "InvalidParameterValue.VideoCodec",
    );
    const [unchanged] = await describeOne("Transcode", Definition);
    assert.equal(unchanged.Container, "mp4");
    await call("DeleteTranscodeTemplate", { Definition });
  });

  it("keeps each application's templates to itself, at most 100 per family (50 procedures)", async () => {
    const { SubAppId } = await vod.CreateSubAppId({ Name: "templates-a" });
    const { Definition } = await call("CreateAnimatedGraphicsTemplate", {
      SubAppId,
      Name: "only-in-a",
      Fps: 5,
    });
    const [mine] = await describeOne("AnimatedGraphics", Definition, { SubAppId });
    assert.equal(mine.Name, "only-in-a");
    // The default application neither lists nor reaches it; presets are visible from both.
    const fromDefault = await call("DescribeAnimatedGraphicsTemplates", { Limit: 100 });
    assert.ok(!fromDefault.AnimatedGraphicsTemplateSet.some((t: any) => t.Name === "only-in-a"));
    assert.ok(!(await describeOne("AnimatedGraphics", Definition)).some((t: any) => t.Name === "only-in-a"));
    assert.equal((await describeOne("Transcode", 100030, { SubAppId })).length, 1);
    const procedureRef = {
      Name: "uses-a",
      MediaProcessTask: { AnimatedGraphicTaskSet: [{ Definition, StartTimeOffset: 0, EndTimeOffset: 1 }] },
    };
    await call("CreateProcedureTemplate", { SubAppId, ...procedureRef });

    // The limits, counted per application and family.
    for (let i = 1; i < 100; i++) await call("CreateAnimatedGraphicsTemplate", { SubAppId, Fps: 5 });
    assert.equal(
      await codeOf("CreateAnimatedGraphicsTemplate", { SubAppId, Fps: 5 }),
      "LimitExceeded.TooMuchTemplate",
    );
    const { Definition: other } = await call("CreateSnapshotByTimeOffsetTemplate", { SubAppId });
    assert.ok(other > Definition);
    const all = await call("DescribeAnimatedGraphicsTemplates", { SubAppId, Type: "Custom", Limit: 100 });
    assert.equal(all.TotalCount, 100);
    for (let i = 1; i < 50; i++)
      await call("CreateProcedureTemplate", { SubAppId, ...procedureRef, Name: `p${i}` });
    assert.equal(
      await codeOf("CreateProcedureTemplate", { SubAppId, ...procedureRef, Name: "p50" }),
      "LimitExceeded.TooMuchTemplate",
    );
  });

  it("stores a watermark image and serves it at ImageUrl", async () => {
    const created = await call("CreateWatermarkTemplate", {
      Type: "image",
      Name: "logo",
      CoordinateOrigin: "TopRight",
      XPos: "16px",
      YPos: "5%",
      ImageTemplate: { ImageContent: png.toString("base64"), Width: "64px" },
    });
    assert.equal(typeof created.Definition, "number");
    assert.ok(created.ImageUrl.startsWith(server.url + "/files/"), created.ImageUrl);
    const res = await fetch(created.ImageUrl);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), png);

    const [item] = await describeOne("Watermark", created.Definition);
    assertSubset(item, {
      Type: "image",
      Name: "logo",
      CoordinateOrigin: "TopRight",
      XPos: "16px",
      YPos: "5%",
      ImageTemplate: {
        ImageUrl: created.ImageUrl,
        Width: "64px",
        Height: "0px",
        RepeatType: "repeat",
        Transparency: 0,
      },
      TextTemplate: null,
    });
    const images = await call("DescribeWatermarkTemplates", { Type: "image" });
    assert.ok(images.WatermarkTemplateSet.some((t: any) => t.Definition === created.Definition));
    const texts = await call("DescribeWatermarkTemplates", { Type: "text" });
    assert.ok(!texts.WatermarkTemplateSet.some((t: any) => t.Definition === created.Definition));

    // A new image (of another type) replaces the old one.
    const modified = await call("ModifyWatermarkTemplate", {
      Definition: created.Definition,
      ImageTemplate: { ImageContent: jpg.toString("base64"), Transparency: 30 },
    });
    assert.notEqual(modified.ImageUrl, created.ImageUrl);
    assert.deepEqual(Buffer.from(await (await fetch(modified.ImageUrl)).arrayBuffer()), jpg);
    assert.equal((await fetch(created.ImageUrl)).status, 404);
    const [after] = await describeOne("Watermark", created.Definition);
    assertSubset(after.ImageTemplate, { ImageUrl: modified.ImageUrl, Width: "64px", Transparency: 30 });

    await call("DeleteWatermarkTemplate", { Definition: created.Definition });
    assert.equal((await fetch(modified.ImageUrl)).status, 404);
  });

  it("procedure templates: preset, create, describe, reset, delete", async () => {
    const presets = await call("DescribeProcedureTemplates", { Type: "Preset" });
    assert.equal(presets.TotalCount, 1);
    assertSubset(presets.ProcedureTemplateSet[0], {
      Name: "LongVideoPreset",
      Type: "Preset",
      MediaProcessTask: {
        AdaptiveDynamicStreamingTaskSet: [{ Definition: 10 }],
        ImageSpriteTaskSet: [{ Definition: 10 }],
        CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: "Time", PositionValue: 0 }],
      },
    });

    const { Definition: snap } = await call("CreateSnapshotByTimeOffsetTemplate", { Name: "for-procedure" });
    const unknown = await sdkError(() =>
      call("CreateProcedureTemplate", {
        Name: "bad",
        MediaProcessTask: { TranscodeTaskSet: [{ Definition: 999999 }] },
      }),
    );
    assert.equal(unknown.code, "InvalidParameterValue.Definition");
    assert.match(unknown.message, /999999/);
    const badWatermark = {
      TranscodeTaskSet: [{ Definition: 100030, WatermarkSet: [{ Definition: 424242 }] }],
    };
    assert.equal(
      await codeOf("CreateProcedureTemplate", { Name: "bad", MediaProcessTask: badWatermark }),
      "InvalidParameterValue.Definition",
    );
    const ai = await sdkError(() =>
      call("CreateProcedureTemplate", {
        Name: "ai",
        MediaProcessTask: { ImageSpriteTaskSet: [{ Definition: 10 }] },
        AiAnalysisTask: { Definition: 10 },
      }),
    );
    assert.equal(ai.code, "InvalidParameterValue.AiAnalysisTaskDefinition");
    assert.match(ai.message, /AiAnalysisTask: the AI analysis template 10 does not exist/);
    assert.equal(
      await codeOf("CreateProcedureTemplate", { Name: "ai", AiRecognitionTaskSet: [{ Definition: 10 }] }),
      "InvalidParameterValue.AiRecognitionTaskDefinition",
    );
    assert.equal(
      await codeOf("CreateProcedureTemplate", { Name: "p".repeat(21), MediaProcessTask: badWatermark }),
      "InvalidParameterValue.Name",
    );

    const task = {
      TranscodeTaskSet: [{ Definition: 100030 }],
      CoverBySnapshotTaskSet: [{ Definition: snap, PositionType: "Percent", PositionValue: 50 }],
    };
    assert.deepEqual(
      Object.keys(
        await call("CreateProcedureTemplate", { Name: "flow", Comment: "mine", MediaProcessTask: task }),
      ),
      ["RequestId"],
    );
    assert.equal(
      await codeOf("CreateProcedureTemplate", { Name: "flow", MediaProcessTask: task }),
      "InvalidParameter.ExistedProcedureName",
    );
    assert.equal(
      await codeOf("CreateProcedureTemplate", { Name: "LongVideoPreset", MediaProcessTask: task }),
      "InvalidParameter.ExistedProcedureName",
    );
    const [flow] = (await call("DescribeProcedureTemplates", { Names: ["flow"] })).ProcedureTemplateSet;
    assertSubset(flow, {
      Name: "flow",
      Type: "Custom",
      Comment: "mine",
      MediaProcessTask: task,
      AiAnalysisTask: null,
    });
    assert.match(flow.CreateTime, ISO);
    const custom = await call("DescribeProcedureTemplates", { Type: "Custom" });
    assert.ok(custom.ProcedureTemplateSet.every((p: any) => p.Type === "Custom"));
    const newest = await call("DescribeProcedureTemplates", {
      SortBy: [{ Field: "CreateTime", Order: "Desc" }],
      Limit: 100,
    });
    assert.equal(newest.ProcedureTemplateSet.at(-1).Name, "LongVideoPreset");

    await call("ResetProcedureTemplate", {
      Name: "flow",
      MediaProcessTask: { ImageSpriteTaskSet: [{ Definition: 10 }] },
    });
    const [reset] = (await call("DescribeProcedureTemplates", { Names: ["flow"] })).ProcedureTemplateSet;
    assertSubset(reset.MediaProcessTask, {
      ImageSpriteTaskSet: [{ Definition: 10 }],
      TranscodeTaskSet: [],
      CoverBySnapshotTaskSet: [],
    });
    assert.equal(reset.Comment, "");
    assert.equal(reset.CreateTime, flow.CreateTime);
    assert.equal(
      await codeOf("ResetProcedureTemplate", { Name: "LongVideoPreset", MediaProcessTask: task }),
      "InvalidParameterValue.ModifyDefaultTemplate",
    );
    assert.equal(
      await codeOf("ResetProcedureTemplate", { Name: "nope", MediaProcessTask: task }),
      "InvalidParameter.ProcedureNameNotExist",
    );
    assert.equal(
      await codeOf("ResetProcedureTemplate", {
        Name: "flow",
        MediaProcessTask: { TranscodeTaskSet: [{ Definition: 777777 }] },
      }),
      "InvalidParameterValue.Definition",
    );

    await call("DeleteProcedureTemplate", { Name: "flow" });
    assert.equal((await call("DescribeProcedureTemplates", { Names: ["flow"] })).TotalCount, 0);
    assert.equal(
      await codeOf("DeleteProcedureTemplate", { Name: "flow" }),
      "InvalidParameter.ProcedureNameNotExist",
    );
    assert.equal(
      await codeOf("DeleteProcedureTemplate", { Name: "LongVideoPreset" }),
      "InvalidParameterValue.DeleteDefaultTemplate",
    );
  });
});
