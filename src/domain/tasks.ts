// The task lifecycle as clients see it: submitting (TaskIds, SessionId de-duplication) and the
// mapping from a stored task to its DescribeTaskDetail and DescribeTasks views. Each task type
// registers a TaskKind with its own payload mapper; the queue runs them (src/queue).
import { errors, TaskErrCode } from "../protocol/errors.js";
import type { EventConfig, NewTask, TaskEnd, TaskRow } from "../store/types.js";
import type { EventSpec } from "./events.js";
import type { Deps, Urls } from "./deps.js";
import { isoTime, newTaskId } from "./ids.js";

export interface TaskKind {
  /** DescribeTaskDetail TaskType. */
  taskType: string;
  /** The label inside the TaskId. */
  idKind: string;
  /** The DescribeTaskDetail field that carries this type's payload. */
  payloadField: string;
  /** The payload object (shaped against the spec afterwards). */
  view(task: TaskRow, urls: Urls): Record<string, unknown>;
  /** The events the finished task emits (its completion event, and any other it causes). */
  events?(finished: TaskRow, config: EventConfig, urls: Urls): EventSpec[];
}

const kinds = new Map<string, TaskKind>();

export function registerTaskKind(kind: TaskKind): void {
  kinds.set(kind.taskType, kind);
}

export function taskKind(taskType: string): TaskKind {
  const k = kinds.get(taskType);
  if (!k) throw new Error(`unregistered task type ${taskType}`);
  return k;
}

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

/** SessionId de-duplicates submissions for this long (3 days, as the cloud does). */
const SESSION_WINDOW_MS = 3 * 24 * 3600 * 1000;

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
  if (sessionId && (await deps.store.findTaskBySession(s.appId, sessionId, now - SESSION_WINDOW_MS))) {
    throw errors.invalidParameterValue(
      "SessionId",
      "A task with this SessionId was submitted within the last 3 days.",
    );
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

/** Stores a new task WAITING and wakes the workers. */
export async function submitTask(deps: Deps, s: Submission): Promise<string> {
  const task = await newTask(deps, s);
  await deps.store.insertTask(task);
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
    [kind.payloadField]: kind.view(task, urls),
  };
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
  };
}

/** Progress as clients see it: the stored percentage, 100 once finished. */
export function taskProgress(task: TaskRow): number {
  if (task.status === "FINISH") return 100;
  const p = task.state.progress;
  return typeof p === "number" ? Math.max(0, Math.min(100, Math.floor(p))) : 0;
}
