// The system templates every application sees (Type "Preset"), from the VOD docs (266/33932,
// 266/33476, 266/14058; see vod-api-notes E.3/E.4). Bodies are in Describe item shape.
import type { TemplateBody, TemplateFamily } from "./types.js";

/** Presets were "created" before any application existed. */
export const PRESET_TIME = Date.UTC(2018, 0, 1);

const video = (Codec: string, Height: number, Bitrate: number) => ({
  Codec,
  Fps: 25,
  Bitrate,
  ResolutionAdaptive: "open",
  Width: 0,
  Height,
  FillType: "black",
});

const audio = (Codec: string, Bitrate: number) => ({ Codec, Bitrate, SampleRate: 44100, AudioChannel: 2 });

interface Rung {
  label: string;
  mp4: number;
  hls: number;
  height: number;
  kbps: number;
  audioKbps: number;
}

/** The H.264 ladder: the same parameters as MP4 (1000x0) and as HLS (1002x0). */
const LADDER: Rung[] = [
  { label: "FLU", mp4: 100010, hls: 100210, height: 360, kbps: 400, audioKbps: 64 },
  { label: "SD", mp4: 100020, hls: 100220, height: 540, kbps: 1000, audioKbps: 64 },
  { label: "HD", mp4: 100030, hls: 100230, height: 720, kbps: 1800, audioKbps: 128 },
  { label: "FHD", mp4: 100040, hls: 100240, height: 1080, kbps: 2500, audioKbps: 128 },
  { label: "2K", mp4: 100070, hls: 100270, height: 1440, kbps: 3000, audioKbps: 160 },
  { label: "4K", mp4: 100080, hls: 100280, height: 2160, kbps: 6000, audioKbps: 160 },
];

const H265: Array<[definition: number, height: number, kbps: number, audioKbps: number]> = [
  [101010, 360, 300, 64],
  [101020, 540, 800, 64],
  [101030, 720, 1500, 128],
  [101040, 1080, 2200, 128],
];

function transcodeVideo(
  Definition: number,
  Name: string,
  Container: string,
  codec: string,
  r: Pick<Rung, "height" | "kbps" | "audioKbps">,
): TemplateBody {
  const label = codec === "libx265" ? "H.265" : "H.264";
  return {
    Definition,
    Name,
    Comment: `${label} ${Container.toUpperCase()} ${r.height}p, ${r.kbps} kbps video, ${r.audioKbps} kbps AAC`,
    Container,
    RemoveVideo: 0,
    RemoveAudio: 0,
    VideoTemplate: video(codec, r.height, r.kbps),
    AudioTemplate: audio("libfdk_aac", r.audioKbps),
    ContainerType: "Video",
    SegmentType: Container === "hls" ? "ts" : "",
  };
}

function transcodeAudio(Definition: number, Container: string, codec: string, kbps: number): TemplateBody {
  const Name = `${Container.toUpperCase()}-${kbps}K`;
  return {
    Definition,
    Name,
    Comment: `${Container} audio only, ${kbps} kbps`,
    Container,
    RemoveVideo: 1,
    RemoveAudio: 0,
    AudioTemplate: audio(codec, kbps),
    ContainerType: "PureAudio",
    SegmentType: "",
  };
}

const TRANSCODE: TemplateBody[] = [
  ...LADDER.slice(0, 4).map((r, i) => transcodeVideo((i + 1) * 10, r.label, "mp4", "libx264", r)),
  ...LADDER.map((r) => transcodeVideo(r.mp4, `STD-H264-MP4-${r.height}P`, "mp4", "libx264", r)),
  ...LADDER.map((r) => transcodeVideo(r.hls, `STD-H264-HLS-${r.height}P`, "hls", "libx264", r)),
  ...H265.map(([d, height, kbps, audioKbps]) =>
    transcodeVideo(d, `STD-H265-MP4-${height}P`, "mp4", "libx265", { height, kbps, audioKbps }),
  ),
  transcodeAudio(1010, "mp3", "libmp3lame", 128),
  transcodeAudio(1020, "mp3", "libmp3lame", 320),
  ...[24, 48, 96, 192, 256].map((kbps, i) => transcodeAudio(1100 + i * 10, "m4a", "libfdk_aac", kbps)),
];

/** Renditions of the adaptive-streaming presets: the parameters of 100210, 100220 and 100230. */
const RENDITIONS = LADDER.slice(0, 3).map((r) => ({
  Video: video("libx264", r.height, r.kbps),
  Audio: audio("libfdk_aac", r.audioKbps),
  RemoveAudio: 0,
  RemoveVideo: 0,
}));

const adaptive = (Definition: number, Name: string, Format: string, SegmentType: string): TemplateBody => ({
  Definition,
  Name,
  Comment: `${Format}: 360p, 540p and 720p H.264 renditions`,
  Format,
  DrmType: "",
  DrmKeyProvider: "",
  StreamInfos: RENDITIONS,
  DisableHigherVideoBitrate: 0,
  DisableHigherVideoResolution: 0,
  SegmentType,
});

/** A custom still-picture template's defaults (snapshots, samples, sprites), presets' too. */
export const STILL_DEFAULTS = {
  Name: "",
  Comment: "",
  Width: 0,
  Height: 0,
  ResolutionAdaptive: "open",
  Format: "jpg",
  FillType: "black",
};

const animated = (Definition: number, Format: string): TemplateBody => ({
  Definition,
  Name: Format.toUpperCase(),
  Comment: `${Format} at 10 fps, source size`,
  Width: 0,
  Height: 0,
  ResolutionAdaptive: "open",
  Format,
  Fps: 10,
  Quality: 75,
});

/**
 * Presets of the families declared in families.ts, watermark.ts and procedure.ts. A family in a
 * module of its own (e.g. qualityInspect.ts) declares its presets there, so adding one does not
 * touch this table.
 */
export const PRESETS = {
  Transcode: TRANSCODE,
  SnapshotByTimeOffset: [{ Definition: 10, ...STILL_DEFAULTS, Name: "TimepointScreenshot" }],
  SampleSnapshot: [
    { Definition: 10, ...STILL_DEFAULTS, Name: "SampleScreenshot", SampleType: "Percent", SampleInterval: 10 },
  ],
  ImageSprite: [
    {
      Definition: 10,
      ...STILL_DEFAULTS,
      Name: "SpriteScreenshot",
      Width: 142,
      Height: 80,
      SampleType: "Percent",
      SampleInterval: 10,
      RowCount: 10,
      ColumnCount: 10,
    },
  ],
  AnimatedGraphics: [animated(20000, "gif"), animated(20001, "webp")],
  AdaptiveDynamicStreaming: [
    adaptive(10, "Adaptive-HLS", "HLS", "ts"),
    adaptive(20, "Adaptive-DASH", "MPEG-DASH", "mp4"),
  ],
  Watermark: [],
  Procedure: [
    {
      Name: "LongVideoPreset",
      Comment: "Adaptive HLS (10), image sprite (10) and a cover at 0 s (10)",
      MediaProcessTask: {
        AdaptiveDynamicStreamingTaskSet: [{ Definition: 10 }],
        ImageSpriteTaskSet: [{ Definition: 10 }],
        CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: "Time", PositionValue: 0 }],
      },
    },
  ],
} satisfies Partial<Record<TemplateFamily, readonly TemplateBody[]>>;
