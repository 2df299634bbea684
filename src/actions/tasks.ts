// Task queries and management: DescribeTaskDetail, DescribeTasks, ManageTask.
import { parseIsoTime } from "../domain/ids.js";
import { TASK_ABORTED, taskDetail, taskSimpleInfo } from "../domain/tasks.js";
import { serializeResponse, SerializedResponse } from "../protocol/envelope.js";
import { errors } from "../protocol/errors.js";
import type { TaskRow } from "../store/types.js";
import type { ActionContext, ActionFamily } from "./types.js";

const HOUR = 3600 * 1000;

function retentionStart(ctx: ActionContext): number {
  return ctx.deps.now() - ctx.deps.config.taskRetentionHours * HOUR;
}

/** A task of this app, within retention; the cloud's TaskId error otherwise. */
async function visibleTask(ctx: ActionContext, taskId: string): Promise<TaskRow> {
  const task = await ctx.deps.store.getTask(ctx.app.subAppId, taskId);
  if (!task || task.createTime < retentionStart(ctx)) {
    throw errors.invalidParameterValue("TaskId", "TaskId not exist.");
  }
  return task;
}

function timeRange(name: string, range: { After?: string; Before?: string } | undefined) {
  const parse = (v: string | undefined, part: string) => {
    if (v === undefined || v === "") return undefined;
    const t = parseIsoTime(v);
    if (t === undefined) throw errors.invalidParameterValue(name, `${name}.${part} is not an ISO 8601 time.`);
    return t;
  };
  return { after: parse(range?.After, "After"), before: parse(range?.Before, "Before") };
}

const TASK_STATUSES = new Set(["WAITING", "PROCESSING", "FINISH", "ABORTED"]);

/**
 * DescribeTaskDetail of ended tasks: FINISH and ABORTED are final, so their view never changes
 * and clients that poll them need not cost a database read. Bounded; oldest entries go first.
 */
const endedDetails = new Map<string, { createTime: number; detail: SerializedResponse }>();
const ENDED_CACHE_SIZE = 10_000;

async function describeTask(
  ctx: ActionContext,
  taskId: string,
): Promise<Record<string, unknown> | SerializedResponse> {
  const key = `${ctx.app.subAppId}/${taskId}`;
  const hit = endedDetails.get(key);
  if (hit) {
    if (hit.createTime < retentionStart(ctx))
      throw errors.invalidParameterValue("TaskId", "TaskId not exist.");
    return hit.detail;
  }
  const task = await visibleTask(ctx, taskId);
  const detail = taskDetail(task, ctx.deps.urls);
  if (task.status !== "FINISH" && task.status !== "ABORTED") return detail;
  if (endedDetails.size >= ENDED_CACHE_SIZE) endedDetails.delete(endedDetails.keys().next().value!);
  const serialized = serializeResponse("DescribeTaskDetail", detail);
  endedDetails.set(key, { createTime: task.createTime, detail: serialized });
  return serialized;
}

export const taskActions: ActionFamily = {
  DescribeTaskDetail: {
    notes: "Every field of the cloud's answer, null where it does not apply; retention window honoured",
    async handler(ctx) {
      return describeTask(ctx, ctx.params.TaskId);
    },
  },

  DescribeTasks: {
    notes: "Status, FileId, CreateTime, FinishTime filters; Sort; Limit ≤ 100; ScrollToken paging",
    async handler(ctx) {
      const p = ctx.params;
      const limit = p.Limit ?? 10;
      if (limit < 1 || limit > 100)
        throw errors.invalidParameterValue("Limit", "Limit must be from 1 to 100.");
      if (p.Status && !TASK_STATUSES.has(p.Status))
        throw errors.invalidParameterValue("Status", "Unknown Status.");
      const field = p.Sort?.Field ?? "CreateTime";
      const order = p.Sort?.Order ?? "Desc";
      if (field !== "CreateTime" && field !== "FinishTime") {
        throw errors.invalidParameterValue("Sort", "Sort.Field must be CreateTime or FinishTime.");
      }
      if (order !== "Asc" && order !== "Desc")
        throw errors.invalidParameterValue("Sort", "Sort.Order must be Asc or Desc.");
      const created = timeRange("CreateTime", p.CreateTime);
      const finished = timeRange("FinishTime", p.FinishTime);
      if (p.ScrollToken)
        await visibleTask(ctx, p.ScrollToken).catch(() => {
          throw errors.invalidParameterValue("ScrollToken", "ScrollToken is invalid or expired.");
        });
      const rows = await ctx.deps.store.listTasks({
        appId: ctx.app.subAppId,
        status: p.Status,
        fileId: p.FileId,
        createAfter: created.after,
        createBefore: created.before,
        finishAfter: finished.after,
        finishBefore: finished.before,
        sortField: field,
        order,
        fromTaskId: p.ScrollToken || undefined,
        notBefore: retentionStart(ctx),
        limit: limit + 1,
      });
      // The token is the first task of the next page, as in the cloud's examples.
      const next = rows.length > limit ? rows[limit]!.taskId : "";
      return { TaskSet: rows.slice(0, limit).map(taskSimpleInfo), ScrollToken: next };
    },
  },

  ManageTask: {
    notes:
      "OperationType Abort: WAITING tasks end ABORTED at once; PROCESSING ones too (beyond the cloud), their ffmpeg killed and outputs discarded",
    async handler(ctx) {
      const { TaskId, OperationType } = ctx.params;
      if (OperationType !== "Abort") {
        throw errors.invalidParameterValue("OperationType", "OperationType must be Abort.");
      }
      await visibleTask(ctx, TaskId);
      const r = await ctx.deps.store.abortTask(
        ctx.app.subAppId,
        TaskId,
        ctx.deps.now(),
        TASK_ABORTED.byRequest,
      );
      if (r === "notFound") throw errors.invalidParameterValue("TaskId", "TaskId not exist.");
      if (r === "ended")
        throw errors.failedOperation(undefined, "Only a WAITING or PROCESSING task can be aborted.");
      return {};
    },
  },
};
