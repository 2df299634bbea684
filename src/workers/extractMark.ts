// ExtractTraceWatermark, ExtractCopyRightWatermark and ExtractBlindWatermark: the file (an
// openvod file URL read from blob storage, or any other URL downloaded through the outbound
// client) is decoded into small grey frames and correlated with the application's key of the
// kind (src/media/jobs/extractMark.ts). A mark found gives its payload: the Uv of a trace
// mark, or the text a copyright / blind payload was registered for. Nothing found is a
// finished task that says so, never a guess.
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { LocalBlob } from "../blobs/types.js";
import { markKey, payloadText, payloadUv, type MarkKind } from "../domain/digitalMarks.js";
import type { ExtractMarkInput, ExtractMarkState } from "../domain/tasktypes/extractMarks.js";
import * as jobs from "../media/jobs/index.js";
import { DownloadError, download } from "../net/download.js";
import { TaskErrCode, TaskFailure } from "../protocol/errors.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";
import { taskFailureOf } from "./failures.js";
import { jobContext } from "./newMedia.js";

/** The largest file a URL outside openvod may bring (bytes). */
const MAX_DOWNLOAD = 4 * 1024 ** 3;

async function localFile(
  ctx: TaskContext,
  input: ExtractMarkInput,
): Promise<{ path: string; copy?: LocalBlob }> {
  const { deps } = ctx;
  if (input.blobKey) {
    if (!(await deps.blobs.stat(input.blobKey)))
      throw new TaskFailure(TaskErrCode.sourceFile, "SourceFileError", "The file no longer exists.");
    const copy = await deps.blobs.openLocal(input.blobKey);
    return { path: copy.path, copy };
  }
  const dest = join(ctx.tmpDir, "source");
  try {
    await download(input.url, dest, {
      maxBytes: MAX_DOWNLOAD,
      timeoutMs: deps.config.pullTimeoutMs,
      allowPrivate: deps.config.allowPrivateUrls,
      signal: ctx.signal,
    });
  } catch (err) {
    if (err instanceof DownloadError)
      throw new TaskFailure(
        err.badRequest ? TaskErrCode.badParameter : TaskErrCode.sourceFile,
        err.badRequest ? "InvalidParameterValue.Url" : "SourceFileError",
        err.message,
      );
    throw err;
  }
  // A playlist from elsewhere would make ffmpeg fetch what it lists: only media files are read.
  const head = Buffer.alloc(16);
  const fd = await open(dest, "r");
  try {
    await fd.read(head, 0, head.length, 0);
  } finally {
    await fd.close();
  }
  if (/^\s*#EXTM3U/.test(head.toString("latin1")))
    throw new TaskFailure(
      TaskErrCode.badParameter,
      "InvalidParameterValue.Url",
      "HLS playlists are read from openvod's own file URLs only; give the URL of a media file.",
    );
  return { path: dest };
}

export async function runExtractMark(ctx: TaskContext): Promise<TaskResult> {
  const input = ctx.task.input as unknown as ExtractMarkInput;
  const kind: MarkKind = input.kind;
  const { deps } = ctx;
  const file = await localFile(ctx, input);
  try {
    const [d] = await jobs.extractMark(jobContext(ctx), file.path, [markKey(deps, ctx.task.appId, kind)]);
    let state: ExtractMarkState = { progress: 100, detected: false, score: d!.score, seconds: d!.seconds };
    if (d!.payload !== undefined) {
      const value =
        kind === "Trace" ? payloadUv(d!.payload) : await payloadText(deps, ctx.task.appId, kind, d!.payload);
      if (value !== undefined) state = { ...state, detected: true, value, confidence: d!.confidence };
    }
    ctx.state = state as unknown as Record<string, unknown>;
    return {};
  } catch (err) {
    throw taskFailureOf(err) ?? err;
  } finally {
    file.copy?.release();
  }
}
