// EditMedia: the parts cut and joined by one ffmpeg run (src/media/jobs/editMedia.ts); the new
// item and the Procedure it names are written with the task's finish.
import type { EditMediaInput, EditMediaState } from "../domain/tasktypes/editMedia.js";
import { editMedia } from "../media/jobs/editMedia.js";
import type { Deps } from "../domain/deps.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";
import type { TaskRow } from "../store/types.js";
import { discardItems, jobContext, openSources, procedureOn, produceItem, runJob } from "./newMedia.js";

export async function runEditMedia(ctx: TaskContext): Promise<TaskResult> {
  const input = ctx.task.input as unknown as EditMediaInput;
  const out = input.OutputConfig;
  const sources = await openSources(
    ctx,
    input.FileInfos.map((f) => f.FileId),
  );
  try {
    const media = await produceItem(
      ctx,
      {
        fileId: input.fileId,
        container: out.Type,
        name: out.MediaName || "editMediaGenfile",
        classId: out.ClassId,
        expireTime: out.ExpireTime,
      },
      async (output) =>
        (
          await runJob(() =>
            editMedia(
              jobContext(ctx),
              input.FileInfos.map((f, i) => ({
                file: sources.path(f.FileId),
                startTimeOffset: f.StartTimeOffset,
                endTimeOffset: f.EndTimeOffset,
                label: `FileInfos[${i}] (${f.FileId})`,
              })),
              output,
              {
                container: out.Type,
                baseline: input.Definition === 20 ? "bitrate" : "resolution",
                videoStream: out.VideoStream,
              },
            ),
          )
        ).probed,
    );
    const procedure = await procedureOn(ctx, media, input.ProcedureName);
    const state: EditMediaState = { progress: 100, media, procedureTaskId: procedure?.taskId ?? "" };
    ctx.state = state as Record<string, unknown>;
    return { effects: { insertMedia: [media], insertTasks: procedure ? [procedure] : [] } };
  } finally {
    sources.release();
  }
}

export const discardEditMedia = (deps: Deps, task: TaskRow) =>
  discardItems(deps, task, [(task.input as unknown as EditMediaInput).fileId]);
