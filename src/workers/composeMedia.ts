// ComposeMedia: the timeline rendered by one ffmpeg run (src/media/jobs/composeMedia.ts); the new
// item is written with the task's finish.
import type { Deps } from "../domain/deps.js";
import type { ComposeMediaInput, ComposeMediaState } from "../domain/tasktypes/composeMedia.js";
import { composeMedia } from "../media/jobs/composeMedia.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";
import type { TaskRow } from "../store/types.js";
import { discardItems, jobContext, openSources, produceItem, runJob } from "./newMedia.js";

export async function runComposeMedia(ctx: TaskContext): Promise<TaskResult> {
  const input = ctx.task.input as unknown as ComposeMediaInput;
  const out = input.Output;
  const sources = await openSources(ctx, input.sources);
  try {
    const media = await produceItem(
      ctx,
      {
        fileId: input.fileId,
        container: out.Container === "mp3" ? "mp3" : "mp4",
        name: out.FileName,
        description: out.Description,
        classId: out.ClassId,
        expireTime: out.ExpireTime,
      },
      async (output) =>
        (await runJob(() => composeMedia(jobContext(ctx), input, (id) => sources.path(id), output))).probed,
    );
    const state: ComposeMediaState = { progress: 100, media };
    ctx.state = state as Record<string, unknown>;
    return { effects: { insertMedia: [media] } };
  } finally {
    sources.release();
  }
}

export const discardComposeMedia = (deps: Deps, task: TaskRow) =>
  discardItems(deps, task, [(task.input as unknown as ComposeMediaInput).fileId]);
