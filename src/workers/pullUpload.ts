// PullUpload: download the URL, probe it, and store it as a new media item. The media row is
// written in the same transaction that finishes the task, so a crash never leaves half a pull.
import { extname, join } from "node:path";
import { blobKey } from "../blobs/types.js";
import { newFileId } from "../domain/ids.js";
import { ingestedMedia } from "../domain/media.js";
import type { PullState } from "../domain/tasktypes/pullUpload.js";
import { probeMedia } from "../media/probe.js";
import { asTaskFailure } from "./failures.js";
import { download, DownloadError } from "../net/download.js";
import { procedureTaskFor } from "../domain/ingest.js";
import { TaskErrCode, TaskFailure } from "../protocol/errors.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";
import type { Deps } from "../domain/deps.js";
import type { TaskRow } from "../store/types.js";
import { discardItems } from "./newMedia.js";

/** Share of the progress bar the download takes; probing and storing take the rest. */
const DOWNLOAD_SHARE = 90;
const COVER_MAX_BYTES = 20 * 1024 * 1024;

export interface PullInput {
  MediaUrl: string;
  MediaType?: string;
  MediaName?: string;
  CoverUrl?: string;
  ExpireTime?: string;
  StorageRegion?: string;
  ClassId?: number;
  SourceContext?: string;
  Procedure?: string;
  /** The FileId the new media item gets, fixed when the task is submitted. */
  fileId?: string;
}

/** A safe file extension: the given MediaType, else the probed format. */
function extension(input: PullInput, formatName: string): string {
  const ext = (input.MediaType || formatName).toLowerCase().replace(/[^a-z0-9]/g, "");
  return ext || "bin";
}

function nameFromUrl(url: string): string {
  try {
    const base = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
    return base.slice(0, base.length - extname(base).length) || "media";
  } catch {
    return "media";
  }
}

async function fetchTo(
  ctx: TaskContext,
  url: string,
  dest: string,
  maxBytes: number,
  share: number,
): Promise<void> {
  const { config } = ctx.deps;
  try {
    await download(url, dest, {
      maxBytes,
      timeoutMs: config.pullTimeoutMs,
      allowPrivate: config.allowPrivateUrls,
      signal: ctx.signal,
      onProgress: (got, total) => {
        if (total) ctx.update({ progress: Math.floor((got / total) * share) });
      },
    });
  } catch (err) {
    if (err instanceof DownloadError) {
      throw new TaskFailure(
        err.badRequest ? TaskErrCode.badParameter : TaskErrCode.sourceFile,
        err.badRequest ? "InvalidParameterValue.MediaUrl" : "SourceFileError",
        err.message,
      );
    }
    throw err;
  }
}

/** An aborted pull stored the file (and cover) of an item that will never exist: removed. */
export async function discardPullUpload(deps: Deps, task: TaskRow): Promise<void> {
  const fileId = (task.input as unknown as PullInput).fileId;
  if (fileId) await discardItems(deps, task, [fileId]);
}

export async function runPullUpload(ctx: TaskContext): Promise<TaskResult> {
  const { task, deps } = ctx;
  const input = task.input as unknown as PullInput;
  const { config, tools, blobs } = deps;

  const raw = join(ctx.tmpDir, "source");
  await fetchTo(ctx, input.MediaUrl, raw, config.pullMaxBytes, DOWNLOAD_SHARE);
  ctx.update({ progress: DOWNLOAD_SHARE });
  const probed = await asTaskFailure(probeMedia(tools, raw, undefined, undefined, "file of MediaUrl"));

  // Chosen at submission: a re-run after a crash writes the same keys instead of leaving orphans.
  const fileId = input.fileId ?? newFileId();
  const key = blobKey(task.appId, fileId, `f0.${extension(input, probed.formatName)}`);
  let coverKey = "";
  if (input.CoverUrl) {
    const coverRaw = join(ctx.tmpDir, "cover");
    await fetchTo(ctx, input.CoverUrl, coverRaw, COVER_MAX_BYTES, 0);
    const cover = await asTaskFailure(
      probeMedia(tools, coverRaw, undefined, undefined, "cover image of CoverUrl"),
    );
    if (cover.category !== "Image") {
      throw new TaskFailure(
        TaskErrCode.badParameter,
        "InvalidParameterValue.CoverUrl",
        "CoverUrl is not an image.",
      );
    }
    coverKey = blobKey(task.appId, fileId, `cover.${cover.formatName.replace(/[^a-z0-9]/g, "") || "jpg"}`);
    await blobs.putFile(coverKey, coverRaw);
  }
  await blobs.putFile(key, raw);

  const now = deps.now();
  const media = ingestedMedia(
    {
      fileId,
      appId: task.appId,
      name: input.MediaName || nameFromUrl(input.MediaUrl),
      classId: input.ClassId,
      type: extension(input, probed.formatName),
      category: probed.category,
      blobKey: key,
      coverKey,
      metaData: probed.metaData as unknown as Record<string, unknown>,
      sourceContext: input.SourceContext,
      storageRegion: input.StorageRegion || "ap-guangzhou",
      expireTime: input.ExpireTime,
    },
    now,
  );
  const procedure = input.Procedure
    ? await procedureTaskFor(deps, {
        appId: task.appId,
        media,
        procedure: input.Procedure,
        priority: task.priority,
        sessionContext: task.sessionContext,
      })
    : undefined;
  const state: PullState = { progress: 100, media, procedureTaskId: procedure?.taskId ?? "" };
  ctx.state = state as Record<string, unknown>;
  return { effects: { insertMedia: [media], insertTasks: procedure ? [procedure] : [] } };
}
