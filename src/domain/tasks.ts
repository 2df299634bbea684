// The task lifecycle as clients see it: submitting (TaskIds, SessionId de-duplication) and the
// mapping from a stored task to its DescribeTaskDetail and DescribeTasks views and end events.
// What differs per task type is its TaskKind (src/domain/tasktypes); the queue runs them.
import { errors, TaskErrCode } from "../protocol/errors.js";
import type { NewEvent, NewTask, TaskEnd, TaskRow } from "../store/types.js";
import { DuplicateSession, SESSION_WINDOW_MS } from "../store/sessions.js";
import { makeEvent } from "./events.js";
import type { Deps, Urls } from "./deps.js";
import { isoTime, newTaskId } from "./ids.js";
import type { DescribeTaskDetailResponse, TaskSimpleInfo } from "../schema/api-types.js";
import { taskKind } from "./tasktypes/index.js";
import type { Fields } from "./tasktypes/kind.js";

/**
 * How aborted tasks read. The cloud's ManageTask only aborts WAITING tasks; openvod also stops
 * PROCESSING ones (its worker sees the request at its next heartbeat and kills ffmpeg), and
 * DeleteMedia aborts the tasks of the item it deletes, so that none publishes into a deleted
 * item. Either way the task ends ABORTED, publishes nothing, and emits its completion event.
 */
export const TASK_ABORTED = {
  byRequest: {
    errCode: TaskErrCode.internal,
    errCodeExt: "InternalError",
    message: "The task was aborted by ManageTask.",
  },
  mediaDeleted: {
    errCode: TaskErrCode.internal,
    errCodeExt: "InternalError",
    message: "The media file was deleted before the task finished.",
  },
} as const satisfies Record<string, TaskEnd>;

export interface Submission {
  appId: number;
  taskType: string;
  fileId?: string;
  priority?: number;
  sessionId?: string;
  sessionContext?: string;
  input: Record<string, unknown>;
  state?: Record<string, unknown>;
}

/** Validates the common task parameters (priority, SessionId de-duplication) and builds the task. */
export async function newTask(deps: Deps, s: Submission): Promise<NewTask> {
  const priority = s.priority ?? 0;
  if (!Number.isInteger(priority) || priority < -10 || priority > 10) {
    throw errors.invalidParameterValue("TasksPriority", "TasksPriority must be an integer from -10 to 10.");
  }
  const sessionId = s.sessionId ?? "";
  const sessionContext = s.sessionContext ?? "";
  if (sessionId.length > 50)
    throw errors.invalidParameterValue("SessionIdTooLong", "SessionId is longer than 50 characters.");
  if (sessionContext.length > 1000) {
    throw errors.invalidParameterValue(
      "SessionContextTooLong",
      "SessionContext is longer than 1000 characters.",
    );
  }
  const now = deps.now();
  // A first answer without an insert; the insert's own claim (src/store/sessions.ts) is what
  // decides between submissions at once.
  if (sessionId && (await deps.store.findTaskBySession(s.appId, sessionId, now - SESSION_WINDOW_MS))) {
    throw duplicateSession();
  }
  return {
    taskId: newTaskId(s.appId, taskKind(s.taskType).idKind),
    appId: s.appId,
    taskType: s.taskType,
    priority,
    fileId: s.fileId ?? "",
    sessionId,
    sessionContext,
    input: s.input,
    state: s.state ?? {},
    createTime: now,
  };
}

const duplicateSession = () =>
  errors.invalidParameterValue(
    "SessionId",
    "A task with this SessionId was submitted within the last 3 days.",
  );

/** Stores a new task WAITING and wakes the workers. */
export async function submitTask(deps: Deps, s: Submission): Promise<string> {
  const task = await newTask(deps, s);
  try {
    await deps.store.insertTask(task);
  } catch (err) {
    throw err instanceof DuplicateSession ? duplicateSession() : err;
  }
  deps.wakeWorkers();
  return task.taskId;
}

/**
 * A task's time as both task views show it: unset times (not begun, not finished) read as the
 * zero time, as the cloud's DescribeTasks examples show, in DescribeTaskDetail too.
 */
const ZERO_TIME = "0001-01-01T00:00:00Z";
const taskTime = (ms: number | null) => (ms === null ? ZERO_TIME : isoTime(ms));

/** The DescribeTaskDetail response (before shaping fills the other task fields with null). */
export function taskDetail(task: TaskRow, urls: Urls): Record<string, unknown> {
  const kind = taskKind(task.taskType);
  return {
    TaskType: task.taskType,
    Status: task.status,
    CreateTime: isoTime(task.createTime),
    BeginProcessTime: taskTime(task.beginTime),
    FinishTime: taskTime(task.finishTime),
    ...(kind.payloadField ? { [kind.payloadField]: kind.view(task, urls) } : {}),
  } satisfies Fields<DescribeTaskDetailResponse>;
}

export function taskSimpleInfo(task: TaskRow): Record<string, unknown> {
  return {
    TaskId: task.taskId,
    Status: task.status,
    FileId: task.fileId,
    TaskType: task.taskType,
    CreateTime: isoTime(task.createTime),
    BeginProcessTime: taskTime(task.beginTime),
    FinishTime: taskTime(task.finishTime),
    SessionId: task.sessionId,
    SessionContext: task.sessionContext,
  } satisfies Fields<TaskSimpleInfo>;
}

/** The events a task emits when it finishes: its completion event and any the kind adds. */
export async function taskEvents(deps: Deps, finished: TaskRow): Promise<NewEvent[]> {
  const kind = taskKind(finished.taskType);
  const config = await deps.store.getEventConfig(finished.appId);
  const specs = kind.events?.(finished, config, deps.urls) ?? [];
  return specs.map((s) => makeEvent(finished.appId, config, s, deps.now()));
}
