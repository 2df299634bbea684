// Content review: ReviewAudioVideo (a task) and ReviewImage (answered at once). Both use a
// Review template (preset 10 or custom): Porn pictures with nsfwjs, keyword review of the OCR
// text with the application's word samples (usage Review.Ocr); both need the AI packages.
import { findTemplate } from "../domain/templates/index.js";
import { submitTask } from "../domain/tasks.js";
import { aiMissingMessage } from "../media/ai/engine.js";
import { processCpus } from "../media/cpus.js";
import { errors } from "../protocol/errors.js";
import { reviewPicture } from "../workers/reviewAudioVideo.js";
import { taskFailureOf } from "../workers/failures.js";
import { sourceMedia } from "./quality.js";
import type { ActionContext, ActionFamily } from "./types.js";
import type { Deps } from "../domain/deps.js";

/** ReviewImage's limit, as the cloud documents it. */
const IMAGE_MAX_BYTES = 5 * 1024 * 1024;

async function reviewTemplate(deps: Deps, appId: number, definition: number) {
  const t = await findTemplate(deps, appId, "Review", definition);
  if (!t)
    throw errors.invalidParameterValue("Definition", `The review template ${definition} does not exist.`);
  return t;
}

function requireModels(item: string): void {
  const missing = aiMissingMessage(item, "ocr") ?? aiMissingMessage(item, "porn");
  if (missing) throw errors.unsupportedOperation(missing);
}

/** What both actions check first: the models are installed, and the item exists. */
async function mediaToReview(ctx: ActionContext<"ReviewAudioVideo" | "ReviewImage">, action: string) {
  requireModels(action);
  if (ctx.params.MediaStoragePath)
    throw errors.unsupportedOperation(
      "MediaStoragePath needs FileID+Path mode, which openvod does not offer.",
    );
  return sourceMedia(ctx.deps, ctx.app.subAppId, ctx.params.FileId);
}

export const reviewActions: ActionFamily = {
  ReviewAudioVideo: {
    notes:
      "A ReviewAudioVideo task: frames every second through nsfwjs (Porn: review at 0.6, block at 0.9) and PaddleOCR against the word samples of usage Review.Ocr (block), ReviewContents Media and Cover; no ASR/voice review, no Terror/Polity pictures; needs the optional AI packages",
    async handler(ctx) {
      const p = ctx.params;
      const media = await mediaToReview(ctx, "ReviewAudioVideo");
      const definition = p.Definition ?? 10;
      await reviewTemplate(ctx.deps, ctx.app.subAppId, definition);
      const contents = p.ReviewContents?.length ? [...new Set(p.ReviewContents)] : ["Media"];
      for (const c of contents)
        if (c !== "Media" && c !== "Cover")
          throw errors.invalidParameterValue("ReviewContents", `ReviewContents: ${c} is not Media or Cover.`);
      const TaskId = await submitTask(ctx.deps, {
        appId: ctx.app.subAppId,
        taskType: "ReviewAudioVideo",
        fileId: media.fileId,
        priority: p.TasksPriority,
        sessionId: p.SessionId,
        sessionContext: p.SessionContext,
        input: { FileId: media.fileId, Definition: definition, ReviewContents: contents },
      });
      return { TaskId };
    },
  },
  ReviewImage: {
    notes:
      "Answered at once for an image item (≤ 5 MB): nsfwjs Porn score (review/block bands) and keyword review of its OCR text; MediaReviewResult only (ReviewResultSet is deprecated); needs the optional AI packages",
    async handler(ctx) {
      const p = ctx.params;
      const media = await mediaToReview(ctx, "ReviewImage");
      const template = await reviewTemplate(ctx.deps, ctx.app.subAppId, p.Definition);
      const size = Number((media.metaData as Record<string, unknown>).Size ?? 0);
      if (media.category !== "Image" || !media.blobKey)
        throw errors.invalidParameterValue("FileId", `The file ${media.fileId} is not an image.`);
      if (size > IMAGE_MAX_BYTES)
        throw errors.invalidParameterValue("FileId", `The image ${media.fileId} is larger than 5 MB.`);
      const copy = await ctx.deps.blobs.openLocal(media.blobKey);
      try {
        const timeoutMs = 60_000;
        const result = await reviewPicture(
          {
            tools: ctx.deps.tools,
            signal: AbortSignal.timeout(timeoutMs),
            timeoutMs,
            cpus: processCpus(ctx.deps.config.cpus),
            onProgress: () => {},
          },
          copy.path,
          ctx.deps,
          ctx.app.subAppId,
          template,
        );
        return { ReviewResultSet: [], MediaReviewResult: result };
      } catch (err) {
        const f = taskFailureOf(err);
        if (f) throw errors.failedOperation(undefined, f.message);
        throw err;
      } finally {
        copy.release();
      }
    },
  },
};
