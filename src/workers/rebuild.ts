// RebuildMedia and EnhanceMediaQuality: the source re-encoded through the rebuild's ffmpeg
// filters (src/domain/templates/rebuild.ts) into the target streams, stored as a new media item.
import { join } from "node:path";
import { rebuildFilters } from "../domain/templates/rebuild.js";
import type { MediaOutputState } from "../domain/tasktypes/mediaOutput.js";
import type { RebuildInput } from "../domain/tasktypes/rebuildMedia.js";
import { containerExtension, transcode } from "../media/jobs/index.js";
import { TaskErrCode, TaskFailure } from "../protocol/errors.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";
import { storeNewMedia, withMediaSource } from "./mediaJob.js";

export async function runRebuild(ctx: TaskContext): Promise<TaskResult> {
  const input = ctx.task.input as unknown as RebuildInput;
  const filters = rebuildFilters(input.video, input.audio);
  const ext = containerExtension(String(input.target.Container));
  return withMediaSource(ctx, input.FileId, async (src, job) => {
    if (filters.videoFilters.length && src.probed.metaData.VideoStreamSet.length === 0)
      throw new TaskFailure(
        TaskErrCode.badParameter,
        "InvalidParameter",
        "The source has no video stream for the picture switches of this rebuild.",
      );
    const out = join(ctx.tmpDir, `out.${ext}`);
    const { probed } = await transcode(job, src.file, out, input.target, {
      startTimeOffset: input.StartTimeOffset,
      endTimeOffset: input.EndTimeOffset,
      sourceDuration: src.probed.metaData.Duration,
      ...filters,
    });
    const media = await storeNewMedia(ctx, {
      fileId: input.fileId,
      file: out,
      ext,
      probed,
      source: src.media,
      name: input.output.MediaName,
      description: input.output.Description,
      classId: input.output.ClassId,
      expireTime: input.output.ExpireTime,
    });
    const state: MediaOutputState = { progress: 100, media };
    ctx.state = state as Record<string, unknown>;
    return { effects: { insertMedia: [media] } };
  });
}
