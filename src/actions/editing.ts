// Editing: EditMedia (cut and join), SplitMedia (one new item per segment) and ComposeMedia (a
// multi-track timeline) queue tasks that make new media items with ffmpeg; their outputs appear
// with the task's finish (src/workers/editMedia.ts, splitMedia.ts, composeMedia.ts).
import { isoTime, newFileId, newTaskId } from "../domain/ids.js";
import { submitTask } from "../domain/tasks.js";
import {
  itemHls,
  newClip,
  putPlaylist,
  queuePersistence,
  relink,
  urlHls,
  type HlsSource,
} from "../domain/hlsClips.js";
import type { ComposeMediaInput } from "../domain/tasktypes/composeMedia.js";
import { taskKind } from "../domain/tasktypes/index.js";
import { clipSegments, clipWindow, renderPlaylist, type ClipMode } from "../media/jobs/hlsClip.js";
import type { EditMediaInput } from "../domain/tasktypes/editMedia.js";
import type { SplitMediaInput } from "../domain/tasktypes/splitMedia.js";
import { JobError, resolveWindow } from "../media/jobs/index.js";
import { findTemplate } from "../domain/templates/index.js";
import { errors } from "../protocol/errors.js";
import type { MediaRow } from "../store/types.js";
import { isoParam } from "./media.js";
import type { ActionContext, ActionFamily } from "./types.js";
import type { Fields } from "../domain/tasktypes/kind.js";
import type { MediaMetaData } from "../schema/api-types.js";

/** Segments of one SplitMedia, as the spec documents. */
const MAX_SEGMENTS = 100;

/** Inputs of one EditMedia (the cloud documents no limit; openvod keeps one ffmpeg run sane). */
const MAX_EDIT_INPUTS = 100;

/** The output settings EditMedia and SplitMedia share: MediaName, Type, ClassId, ExpireTime. */
function outputConfig(o: { MediaName?: string; Type?: string; ClassId?: number; ExpireTime?: string } = {}) {
  if (o.MediaName && o.MediaName.length > 64)
    throw errors.invalidParameterValue("MediaName", "MediaName is longer than 64 characters.");
  const type = (o.Type || "mp4").toLowerCase();
  if (type !== "mp4" && type !== "hls")
    throw errors.invalidParameterValue("Type", `OutputConfig.Type ${o.Type} is not mp4 or hls.`);
  if (o.ClassId !== undefined && (!Number.isInteger(o.ClassId) || o.ClassId < 0))
    throw errors.invalidParameterValue("ClassId", "ClassId must be a non-negative integer.");
  let expireTime: string | undefined;
  if (o.ExpireTime) {
    const ms = isoParam(o.ExpireTime);
    if (ms === undefined)
      throw errors.invalidParameterValue("ExpireTime", "ExpireTime is not an ISO 8601 time.");
    expireTime = isoTime(ms);
  }
  return { MediaName: o.MediaName, Type: type as "mp4" | "hls", ClassId: o.ClassId, ExpireTime: expireTime };
}

/** Queues a task with the request's common task parameters (SessionId, SessionContext, TasksPriority). */
function queueTask(ctx: ActionContext, taskType: string, input: object, fileId?: string): Promise<string> {
  const p = ctx.params as { TasksPriority?: number; SessionId?: string; SessionContext?: string };
  return submitTask(ctx.deps, {
    appId: ctx.app.subAppId,
    taskType,
    fileId,
    priority: p.TasksPriority,
    sessionId: p.SessionId,
    sessionContext: p.SessionContext,
    input: input as Record<string, unknown>,
  });
}

/** A source item of this application, or InvalidParameterValue.FileId. */
async function sourceMedia(ctx: ActionContext, fileId: string, where: string): Promise<MediaRow> {
  const media = fileId ? await ctx.deps.store.getMedia(ctx.app.subAppId, fileId) : undefined;
  if (!media) throw errors.invalidParameterValue("FileId", `${where}: the file ${fileId} does not exist.`);
  return media;
}

async function checkProcedure(ctx: ActionContext, name: string | undefined): Promise<void> {
  if (name && !(await findTemplate(ctx.deps, ctx.app.subAppId, "Procedure", name)))
    throw errors.procedureNameNotExist(`The procedure ${name} does not exist.`);
}

const inRange = (v: number | undefined, lo: number, hi: number) =>
  v === undefined || v === 0 || (v >= lo && v <= hi);

/** EditMediaVideoStream, checked against the ranges the spec documents. */
function videoStream(v: Record<string, any> | undefined): Record<string, unknown> | undefined {
  if (!v) return undefined;
  const codec = String(v.Codec ?? "libx264");
  if (!["libx264", "libx265", "av1"].includes(codec)) {
    throw errors.invalidParameterValue(
      "Codec",
      `VideoStream.Codec ${codec}: openvod encodes libx264, libx265 and av1 (no H.266).`,
    );
  }
  if (!inRange(v.Bitrate, 128, 100000))
    throw errors.invalidParameterValue("Bitrate", "VideoStream.Bitrate must be 0 or 128-100000 kbps.");
  for (const k of ["Width", "Height"])
    if (!inRange(v[k], 128, 4096))
      throw errors.invalidParameterValue(k, `VideoStream.${k} must be 0 or 128-4096.`);
  if (!inRange(v.Fps, 0, 100)) throw errors.invalidParameterValue("Fps", "VideoStream.Fps must be 0-100.");
  const adaptive = String(v.ResolutionAdaptive ?? "open");
  if (adaptive !== "open" && adaptive !== "close")
    throw errors.invalidParameterValue("ResolutionAdaptive", "ResolutionAdaptive must be open or close.");
  return { ...v, Codec: codec, ResolutionAdaptive: adaptive };
}

/** A cut offset: a number of seconds, not negative. */
function offset(v: number | undefined, name: string, where: string): number {
  const n = v ?? 0;
  if (!Number.isFinite(n) || n < 0)
    throw errors.invalidParameterValue(name, `${where}: ${name} ${v} must be a number of seconds ≥ 0.`);
  return n;
}

/** The window of a clip, or InvalidParameterValue naming the offset that empties it. */
function hlsWindow(src: HlsSource, start: number | undefined, end: number | undefined, where: string) {
  const w = clipWindow(src.playlist.duration, start, end);
  if (!w) {
    const d = src.playlist.duration;
    const sub =
      start !== undefined && (start >= d || (start < 0 && -start > d)) ? "StartTimeOffset" : "EndTimeOffset";
    throw errors.invalidParameterValue(
      sub,
      `${where}: the offsets ${start ?? 0}..${end ?? 0} leave nothing of ${d.toFixed(3)} s.`,
    );
  }
  return w;
}

/** The metadata of a clip as SimpleHlsClip answers it: Size, Rotate and stream durations left at 0. */
function clipMetaData(src: HlsSource, duration: number) {
  const m = src.metaData as Record<string, unknown>;
  return {
    Size: 0,
    Container: "hls",
    Bitrate: m.Bitrate,
    Height: m.Height,
    Width: m.Width,
    Duration: duration,
    Rotate: 0,
    VideoStreamSet: m.VideoStreamSet,
    AudioStreamSet: m.AudioStreamSet,
    VideoDuration: 0,
    AudioDuration: 0,
    Md5: "",
  } satisfies Fields<MediaMetaData>;
}

/** What a track of each type may hold, and the limits the spec documents. */
const TRACK_ITEMS: Record<string, string[]> = {
  Video: ["Video", "Transition", "Empty"],
  Audio: ["Audio", "Transition", "Empty"],
  Sticker: ["Sticker", "Empty"],
};
const MAX_TRACKS_PER_TYPE = 10;
const MAX_TRACK_ITEMS = 500;
/** The transitions openvod renders; the others would be a different video, so they are refused. */
const TRANSITIONS = new Set(["ImageFadeInFadeOut", "AudioFadeInFadeOut"]);
const SIZE = /^\d+(\.\d+)?(%|px)$/;
const POSITION = /^-?\d+(\.\d+)?(%|px)$/;

/**
 * Checks a ComposeMedia timeline: every field openvod does not render answers
 * InvalidParameterValue naming it. Returns the FileIds the items use.
 */
async function checkTracks(ctx: ActionContext, tracks: Record<string, any>[]): Promise<string[]> {
  const bad = (sub: string, where: string, what: string) =>
    errors.invalidParameterValue(sub, `${where}: ${what}`);
  const perType = new Map<string, number>();
  let items = 0;
  const sources = new Set<string>();
  for (const [t, track] of tracks.entries()) {
    const where = `Tracks[${t}]`;
    const allowed = TRACK_ITEMS[track.Type];
    if (!allowed) throw bad("Type", where, `Type ${track.Type} is not Video, Audio or Sticker.`);
    perType.set(track.Type, (perType.get(track.Type) ?? 0) + 1);
    if (perType.get(track.Type)! > MAX_TRACKS_PER_TYPE)
      throw bad("Tracks", where, `at most ${MAX_TRACKS_PER_TYPE} ${track.Type} tracks.`);
    for (const [i, entry] of ((track.TrackItems ?? []) as Record<string, any>[]).entries()) {
      const at = `${where}.TrackItems[${i}]`;
      if (++items > MAX_TRACK_ITEMS) throw bad("TrackItems", at, `at most ${MAX_TRACK_ITEMS} items in all.`);
      if (!allowed.includes(entry.Type))
        throw bad("Type", at, `a ${track.Type} track holds ${allowed.join(", ")} items, not ${entry.Type}.`);
      const item = entry[`${entry.Type}Item`];
      if (!item) throw bad(`${entry.Type}Item`, at, `a ${entry.Type} item needs ${entry.Type}Item.`);
      const seconds = (k: string, positive = false) => {
        const v = item[k];
        if (v === undefined || v === null) {
          if (positive) throw bad(k, at, `${k} is required.`);
          return;
        }
        if (!Number.isFinite(v) || v < 0 || (positive && v === 0))
          throw bad(k, at, `${k} ${v} must be a number of seconds${positive ? " > 0" : " ≥ 0"}.`);
      };
      if (entry.Type === "Empty") {
        seconds("Duration", true);
        continue;
      }
      if (entry.Type === "Transition") {
        seconds("Duration", true);
        if (item.Transitions?.length)
          throw bad("Transitions", at, "Transitions is disabled by the cloud; use MediaTransitions.");
        for (const m of (item.MediaTransitions ?? []) as Record<string, any>[])
          if (!TRANSITIONS.has(m.Type))
            throw bad(
              "MediaTransitions",
              at,
              `transition ${m.Type}: openvod renders ImageFadeInFadeOut and AudioFadeInFadeOut only.`,
            );
        continue;
      }
      for (const k of ["SourceMediaStartTime", "Duration", "TargetDuration", "StartTime"]) seconds(k);
      if (entry.Type === "Sticker") seconds("Duration", true);
      const id = String(item.SourceMedia ?? "");
      if (!/^\d+$/.test(id))
        throw bad("SourceMedia", at, "openvod composes media items of this application (FileIds), not URLs.");
      const media = await ctx.deps.store.getMedia(ctx.app.subAppId, id);
      if (!media) throw bad("SourceMedia", at, `the file ${id} does not exist.`);
      if (media.category === "Image" && !(item.Duration > 0))
        throw bad("Duration", at, "an image needs a Duration > 0.");
      sources.add(id);
      if (item.CoordinateOrigin !== undefined && !["Center", "TopLeft"].includes(item.CoordinateOrigin))
        throw bad(
          "CoordinateOrigin",
          at,
          `CoordinateOrigin ${item.CoordinateOrigin} is not Center or TopLeft.`,
        );
      for (const [k, re] of [
        ["XPos", POSITION],
        ["YPos", POSITION],
        ["Width", SIZE],
        ["Height", SIZE],
      ] as const)
        if (item[k] !== undefined && item[k] !== "" && !re.test(String(item[k])))
          throw bad(k, at, `${k} ${item[k]} is not a number followed by % or px.`);
      for (const op of (item.ImageOperations ?? []) as Record<string, any>[]) {
        if (op.Type === "Rotate") {
          if (!(op.RotateAngle >= 0 && op.RotateAngle <= 360))
            throw bad("RotateAngle", at, "RotateAngle must be 0-360.");
        } else if (op.Type === "Flip") {
          if (!["Horizental", "Horizontal", "Vertical"].includes(op.Flip))
            throw bad("Flip", at, `Flip ${op.Flip} is not Horizental or Vertical.`);
        } else throw bad("ImageOperations", at, `image operation ${op.Type} is not Rotate or Flip.`);
      }
      for (const op of (item.AudioOperations ?? []) as Record<string, any>[]) {
        if (op.Type !== "Volume")
          throw bad("AudioOperations", at, `audio operation ${op.Type} is not Volume.`);
        const v = op.VolumeParam ?? {};
        if (v.Mute !== undefined && v.Mute !== 0 && v.Mute !== 1)
          throw bad("Mute", at, "Mute must be 0 or 1.");
        if (v.Gain !== undefined && !(v.Gain >= 0 && v.Gain <= 10))
          throw bad("Gain", at, "Gain must be 0-10.");
      }
    }
  }
  if (!items) throw errors.invalidParameterValue("Tracks", "The tracks hold no items.");
  return [...sources];
}

/** ComposeMedia's Canvas and Output, checked against the ranges the spec documents. */
function checkComposeOutput(canvas: Record<string, any> | undefined, out: Record<string, any>) {
  if (canvas) {
    if (canvas.Color !== undefined && !["Black", "White"].includes(canvas.Color))
      throw errors.invalidParameterValue("Color", `Canvas.Color ${canvas.Color} is not Black or White.`);
    for (const k of ["Width", "Height"])
      if (canvas[k] !== undefined && !(canvas[k] >= 0 && canvas[k] <= 3840))
        throw errors.invalidParameterValue(k, `Canvas.${k} must be 0-3840.`);
  }
  if (!out.FileName || out.FileName.length > 64)
    throw errors.invalidParameterValue("FileName", "Output.FileName must be 1-64 characters.");
  if (out.Description && out.Description.length > 128)
    throw errors.invalidParameterValue("Description", "Output.Description is longer than 128 characters.");
  const container = out.Container ?? "mp4";
  if (container !== "mp4" && container !== "mp3")
    throw errors.invalidParameterValue("Container", `Output.Container ${container} is not mp4 or mp3.`);
  const v = out.VideoStream ?? {};
  if (v.Codec !== undefined && v.Codec !== "libx264")
    throw errors.invalidParameterValue("Codec", "Output.VideoStream.Codec must be libx264.");
  if (!inRange(v.Fps, 0, 60))
    throw errors.invalidParameterValue("Fps", "Output.VideoStream.Fps must be 0-60.");
  const a = out.AudioStream ?? {};
  if (a.Codec !== undefined && a.Codec !== "libfdk_aac")
    throw errors.invalidParameterValue("Codec", "Output.AudioStream.Codec must be libfdk_aac.");
  if (a.SampleRate !== undefined && ![16000, 32000, 44100, 48000].includes(a.SampleRate))
    throw errors.invalidParameterValue(
      "SampleRate",
      "Output.AudioStream.SampleRate must be 16000, 32000, 44100 or 48000.",
    );
  if (a.AudioChannel !== undefined && ![1, 2].includes(a.AudioChannel))
    throw errors.invalidParameterValue("AudioChannel", "Output.AudioStream.AudioChannel must be 1 or 2.");
  if (!inRange(a.Bitrate, 26, 256))
    throw errors.invalidParameterValue("Bitrate", "Output.AudioStream.Bitrate must be 0 or 26-256 kbps.");
  for (const k of ["RemoveVideo", "RemoveAudio"])
    if (out[k] !== undefined && out[k] !== 0 && out[k] !== 1)
      throw errors.invalidParameterValue(k, `Output.${k} must be 0 or 1.`);
  const { ClassId, ExpireTime } = outputConfig({ ClassId: out.ClassId, ExpireTime: out.ExpireTime });
  return { ...out, Container: container, ClassId, ExpireTime };
}

export const editingActions: ActionFamily = {
  EditMedia: {
    notes:
      "InputType File: the parts cut and joined in order by one ffmpeg run into a new item (mp4 or hls), sizes, frame rates and audio normalised (silence for parts without audio), Definition 10/20 baseline, OutputConfig.VideoStream, ProcedureName; InputType Stream and TEHD refused",
    async handler(ctx) {
      const p = ctx.params;
      if (p.InputType === "Stream")
        throw errors.invalidParameterValue(
          "InputType",
          "InputType Stream: openvod records no live streams; edit files (InputType File).",
        );
      if (p.InputType !== "File")
        throw errors.invalidParameterValue("InputType", `InputType ${p.InputType} is not File or Stream.`);
      const infos = p.FileInfos ?? [];
      if (!infos.length) throw errors.missingParameter("FileInfos is required when InputType is File.");
      if (infos.length > MAX_EDIT_INPUTS)
        throw errors.invalidParameterValue(
          "FileInfos",
          `At most ${MAX_EDIT_INPUTS} FileInfos per EditMedia.`,
        );
      const definition = p.Definition ?? 10;
      if (definition !== 10 && definition !== 20)
        throw errors.invalidParameterValue("Definition", `Definition ${definition} is not 10 or 20.`);
      const out = p.OutputConfig ?? {};
      if (out.TEHDConfig && out.TEHDConfig.Type !== "OFF")
        throw errors.invalidParameterValue(
          "TEHDConfig",
          "TEHDConfig: openvod has no TEHD (Top Speed Codec).",
        );
      const fileInfos: EditMediaInput["FileInfos"] = [];
      for (const [i, f] of infos.entries()) {
        const where = `FileInfos[${i}]`;
        const fileId = f.FileId ?? "";
        const media = await sourceMedia(ctx, fileId, where);
        const start = offset(f.StartTimeOffset, "StartTimeOffset", where);
        const end = offset(f.EndTimeOffset, "EndTimeOffset", where);
        if (end > 0 && start >= end)
          throw errors.invalidParameterValue(
            "EndTimeOffset",
            `${where}: EndTimeOffset must be after StartTimeOffset.`,
          );
        const duration = Number((media.metaData as { Duration?: number }).Duration) || 0;
        if (duration > 0 && start >= duration)
          throw errors.invalidParameterValue(
            "StartTimeOffset",
            `${where}: StartTimeOffset ${start} is not before the end of ${fileId} (${duration} s).`,
          );
        fileInfos.push({ FileId: fileId, StartTimeOffset: start, EndTimeOffset: end });
      }
      await checkProcedure(ctx, p.ProcedureName);
      const input: EditMediaInput = {
        FileInfos: fileInfos,
        Definition: definition,
        ProcedureName: p.ProcedureName,
        OutputConfig: { ...outputConfig(out), VideoStream: videoStream(out.VideoStream) },
        fileId: newFileId(),
      };
      return { TaskId: await queueTask(ctx, "EditMedia", input) };
    },
  },

  SplitMedia: {
    notes:
      "Each segment (offsets negative from the end) cut by ffmpeg into its own new item (mp4 or hls) with its own OutputConfig and ProcedureName; all items appear together with the task's FINISH",
    async handler(ctx) {
      const p = ctx.params;
      const media = await sourceMedia(ctx, p.FileId, "FileId");
      const segments = p.Segments ?? [];
      if (!segments.length) throw errors.missingParameter("The parameter `Segments` is missing.");
      if (segments.length > MAX_SEGMENTS)
        throw errors.invalidParameterValue("Segments", `At most ${MAX_SEGMENTS} Segments per SplitMedia.`);
      const duration = Number((media.metaData as { Duration?: number }).Duration) || 0;
      const list: SplitMediaInput["Segments"] = [];
      for (const [i, s] of segments.entries()) {
        const start = s.StartTimeOffset ?? 0;
        const end = s.EndTimeOffset ?? 0;
        try {
          resolveWindow(duration, start, end);
        } catch (err) {
          if (!(err instanceof JobError)) throw err;
          throw errors.invalidParameterValue(
            /^StartTimeOffset/.test(err.message) ? "StartTimeOffset" : "EndTimeOffset",
            `Segments[${i}]: ${err.message}.`,
          );
        }
        await checkProcedure(ctx, s.ProcedureName);
        list.push({
          StartTimeOffset: start,
          EndTimeOffset: end,
          ProcedureName: s.ProcedureName ?? "",
          OutputConfig: outputConfig(s.OutputConfig),
          fileId: newFileId(),
        });
      }
      const input: SplitMediaInput = { FileId: media.fileId, Segments: list };
      return { TaskId: await queueTask(ctx, "SplitMedia", input, media.fileId) };
    },
  },

  ComposeMedia: {
    notes:
      "Video, audio and sticker tracks of this application's files rendered by one ffmpeg filter graph: sequencing, Empty gaps, overlays in track order (picture-in-picture, logos) placed by Center/TopLeft XPos/YPos/Width/Height, Rotate/Flip, Volume (Mute, Gain), TargetDuration speed, ImageFadeInFadeOut/AudioFadeInFadeOut transitions, Canvas, mp4/mp3; URL sources and other transitions refused",
    async handler(ctx) {
      const p = ctx.params;
      const tracks = (p.Tracks ?? []) as Record<string, any>[];
      const sources = await checkTracks(ctx, tracks);
      const output = checkComposeOutput(p.Canvas, p.Output as Record<string, any>);
      const input: ComposeMediaInput = {
        Tracks: tracks,
        Canvas: p.Canvas ?? null,
        Output: output,
        sources,
        fileId: newFileId(),
      };
      return { TaskId: await queueTask(ctx, "ComposeMedia", input) };
    },
  },

  FastEditMedia: {
    notes:
      "Joins cuts of HLS media (original or a transcode) without re-encoding, at segment precision (ClipMode); answers at once with the new FileId and a playlist that plays the source segments; a FastClipMedia task copies them into the new item, then PersistenceComplete (when switched on)",
    async handler(ctx) {
      const p = ctx.params;
      const infos = p.FileInfos ?? [];
      if (!infos.length) throw errors.missingParameter("The parameter `FileInfos` is missing.");
      if (infos.length > MAX_EDIT_INPUTS)
        throw errors.invalidParameterValue(
          "FileInfos",
          `At most ${MAX_EDIT_INPUTS} FileInfos per FastEditMedia.`,
        );
      const mode = (p.ClipMode ?? "StartInclusiveEndInclusive") as ClipMode;
      if (mode !== "StartInclusiveEndInclusive" && mode !== "StartInclusiveEndExclusive")
        throw errors.invalidParameterValue(
          "ClipMode",
          `ClipMode ${p.ClipMode} is not StartInclusiveEndInclusive or StartInclusiveEndExclusive.`,
        );
      const app = ctx.app.subAppId;
      const clip = newClip(app);
      const parts = [];
      for (const [i, f] of infos.entries()) {
        const where = `FileInfos[${i}]`;
        const src = await itemHls(
          ctx.deps,
          app,
          f.FileId ?? "",
          String(f.AudioVideoType),
          f.TranscodeDefinition,
          where,
        );
        const w = hlsWindow(src, f.StartTimeOffset, f.EndTimeOffset, where);
        const segments = clipSegments(src.playlist, w.start, w.end, mode);
        if (!segments.length)
          throw errors.invalidParameterValue(
            "EndTimeOffset",
            `${where}: no whole segment lies in the window.`,
          );
        parts.push({ segments: relink(src, segments, clip.key) });
      }
      await putPlaylist(ctx.deps, clip.key, renderPlaylist(parts));
      await queuePersistence(ctx.deps, app, {
        fileId: clip.fileId,
        playlistKey: clip.key,
        name: "fastEditMedia",
        source: "FastEditMedia",
      });
      return { FileId: clip.fileId, Url: ctx.deps.urls.file(clip.key) };
    },
  },

  SimpleHlsClip: {
    notes:
      "Clips an openvod HLS URL of the application at segment precision without re-encoding: a new playlist beside the source's (IsPersistence 0), or with IsPersistence 1 a new item (FileId answered at once; a FastClipMedia task copies the segments, then starts Procedure, whose TaskId is answered)",
    async handler(ctx) {
      const p = ctx.params;
      if (p.OutputMediaType && p.OutputMediaType !== "hls")
        throw errors.invalidParameterValue("OutputMediaType", "OutputMediaType must be hls.");
      const persist = (p.IsPersistence ?? 0) === 1;
      if (p.IsPersistence !== undefined && p.IsPersistence !== 0 && p.IsPersistence !== 1)
        throw errors.invalidParameterValue("IsPersistence", "IsPersistence must be 0 or 1.");
      const app = ctx.app.subAppId;
      const src = await urlHls(ctx.deps, app, p.Url);
      const w = hlsWindow(src, p.StartTimeOffset, p.EndTimeOffset, "Url");
      const segments = clipSegments(src.playlist, w.start, w.end, "StartInclusiveEndInclusive");
      const duration = segments.reduce((sum, s) => sum + s.duration, 0);
      const metaData = clipMetaData(src, Math.round(duration * 1000) / 1000);
      if (!persist) {
        const ms = (x: number) => Math.round(x * 1000);
        const stem = src.key.slice(0, -".m3u8".length);
        const key = `${stem}.clip_${ms(w.start)}_${ms(w.end)}.m3u8`;
        await putPlaylist(ctx.deps, key, renderPlaylist([{ segments: relink(src, segments, key) }]));
        return { Url: ctx.deps.urls.file(key), MetaData: metaData, FileId: "", TaskId: "" };
      }
      if (p.SourceContext && p.SourceContext.length > 250)
        throw errors.invalidParameterValue("SourceContext", "SourceContext is longer than 250 characters.");
      await checkProcedure(ctx, p.Procedure);
      const { ClassId, ExpireTime } = outputConfig({ ClassId: p.ClassId, ExpireTime: p.ExpireTime });
      // The Procedure's TaskId is answered now; the task itself starts once the item exists.
      const procedureTaskId = p.Procedure ? newTaskId(app, taskKind("Procedure").idKind) : undefined;
      const clip = newClip(app);
      await putPlaylist(ctx.deps, clip.key, renderPlaylist([{ segments: relink(src, segments, clip.key) }]));
      await queuePersistence(
        ctx.deps,
        app,
        {
          fileId: clip.fileId,
          playlistKey: clip.key,
          name: "simpleHlsClip",
          source: "SimpleHlsClip",
          classId: ClassId,
          expireTime: ExpireTime,
          sourceContext: p.SourceContext,
          procedure: p.Procedure,
          procedureTaskId,
        },
        p.SessionContext,
      );
      return {
        Url: ctx.deps.urls.file(clip.key),
        MetaData: metaData,
        FileId: clip.fileId,
        TaskId: procedureTaskId ?? "",
      };
    },
  },
};
