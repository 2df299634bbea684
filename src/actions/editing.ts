// Editing: EditMedia (cut and join), SplitMedia (one new item per segment) and ComposeMedia (a
// multi-track timeline) queue tasks that make new media items with ffmpeg; their outputs appear
// with the task's finish (src/workers/editMedia.ts, splitMedia.ts, composeMedia.ts).
import { isoTime, newFileId } from "../domain/ids.js";
import { submitTask } from "../domain/tasks.js";
import type { EditMediaInput } from "../domain/tasktypes/editMedia.js";
import type { SplitMediaInput } from "../domain/tasktypes/splitMedia.js";
import { JobError, resolveWindow } from "../media/jobs/index.js";
import { findTemplate } from "../domain/templates/index.js";
import { errors } from "../protocol/errors.js";
import type { MediaRow } from "../store/types.js";
import { isoParam } from "./media.js";
import type { ActionContext, ActionFamily } from "./types.js";

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
      const TaskId = await submitTask(ctx.deps, {
        appId: ctx.app.subAppId,
        taskType: "EditMedia",
        priority: p.TasksPriority,
        sessionId: p.SessionId,
        sessionContext: p.SessionContext,
        input: input as unknown as Record<string, unknown>,
      });
      return { TaskId };
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
      const TaskId = await submitTask(ctx.deps, {
        appId: ctx.app.subAppId,
        taskType: "SplitMedia",
        fileId: media.fileId,
        priority: p.TasksPriority,
        sessionId: p.SessionId,
        sessionContext: p.SessionContext,
        input: input as unknown as Record<string, unknown>,
      });
      return { TaskId };
    },
  },
};
