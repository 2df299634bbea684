// DescribeFileAttributes: MD5 and SHA-1 of the original file, streamed in one pass.
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { FileAttributesState } from "../domain/tasktypes/fileAttributes.js";
import { TaskErrCode, TaskFailure } from "../protocol/errors.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";

export async function runFileAttributes(ctx: TaskContext): Promise<TaskResult> {
  const { task, deps } = ctx;
  const media = await deps.store.getMedia(task.appId, task.fileId);
  const stat = media && (await deps.blobs.stat(media.blobKey));
  if (!media || !stat) {
    throw new TaskFailure(TaskErrCode.sourceFile, "SourceFileError", "The media file no longer exists.");
  }
  const md5 = createHash("md5");
  const sha1 = createHash("sha1");
  let read = 0;
  // With object storage: a copy downloaded into the local cache, held while hashing.
  const copy = await deps.blobs.openLocal(media.blobKey);
  try {
    // Plain reads into one buffer (no stream machinery per chunk): big reads for big files,
    // one read (and the one that sees the end) for a small one.
    const file = await open(copy.path, "r");
    try {
      const buf = Buffer.allocUnsafe(Math.max(64 * 1024, Math.min(1024 * 1024, stat.size + 1)));
      for (;;) {
        ctx.signal.throwIfAborted();
        const { bytesRead } = await file.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        md5.update(chunk);
        sha1.update(chunk);
        read += bytesRead;
        if (stat.size > 0) ctx.update({ progress: Math.floor((read / stat.size) * 99) });
      }
    } finally {
      await file.close();
    }
  } finally {
    copy.release();
  }
  const output = { Md5: md5.digest("hex"), Sha1: sha1.digest("hex") };
  const state: FileAttributesState = { progress: 100, output };
  ctx.state = state as Record<string, unknown>;
  return {
    effects: { mergeMetaData: { appId: task.appId, fileId: task.fileId, patch: { Md5: output.Md5 } } },
  };
}
