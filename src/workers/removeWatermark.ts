// RemoveWatermark: find the static overlay; when there is one, delogo it into a new media item
// (same container family, H.264/AAC); when there is none, the task ends saying why, with no file.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { MediaOutputState } from "../domain/tasktypes/mediaOutput.js";
import { findOverlay, removeOverlay } from "../media/jobs/index.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";
import { storeNewMedia, withMediaSource } from "./mediaJob.js";

export interface RemoveWatermarkInput {
  FileId: string;
  /** The new item's FileId, fixed at submission. */
  fileId: string;
}

export async function runRemoveWatermark(ctx: TaskContext): Promise<TaskResult> {
  const input = ctx.task.input as unknown as RemoveWatermarkInput;
  return withMediaSource(ctx, input.FileId, async (src, job) => {
    const scratch = join(ctx.tmpDir, "wm");
    await mkdir(scratch, { recursive: true });
    const found = await findOverlay(job, src.file, scratch);
    if (!found.box) {
      ctx.state = { progress: 100, message: `Nothing was removed: ${found.reason}.` };
      return {};
    }
    const { x, y, w, h } = found.box;
    const out = join(ctx.tmpDir, "out.mp4");
    const { probed } = await removeOverlay(
      job,
      src.file,
      out,
      { Container: "mp4" },
      found.box,
      src.probed.metaData.Duration,
    );
    const media = await storeNewMedia(ctx, {
      fileId: input.fileId,
      file: out,
      ext: "mp4",
      probed,
      source: src.media,
    });
    const area = [x, y, x + w - 1, y + h - 1];
    const state: MediaOutputState & { message: string } = {
      progress: 100,
      media,
      message: `Removed a static overlay at [${area.join(", ")}] (x1, y1, x2, y2) with delogo.`,
    };
    ctx.state = state as unknown as Record<string, unknown>;
    return { effects: { insertMedia: [media] } };
  });
}
