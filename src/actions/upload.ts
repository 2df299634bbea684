// Media ingest: PullUpload queues a task that downloads, probes and stores the file.
import { newFileId, isoTime } from "../domain/ids.js";
import { submitTask } from "../domain/tasks.js";
import { findTemplate } from "../domain/templates/index.js";
import { checkUrl, DownloadError } from "../net/download.js";
import { ApiError, errors } from "../protocol/errors.js";
import { isoParam } from "./media.js";
import type { ActionFamily } from "./types.js";

function checkPullUrl(url: string, sub: string): void {
  try {
    checkUrl(url);
  } catch (err) {
    if (err instanceof DownloadError) throw errors.invalidParameterValue(sub, err.message);
    throw err;
  }
}

export const uploadActions: ActionFamily = {
  PullUpload: {
    notes:
      "http(s) URLs, streamed with size and time limits, probed by ffprobe; CoverUrl; Procedure starts on the new file; HLS/DASH sources refused",
    async handler(ctx) {
      const p = ctx.params;
      checkPullUrl(p.MediaUrl, "MediaUrl");
      if (/\.(m3u8|mpd)$/i.test(new URL(p.MediaUrl).pathname) || /^(m3u8|mpd)$/i.test(p.MediaType ?? "")) {
        throw errors.invalidParameterValue(
          "MediaUrl",
          "Streaming manifests (HLS, DASH) cannot be pulled by openvod yet.",
        );
      }
      if (p.CoverUrl) checkPullUrl(p.CoverUrl, "CoverUrl");
      if (p.Procedure && !(await findTemplate(ctx.deps, ctx.app.subAppId, "Procedure", p.Procedure))) {
        throw new ApiError(
          "InvalidParameter.ProcedureNameNotExist",
          `The procedure ${p.Procedure} does not exist.`,
        );
      }
      if (p.MediaStoragePath) {
        throw errors.unsupportedOperation(
          "MediaStoragePath needs an application in FileID+Path mode, which openvod does not offer.",
        );
      }
      const expireMs = p.ExpireTime ? isoParam(p.ExpireTime) : undefined;
      if (p.ExpireTime && expireMs === undefined) {
        throw errors.invalidParameterValue("ExpireTime", "ExpireTime is not an ISO 8601 time.");
      }
      if (p.MediaName && p.MediaName.length > 64)
        throw errors.invalidParameterValue("MediaName", "MediaName is longer than 64 characters.");
      if (p.SourceContext && p.SourceContext.length > 250) {
        throw errors.invalidParameterValue("SourceContext", "SourceContext is longer than 250 characters.");
      }
      const TaskId = await submitTask(ctx.deps, {
        appId: ctx.app.subAppId,
        taskType: "PullUpload",
        priority: p.TasksPriority,
        sessionId: p.SessionId,
        sessionContext: p.SessionContext,
        input: {
          MediaUrl: p.MediaUrl,
          MediaType: p.MediaType,
          MediaName: p.MediaName,
          CoverUrl: p.CoverUrl,
          // Kept as the cloud prints times (UTC, whole seconds), whatever offset was sent.
          ExpireTime: expireMs === undefined ? undefined : isoTime(expireMs),
          StorageRegion: p.StorageRegion,
          ClassId: p.ClassId,
          SourceContext: p.SourceContext,
          Procedure: p.Procedure,
          fileId: newFileId(),
        },
      });
      return { TaskId };
    },
  },
};
