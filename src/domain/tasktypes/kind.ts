// What makes one task type different from another, as clients see it: its TaskId label, the
// DescribeTaskDetail field and view of its payload, and the events its end emits. The worker
// that runs a type is registered beside it in src/workers/index.ts, keyed by the same names.
import type { EventConfig, TaskRow } from "../../store/types.js";
import type { Urls } from "../deps.js";
import type { EventSpec } from "../events.js";

export interface TaskKind {
  /** DescribeTaskDetail TaskType. */
  taskType: string;
  /** The label inside the TaskId. */
  idKind: string;
  /** The DescribeTaskDetail field that carries this type's payload (none for a type the spec gives none). */
  payloadField?: string;
  /** The payload object (shaped against the spec afterwards). */
  view(task: TaskRow, urls: Urls): Record<string, unknown>;
  /** The events the finished task emits (its completion event, and any other it causes). */
  events?(finished: TaskRow, config: EventConfig, urls: Urls): EventSpec[];
}

/**
 * The members a view may set of a spec type (src/schema/api-types.ts): with `satisfies`, a field
 * the spec does not have is a compile error. Values stay loose; shaping checks them.
 */
export type Fields<T> = { [K in keyof T]?: unknown };

/** The members of a spec task payload that every task type reports the same way. */
type CommonKey = "TaskId" | "Status" | "ErrCode" | "Message" | "Progress" | "SessionId" | "SessionContext";

/**
 * Those members of task's payload, given its Status (each family of types has its own
 * vocabulary). T is the payload's spec type: one that lacks any of them does not compile.
 */
export function commonFields<T>(
  task: TaskRow,
  status: string,
  ..._specHasThemAll: CommonKey extends keyof T ? [] : [never]
): Record<CommonKey, unknown> {
  return {
    TaskId: task.taskId,
    Status: status,
    ErrCode: task.errCode,
    Message: task.message,
    Progress: taskProgress(task),
    SessionId: task.sessionId,
    SessionContext: task.sessionContext,
  };
}

/** Progress as clients see it: the stored percentage, 100 once finished. */
export function taskProgress(task: TaskRow): number {
  if (task.status === "FINISH") return 100;
  const p = task.state.progress;
  return typeof p === "number" ? Math.max(0, Math.min(100, Math.floor(p))) : 0;
}

/** Sub-task status vocabulary (PROCESSING/SUCCESS/FAIL) of a task that ended or not. */
export function subTaskStatus(task: TaskRow): "PROCESSING" | "SUCCESS" | "FAIL" {
  if (task.status === "FINISH") return task.errCode === 0 ? "SUCCESS" : "FAIL";
  if (task.status === "ABORTED") return "FAIL";
  return "PROCESSING";
}

/** The completion event of a task, built from its DescribeTaskDetail payload. */
export function completionEvent(
  kind: TaskKind,
  type: string,
  field: string,
  task: TaskRow,
  urls: Urls,
): EventSpec {
  return { type, field, payload: kind.view(task, urls) };
}

/** The Status of payloads whose vocabulary has no WAITING: a waiting task reads as PROCESSING. */
export function statusWithoutWaiting(task: TaskRow): "PROCESSING" | "FINISH" | "ABORTED" {
  return task.status === "WAITING" ? "PROCESSING" : task.status;
}

/** The Status of the editing tasks' payloads, which know only PROCESSING and FINISH. */
export function editTaskStatus(task: TaskRow): "PROCESSING" | "FINISH" {
  return task.status === "FINISH" || task.status === "ABORTED" ? "FINISH" : "PROCESSING";
}
