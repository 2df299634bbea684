// Media quality: InspectMediaQuality (ffmpeg's detectors over one item; templates in
// src/domain/templates/qualityInspect.ts, worker src/workers/qualityInspect.ts), and the rebuilds
// that make a new item through ffmpeg's filters: EnhanceMediaQuality, EnhanceMediaByTemplate,
// RebuildMedia, RebuildMediaByTemplate (src/domain/templates/rebuild.ts, src/workers/rebuild.ts).
import { newFileId } from "../domain/ids.js";
import { submitTask } from "../domain/tasks.js";
import { findTemplate, type TemplateBody } from "../domain/templates/index.js";
import { checkRebuildTarget, rebuildFilters, rebuildTranscodeTemplate } from "../domain/templates/rebuild.js";
import type { RebuildInput } from "../domain/tasktypes/rebuildMedia.js";
import { checkFields, maxLength } from "../domain/templates/rules.js";
import type { Deps } from "../domain/deps.js";
import type { MediaRow } from "../store/types.js";
import { errors } from "../protocol/errors.js";
import type { ActionContext, ActionFamily } from "./types.js";

/** The media item a quality task works on; unknown FileIds answer InvalidParameterValue.FileId. */
export async function sourceMedia(deps: Deps, appId: number, fileId: string | undefined): Promise<MediaRow> {
  if (!fileId) throw errors.missingParameter("The parameter `FileId` is missing.");
  const media = await deps.store.getMedia(appId, fileId);
  if (!media) throw errors.invalidParameterValue("FileId", `The file ${fileId} does not exist.`);
  return media;
}

const REBUILD_VIDEO_FIELDS = [
  "RepairInfo",
  "VideoFrameInterpolationInfo",
  "SuperResolutionInfo",
  "HDRInfo",
  "VideoDenoiseInfo",
  "ColorInfo",
  "SharpInfo",
  "FaceInfo",
  "LowLightInfo",
  "ScratchRepairInfo",
  "ArtifactRepairInfo",
] as const;

type RebuildAction =
  "RebuildMedia" | "RebuildMediaByTemplate" | "EnhanceMediaByTemplate" | "EnhanceMediaQuality";

/** Queues a rebuild whose filters and target were checked; TaskType per the action. */
async function queueRebuild(
  ctx: ActionContext<RebuildAction>,
  taskType: "RebuildMedia" | "QualityEnhance",
  plan: Omit<RebuildInput, "FileId" | "fileId" | "output">,
  output: RebuildInput["output"] | undefined,
): Promise<string> {
  const p = ctx.params as Record<string, any>;
  if (p.MediaStoragePath)
    throw errors.unsupportedOperation(
      "MediaStoragePath needs an application in FileID+Path mode, which openvod does not offer.",
    );
  const media = await sourceMedia(ctx.deps, ctx.app.subAppId, p.FileId);
  checkFields(output, { MediaName: maxLength(64), Description: maxLength(128) }, "OutputConfig.");
  const input: RebuildInput = { ...plan, FileId: media.fileId, output: output ?? {}, fileId: newFileId() };
  return submitTask(ctx.deps, {
    appId: ctx.app.subAppId,
    taskType,
    fileId: media.fileId,
    priority: p.TasksPriority,
    sessionId: p.SessionId,
    sessionContext: p.SessionContext,
    input: input as unknown as Record<string, unknown>,
  });
}

/** The plan of a rebuild template (RebuildMedia or EnhanceMedia family). */
async function templatePlan(
  ctx: ActionContext<RebuildAction>,
  family: "RebuildMedia" | "EnhanceMedia",
  definition: number,
): Promise<Omit<RebuildInput, "FileId" | "fileId" | "output">> {
  const t = await findTemplate(ctx.deps, ctx.app.subAppId, family, definition);
  if (!t)
    throw errors.invalidParameterValue("Definition", `The ${family} template ${definition} does not exist.`);
  const p = ctx.params as Record<string, any>;
  return {
    Definition: definition,
    StartTimeOffset: p.StartTimeOffset,
    EndTimeOffset: p.EndTimeOffset,
    video: t.RebuildVideoInfo ?? {},
    audio: t.RebuildAudioInfo ?? {},
    target: rebuildTranscodeTemplate({
      Container: t.Container,
      VideoStream: t.TargetVideoInfo,
      AudioStream: t.TargetAudioInfo,
      RemoveVideo: t.RemoveVideo,
      RemoveAudio: t.RemoveAudio,
    }),
    shown: { Definition: definition, StartTimeOffset: p.StartTimeOffset, EndTimeOffset: p.EndTimeOffset },
  };
}

/** A rebuild whose filters and target come from a template of `family`. */
function byTemplate(family: "RebuildMedia" | "EnhanceMedia", taskType: "RebuildMedia" | "QualityEnhance") {
  return async (
    ctx: ActionContext<"RebuildMediaByTemplate" | "EnhanceMediaByTemplate" | "EnhanceMediaQuality">,
  ) => {
    const plan = await templatePlan(ctx, family, ctx.params.Definition);
    return { TaskId: await queueRebuild(ctx, taskType, plan, ctx.params.OutputConfig) };
  };
}

const REBUILD_NOTES =
  "A new media item through ffmpeg filters (deblock, deband, hqdn3d/nlmeans, eq, unsharp, lanczos 2x upscaling: not a neural model, minterpolate, afftdn) re-encoded to the target; FaceInfo, ScratchRepairInfo, HDRInfo and hls outputs refused";

export const qualityActions: ActionFamily = {
  RemoveWatermark: {
    notes:
      "Finds a static logo or caption box (static sharp edges over a changing picture, 16 sampled frames) and removes it with delogo into a new media item (mp4, H.264/AAC); Message says what was removed, or why nothing was (no overlay found, a picture that barely moves) without a new file",
    async handler(ctx) {
      const p = ctx.params;
      const media = await sourceMedia(ctx.deps, ctx.app.subAppId, p.FileId);
      const TaskId = await submitTask(ctx.deps, {
        appId: ctx.app.subAppId,
        taskType: "RemoveWatermarkTask",
        fileId: media.fileId,
        priority: p.TasksPriority,
        sessionId: p.SessionId,
        sessionContext: p.SessionContext,
        input: { FileId: media.fileId, fileId: newFileId() },
      });
      return { TaskId };
    },
  },
  RebuildMedia: {
    notes: REBUILD_NOTES,
    async handler(ctx) {
      const p = ctx.params as Record<string, any>;
      const video: TemplateBody = Object.fromEntries(REBUILD_VIDEO_FIELDS.map((f) => [f, p[f]]));
      const audio: TemplateBody = { AudioDenoiseInfo: p.AudioDenoiseInfo };
      rebuildFilters(video, audio);
      const target = p.TargetInfo ?? {};
      checkRebuildTarget(target, "TargetInfo.");
      const shown = Object.fromEntries(
        ["StartTimeOffset", "EndTimeOffset", ...REBUILD_VIDEO_FIELDS, "AudioDenoiseInfo", "TargetInfo"]
          .filter((f) => p[f] !== undefined)
          .map((f) => [f, p[f]]),
      );
      const TaskId = await queueRebuild(
        ctx,
        "RebuildMedia",
        {
          StartTimeOffset: p.StartTimeOffset,
          EndTimeOffset: p.EndTimeOffset,
          video,
          audio,
          target: rebuildTranscodeTemplate(target),
          shown,
        },
        target,
      );
      return { TaskId };
    },
  },
  RebuildMediaByTemplate: {
    notes: "RebuildMedia with a RebuildMedia template (preset 100 or custom)",
    handler: byTemplate("RebuildMedia", "RebuildMedia"),
  },
  EnhanceMediaByTemplate: {
    notes: "RebuildMedia (TaskType) with an EnhanceMedia template (preset 100 or custom)",
    handler: byTemplate("EnhanceMedia", "RebuildMedia"),
  },
  EnhanceMediaQuality: {
    notes:
      "QualityEnhance task with an EnhanceMedia template (openvod's preset 100: denoise, sharpen, colour, audio denoise; or custom): a new media item; MediaStoragePath refused",
    handler: byTemplate("EnhanceMedia", "QualityEnhance"),
  },
  InspectMediaQuality: {
    notes:
      "One ffmpeg pass (signalstats, freezedetect, blurdetect, bitplanenoise, cropdetect, astats) over the file for the template's checks; spans in QualityInspectResultSet, frozen picture (VideoDuplicatedFrame) and missing streams in ContainerDiagnoseResultSet; no scores (QualityEvaluationScore needs a model)",
    async handler(ctx) {
      const p = ctx.params;
      const media = await sourceMedia(ctx.deps, ctx.app.subAppId, p.FileId);
      const template = await findTemplate(ctx.deps, ctx.app.subAppId, "QualityInspect", p.Definition);
      if (!template)
        throw errors.invalidParameterValue(
          "Definition",
          `The QualityInspect template ${p.Definition} does not exist.`,
        );
      const TaskId = await submitTask(ctx.deps, {
        appId: ctx.app.subAppId,
        taskType: "QualityInspect",
        fileId: media.fileId,
        priority: p.TasksPriority,
        sessionId: p.SessionId,
        sessionContext: p.SessionContext,
        input: { FileId: media.fileId, Definition: p.Definition },
      });
      return { TaskId };
    },
  },
};
