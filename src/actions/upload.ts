// Media ingest: PullUpload queues a task that downloads, probes and stores the file;
// ApplyUpload/CommitUpload are the upload flow of the official upload SDKs (the COS endpoint
// that receives the files in between is src/cos/routes.ts).
import { newFileId, isoTime } from "../domain/ids.js";
import { submitTask } from "../domain/tasks.js";
import {
  commitUpload,
  COVER_TYPES,
  createUploadSession,
  DEFAULT_STORAGE_REGION,
  MANIFEST_TYPES,
  MEDIA_TYPES,
  STORAGE_REGION,
} from "../domain/uploads.js";
import { findTemplate } from "../domain/templates/index.js";
import { checkUrl, OutboundError } from "../net/http.js";
import { errors } from "../protocol/errors.js";
import { isoParam } from "./media.js";
import type { ActionContext, ActionFamily } from "./types.js";

function checkPullUrl(url: string, sub: string): void {
  try {
    checkUrl(url);
  } catch (err) {
    if (err instanceof OutboundError) throw errors.invalidParameterValue(sub, err.message);
    throw err;
  }
}

/**
 * The parameters PullUpload and ApplyUpload share: Procedure, MediaStoragePath, ExpireTime,
 * MediaName, SourceContext. Returns ExpireTime in milliseconds (undefined when absent).
 */
async function checkIngestParams(
  ctx: ActionContext<"PullUpload" | "ApplyUpload">,
): Promise<number | undefined> {
  const p = ctx.params;
  if (p.Procedure && !(await findTemplate(ctx.deps, ctx.app.subAppId, "Procedure", p.Procedure))) {
    throw errors.procedureNameNotExist(`The procedure ${p.Procedure} does not exist.`);
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
  return expireMs;
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
      const expireMs = await checkIngestParams(ctx);
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
  ApplyUpload: {
    notes:
      "Temporary COS credentials for exactly the media and cover keys (OPENVOD_UPLOAD_SESSION_TTL_SEC); openvod itself is the COS endpoint (PutObject, multipart, HeadObject); media types ffmpeg reads, HLS/DASH refused; Procedure, ClassId, ExpireTime, SourceContext, SessionContext kept for the commit",
    async handler(ctx) {
      const p = ctx.params;
      const mediaType = String(p.MediaType).toLowerCase();
      if (MANIFEST_TYPES.has(mediaType)) {
        throw errors.failedOperation(
          "MediaType",
          "Streaming manifests (HLS, DASH) cannot be uploaded to openvod yet.",
        );
      }
      if (!MEDIA_TYPES.has(mediaType)) {
        throw errors.failedOperation("MediaType", `The media type ${p.MediaType} is not supported.`);
      }
      if (p.CoverType && !COVER_TYPES.has(String(p.CoverType).toLowerCase())) {
        throw errors.failedOperation("CoverType", `The cover type ${p.CoverType} is not supported.`);
      }
      const region = p.StorageRegion || DEFAULT_STORAGE_REGION;
      if (!STORAGE_REGION.test(region) || region.startsWith("cos.")) {
        throw errors.invalidStorageRegion(`The storage region ${region} is not valid.`);
      }
      const expireMs = await checkIngestParams(ctx);
      if (p.SessionContext && p.SessionContext.length > 1000) {
        throw errors.invalidParameterValue(
          "SessionContextTooLong",
          "SessionContext is longer than 1000 characters.",
        );
      }
      return {
        ...(await createUploadSession(ctx.deps, ctx.app.subAppId, {
          MediaType: mediaType,
          MediaName: p.MediaName,
          CoverType: p.CoverType,
          Procedure: p.Procedure,
          ExpireTime: expireMs === undefined ? undefined : isoTime(expireMs),
          StorageRegion: region,
          ClassId: p.ClassId,
          SourceContext: p.SourceContext,
          SessionContext: p.SessionContext,
        })),
      };
    },
  },
  CommitUpload: {
    notes:
      "Probes the uploaded file with ffprobe (not media: FailedOperation, file removed), stores it with its cover (must be an image), starts the Procedure, emits NewFileUpload; a second commit or an unknown or expired key: InvalidParameterValue.VodSessionKey",
    async handler(ctx) {
      return { ...(await commitUpload(ctx.deps, ctx.app.subAppId, ctx.params.VodSessionKey)) };
    },
  },
};
