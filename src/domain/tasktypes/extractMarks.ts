// ExtractTraceWatermark, ExtractCopyRightWatermark and ExtractBlindWatermark (worker:
// src/workers/extractMark.ts). TaskTypes and events as the TaskType list and EventContent
// spell them; the blind one's event field has no "Event" suffix (ExtractBlindWatermarkComplete).
import type {
  ExtractBlindWatermarkTask,
  ExtractCopyRightWatermarkTask,
  ExtractTraceWatermarkTask,
} from "../../schema/api-types.js";
import type { TaskRow } from "../../store/types.js";
import type { MarkKind } from "../digitalMarks.js";
import { DETECT_THRESHOLD } from "../../media/jobs/markDetect.js";
import { completionEvent, editTaskStatus, type Fields, type TaskKind } from "./kind.js";

/** What the actions store as the task input. */
export interface ExtractMarkInput {
  kind: MarkKind;
  /** The Url as the client gave it. */
  url: string;
  /** The blob behind an openvod file Url (read from storage, not over HTTP). */
  blobKey?: string;
  FileId?: string;
  /** ExtractBlindWatermark's request fields, echoed. */
  Type?: string;
  InputInfo?: Record<string, unknown>;
  ExtractBlindWatermarkConfig?: Record<string, unknown>;
}

export interface ExtractMarkState {
  progress: number;
  detected: boolean;
  /** The Uv or the text. */
  value?: string;
  confidence?: number;
  /** The detection statistic (about 1 without a mark) and the seconds analysed. */
  score: number;
  seconds: number;
}

const input = (t: TaskRow) => t.input as unknown as ExtractMarkInput;
const result = (t: TaskRow) =>
  t.status === "FINISH" && t.errCode === 0 ? (t.state as unknown as ExtractMarkState) : undefined;

function message(t: TaskRow): string {
  if (t.message) return t.message;
  const r = result(t);
  if (!r) return "";
  const how = `score ${r.score.toFixed(1)} over ${r.seconds.toFixed(1)} s`;
  return r.detected
    ? `Watermark found with confidence ${(r.confidence ?? 0).toFixed(2)} (${how}).`
    : `No watermark was found (${how}; a mark scores at least ${DETECT_THRESHOLD}).`;
}

/** The fields the trace and copyright tasks share (the blind one spells its own). */
function sharedView(task: TaskRow) {
  return {
    TaskId: task.taskId,
    Status: editTaskStatus(task),
    ErrCode: task.errCode,
    Message: message(task),
    ErrCodeExt: task.errCodeExt,
    SessionId: task.sessionId,
    SessionContext: task.sessionContext,
  };
}

export const extractTraceWatermark: TaskKind = {
  taskType: "ExtractTraceWatermark",
  idKind: "procedurev2",
  payloadField: "ExtractTraceWatermarkTask",
  view(task) {
    const r = result(task);
    return {
      ...sharedView(task),
      Input: { Url: input(task).url, FileId: input(task).FileId ?? "" },
      Output: { Uv: r?.detected ? (r.value ?? "") : "", Uid: "" },
    } satisfies Fields<ExtractTraceWatermarkTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(
      extractTraceWatermark,
      "ExtractTraceWatermarkComplete",
      "ExtractTraceWatermarkCompleteEvent",
      task,
      urls,
    ),
  ],
};

export const extractCopyRightWatermark: TaskKind = {
  taskType: "ExtractCopyRightWatermark",
  idKind: "procedurev2",
  payloadField: "ExtractCopyRightWatermarkTask",
  view(task) {
    const r = result(task);
    return {
      ...sharedView(task),
      Input: { Url: input(task).url },
      Output: { Text: r?.detected ? (r.value ?? "") : "" },
    } satisfies Fields<ExtractCopyRightWatermarkTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(
      extractCopyRightWatermark,
      "ExtractCopyRightWatermarkComplete",
      "ExtractCopyRightWatermarkCompleteEvent",
      task,
      urls,
    ),
  ],
};

export const extractBlindWatermark: TaskKind = {
  taskType: "ExtractBlindWatermark",
  idKind: "ExtractBlindWatermark",
  payloadField: "ExtractBlindWatermarkTask",
  view(task) {
    const r = result(task);
    const i = input(task);
    const trace = i.kind === "Trace";
    return {
      TaskId: task.taskId,
      Status: task.status === "ABORTED" ? "FINISH" : task.status,
      ErrCode: task.errCode,
      Message: message(task),
      InputInfo: i.InputInfo,
      Type: i.Type,
      IsDetected: !!r?.detected,
      // Absent when nothing was detected, as the spec says.
      ...(r?.detected ? (trace ? { ResultUV: r.value } : { Result: r.value }) : {}),
      ...(i.ExtractBlindWatermarkConfig
        ? { ExtractBlindWatermarkConfig: i.ExtractBlindWatermarkConfig }
        : {}),
      SessionContext: task.sessionContext,
      SessionId: task.sessionId,
    } satisfies Fields<ExtractBlindWatermarkTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(
      extractBlindWatermark,
      "ExtractBlindWatermarkComplete",
      "ExtractBlindWatermarkComplete",
      task,
      urls,
    ),
  ],
};
