// SplitMedia: each segment cut into its own new item (src/media/jobs/editMedia.ts with one part);
// all items and the Procedures they name are written with the task's finish, or none is.
import type { Deps } from "../domain/deps.js";
import type { SplitMediaInput, SplitMediaState } from "../domain/tasktypes/splitMedia.js";
import { editMedia } from "../media/jobs/editMedia.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";
import type { MediaRow, NewTask, TaskRow } from "../store/types.js";
import { discardItems, jobContext, openSources, procedureOn, produceItem, runJob } from "./newMedia.js";

const fileIdsOf = (task: TaskRow) => (task.input as unknown as SplitMediaInput).Segments.map((s) => s.fileId);

export async function runSplitMedia(ctx: TaskContext): Promise<TaskResult> {
  const input = ctx.task.input as unknown as SplitMediaInput;
  const sources = await openSources(ctx, [input.FileId]);
  const n = input.Segments.length;
  const outputs: NonNullable<SplitMediaState["outputs"]> = [];
  const procedures: NewTask[] = [];
  try {
    for (const [i, s] of input.Segments.entries()) {
      const out = s.OutputConfig;
      const media: MediaRow = await produceItem(
        ctx,
        {
          fileId: s.fileId,
          container: out.Type,
          name: out.MediaName || `splitMedia-${i + 1}`,
          classId: out.ClassId,
          expireTime: out.ExpireTime,
        },
        async (output) =>
          (
            await runJob(() =>
              editMedia(
                jobContext(ctx, (100 * i) / n, (100 * (i + 1)) / n),
                [
                  {
                    file: sources.path(input.FileId),
                    startTimeOffset: s.StartTimeOffset,
                    endTimeOffset: s.EndTimeOffset,
                    label: `Segments[${i}]`,
                  },
                ],
                output,
                { container: out.Type, baseline: "resolution" },
              ),
            )
          ).probed,
      );
      const procedure = await procedureOn(ctx, media, s.ProcedureName);
      if (procedure) procedures.push(procedure);
      outputs.push({ media, procedureTaskId: procedure?.taskId ?? "" });
    }
  } catch (err) {
    // A segment failed: the ones already stored never become items.
    await discardItems(ctx.deps, ctx.task, fileIdsOf(ctx.task));
    throw err;
  } finally {
    sources.release();
  }
  const state: SplitMediaState = { progress: 100, outputs };
  ctx.state = state as Record<string, unknown>;
  return { effects: { insertMedia: outputs.map((o) => o.media), insertTasks: procedures } };
}

export const discardSplitMedia = (deps: Deps, task: TaskRow) => discardItems(deps, task, fileIdsOf(task));
