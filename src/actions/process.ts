// Media processing: ProcessMedia and ProcessMediaByProcedure queue a Procedure task whose
// sub-tasks run with ffmpeg (src/workers/procedure.ts).
import { prepareProcedure } from "../domain/procedure.js";
import { submitTask } from "../domain/tasks.js";
import { findTemplate } from "../domain/templates/index.js";
import { errors } from "../protocol/errors.js";
import type { ActionContext, ActionFamily } from "./types.js";

/**
 * AiRecognitionTask (OCR) and AiContentReviewTask (porn pictures, keyword review) run with the
 * models of the optional AI packages, AiAnalysisTask's cover selection with ffmpeg; what needs
 * models openvod does not have is refused by name (the templates refuse their items), never faked.
 */
function refuseAi(p: Record<string, any>): void {
  if (p.AiRecognitionTaskSet?.length) {
    throw errors.invalidParameterValue(
      "AiRecognitionTaskDefinition",
      "AiRecognitionTaskSet: openvod runs AI recognition only as ProcessMedia's AiRecognitionTask.",
    );
  }
  if (p.ReviewAudioVideoTask)
    throw errors.unsupportedOperation("ReviewAudioVideoTask in a procedure: use ReviewAudioVideo instead.");
  if (p.ImportMediaKnowledgeTaskSet?.length)
    throw errors.unsupportedOperation("openvod has no media knowledge base.");
}

async function queueProcedure(
  ctx: ActionContext<"ProcessMedia" | "ProcessMediaByProcedure">,
  mediaProcessTask: Record<string, any> | undefined,
  ai?: Record<string, any>,
): Promise<string> {
  const p = ctx.params;
  if (p.MediaStoragePath) {
    throw errors.unsupportedOperation(
      "MediaStoragePath needs an application in FileID+Path mode, which openvod does not offer.",
    );
  }
  if (!p.FileId) throw errors.missingParameter("The parameter `FileId` is missing.");
  const media = await ctx.deps.store.getMedia(ctx.app.subAppId, p.FileId);
  if (!media) throw errors.invalidParameterValue("FileId", `The file ${p.FileId} does not exist.`);
  const input = await prepareProcedure(ctx.deps, {
    appId: ctx.app.subAppId,
    media,
    mediaProcessTask,
    ai,
    tasksNotifyMode: p.TasksNotifyMode,
    extInfo: "ExtInfo" in p ? p.ExtInfo : undefined,
  });
  return submitTask(ctx.deps, {
    appId: ctx.app.subAppId,
    taskType: "Procedure",
    fileId: media.fileId,
    priority: p.TasksPriority,
    sessionId: p.SessionId,
    sessionContext: p.SessionContext,
    input: input as unknown as Record<string, unknown>,
  });
}

export const processActions: ActionFamily = {
  ProcessMedia: {
    notes:
      'Transcode, AnimatedGraphic, SnapshotByTimeOffset, SampleSnapshot, ImageSprite, CoverBySnapshot, AdaptiveDynamicStreaming (HLS, DASH) with image/text watermarks and invisible trace (Uv from ExtInfo {"Uv"}), copyright and blind watermarks on transcodes, for real with ffmpeg; AiRecognitionTask (OCR) and AiContentReviewTask (porn pictures, keyword review) with the optional AI packages, AiAnalysisTask CoverConfigure (ffmpeg); the other analysis items, digital watermarks on adaptive streaming, mosaics, head/tail, subtitles, Url input and OutputAsIndependentMedia refused',
    async handler(ctx) {
      const p = ctx.params;
      refuseAi(p);
      if (p.Url)
        throw errors.unsupportedOperation(
          "ProcessMedia with Url is not supported; PullUpload with Procedure instead.",
        );
      if (p.OutputAsIndependentMedia === "ON") {
        throw errors.unsupportedOperation("OutputAsIndependentMedia is not supported by openvod yet.");
      }
      return { TaskId: await queueProcedure(ctx, p.MediaProcessTask, p) };
    },
  },

  ProcessMediaByProcedure: {
    notes:
      "Runs a preset (LongVideoPreset...) or custom procedure template's MediaProcessTask and its AI tasks (AiRecognitionTask, AiContentReviewTask, AiAnalysisTask)",
    async handler(ctx) {
      const template = await findTemplate(ctx.deps, ctx.app.subAppId, "Procedure", ctx.params.ProcedureName);
      if (!template) {
        throw errors.procedureNameNotExist(`The procedure ${ctx.params.ProcedureName} does not exist.`);
      }
      refuseAi(template);
      return {
        TaskId: await queueProcedure(ctx, template.MediaProcessTask ?? undefined, template),
        ReviewAudioVideoTaskId: "",
      };
    },
  },
};
