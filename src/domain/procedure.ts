// Procedure tasks (ProcessMedia, ProcessMediaByProcedure): a list of media-processing
// sub-tasks on one media item, reported as the cloud's ProcedureTask. This module owns the
// submission checks, the stored state and the view; each sub-task is described in
// src/domain/subtasks, and src/workers/procedure.ts runs them.
import { errors, TaskErrCode } from "../protocol/errors.js";
import type { MediaRow, TaskRow } from "../store/types.js";
import type { Deps, Urls } from "./deps.js";
import { withUrls } from "./blobrefs.js";
import { isoTime } from "./ids.js";
import type { ProcedureTask } from "../schema/api-types.js";
import type { Fields } from "./tasktypes/kind.js";
import {
  AI_SUBTASK_KINDS,
  SUBTASK_KINDS,
  subTaskKind,
  type SubTaskKind,
  type SubTaskType,
} from "./subtasks/index.js";
import { findTemplate } from "./templates/index.js";
import { parseUv, textPayload, type MarkSpec } from "./digitalMarks.js";

export interface ResolvedWatermark {
  /** The WatermarkInput as the client sent it. */
  input: Record<string, any>;
  /** The watermark template at submit time (with its private _imageKey). */
  template: Record<string, any>;
}

export interface SubTask {
  type: SubTaskType;
  /** The sub-task input as the client sent it, echoed as the result's Input. */
  input: Record<string, any>;
  /** The template resolved when the task was submitted; later edits do not change a queued task. */
  template: Record<string, any>;
  watermarks: ResolvedWatermark[];
  /** The digital watermark a transcode embeds. */
  mark?: MarkSpec;
  status: "PROCESSING" | "SUCCESS" | "FAIL";
  errCode: number;
  errCodeExt: string;
  message: string;
  progress: number;
  beginTime?: number;
  finishTime?: number;
  /** The spec Output item; strings "blob:<key>" stand where clients see URLs. */
  output?: Record<string, any>;
  /** What the output adds to the media item: a part (by definition, with its blobs) or a cover. */
  part?: { definition: number; blobs: string[] };
  coverKey?: string;
  /** Other blobs the output refers to (AI analysis covers), removed if the task is aborted. */
  blobs?: string[];
}

/** What ProcessMedia stores as the task input besides the client's parameters. */
export interface ProcedureInput {
  fileId: string;
  fileName: string;
  blobKey: string;
  metaData: Record<string, any>;
  tasksNotifyMode: "Finish" | "Change" | "None";
  subtasks: SubTask[];
}

export interface ProcedureState {
  subtasks?: SubTask[];
}

export function procedureSubtasks(task: TaskRow): SubTask[] {
  return (task.state as ProcedureState).subtasks ?? (task.input as unknown as ProcedureInput).subtasks;
}

/**
 * A sub-task as the task's end leaves it. An aborted task published nothing, so none of its
 * sub-tasks succeeded; in an ended task none is still PROCESSING (a task aborted while WAITING,
 * or stopped as a whole, never got to finish them): those read FAIL with the task's error.
 */
function endedSubTask(task: TaskRow, s: SubTask): SubTask {
  const ended = task.status === "ABORTED" || task.status === "FINISH";
  if (!ended || s.status === "FAIL" || (s.status === "SUCCESS" && task.status !== "ABORTED")) return s;
  const failed = task.errCode !== 0;
  return {
    ...s,
    status: "FAIL",
    errCode: failed ? task.errCode : TaskErrCode.internal,
    errCodeExt: failed ? task.errCodeExt : "InternalError",
    message: task.message || "The task ended before this sub-task finished.",
    output: undefined,
    finishTime: s.finishTime ?? (s.beginTime === undefined ? undefined : (task.finishTime ?? undefined)),
  };
}

/** The results of the AI sub-tasks that report into one ProcedureTask list. */
function aiResults(subtasks: SubTask[], set: string, urls: Urls): Record<string, unknown>[] {
  return subtasks.flatMap((s) => {
    const ai = subTaskKind(s.type).ai;
    if (ai?.resultSet !== set) return [];
    return ai.results({
      input: s.input,
      template: s.template,
      output: s.output ? withUrls(s.output, urls) : undefined,
      common: {
        Status: s.status,
        ErrCodeExt: s.errCodeExt,
        ErrCode: s.errCode,
        Message: s.message,
        Progress: s.progress,
        BeginProcessTime: isoTime(s.beginTime),
        FinishTime: isoTime(s.finishTime),
      },
    });
  });
}

export function procedureView(task: TaskRow, urls: Urls): Record<string, unknown> {
  const input = task.input as unknown as ProcedureInput;
  const ended = procedureSubtasks(task).map((s) => endedSubTask(task, s));
  return {
    TaskId: task.taskId,
    Status: task.status,
    ErrCode: task.errCode,
    Message: task.message,
    FileId: input.fileId,
    FileName: input.fileName,
    FileUrl: input.blobKey ? urls.file(input.blobKey) : "",
    MetaData: input.metaData,
    MediaProcessResultSet: ended
      .filter((s) => !subTaskKind(s.type).ai)
      .map((s) => ({
        Type: s.type,
        [subTaskKind(s.type).field]: {
          Status: s.status,
          ErrCodeExt: s.errCodeExt,
          ErrCode: s.errCode,
          Message: s.message,
          Input: s.input,
          // Absent rather than null: shaping then gives null where the spec allows it and an empty
          // item where it does not (AdaptiveDynamicStreaming, CoverBySnapshot).
          Output: s.output ? withUrls(s.output, urls) : undefined,
          Progress: s.progress,
          BeginProcessTime: isoTime(s.beginTime),
          FinishTime: isoTime(s.finishTime),
        },
      })),
    AiContentReviewResultSet: aiResults(ended, "AiContentReviewResultSet", urls),
    AiAnalysisResultSet: aiResults(ended, "AiAnalysisResultSet", urls),
    AiRecognitionResultSet: aiResults(ended, "AiRecognitionResultSet", urls),
    TasksPriority: task.priority,
    TasksNotifyMode: input.tasksNotifyMode,
    SessionContext: task.sessionContext,
    SessionId: task.sessionId,
    Operator: "",
    OperationType: "",
  } satisfies Fields<ProcedureTask>;
}

/** Parts of a sub-task input openvod cannot honour for real; refused rather than ignored. */
function refuseUnsupported(set: string, input: Record<string, any>): void {
  const on = (v: any) => v && typeof v === "object" && (v.Switch === "ON" || v.Definition);
  const nonEmpty = (v: any) => Array.isArray(v) && v.length > 0;
  const refused: string[] = [];
  // Transcodes carry digital watermarks (digitalMarks.ts); adaptive streaming does not yet.
  if (set !== "TranscodeTaskSet") {
    if (on(input.TraceWatermark)) refused.push("TraceWatermark");
    if (on(input.CopyRightWatermark)) refused.push("CopyRightWatermark");
    if (on(input.BlindWatermark)) refused.push("BlindWatermark");
  }
  if (nonEmpty(input.MosaicSet)) refused.push("MosaicSet");
  if (nonEmpty(input.HeadTailSet)) refused.push("HeadTailSet");
  if (nonEmpty(input.SubtitleInfoSet) || nonEmpty(input.SubtitleSet)) refused.push("subtitles");
  if (input.OverrideParameter) refused.push("OverrideParameter");
  if (input.DrmInfo) refused.push("DrmInfo");
  if (refused.length)
    throw errors.unsupportedOperation(`${set}: ${refused.join(", ")} not supported by openvod.`);
}

export interface ProcedureRequest {
  appId: number;
  media: MediaRow;
  mediaProcessTask: Record<string, any> | undefined;
  /** The request (or procedure template) whose AiRecognitionTask / AiContentReviewTask are run. */
  ai?: Record<string, any>;
  tasksNotifyMode?: string;
  /** ProcessMedia's ExtInfo: {"Uv": "5E678F"} gives trace watermarks their player id. */
  extInfo?: string;
}

/** The one digital watermark of a transcode input (TraceWatermark, CopyRightWatermark or BlindWatermark). */
async function resolveMark(
  deps: Deps,
  r: ProcedureRequest,
  input: Record<string, any>,
): Promise<MarkSpec | undefined> {
  const trace = input.TraceWatermark?.Switch === "ON";
  const copyRight = input.CopyRightWatermark && typeof input.CopyRightWatermark === "object";
  const blind = input.BlindWatermark && typeof input.BlindWatermark === "object";
  if ([trace, copyRight, blind].filter(Boolean).length > 1)
    throw errors.invalidParameterValue(
      "TranscodeTaskSet",
      "A transcode carries one digital watermark: TraceWatermark, CopyRightWatermark or BlindWatermark.",
    );
  if (trace) {
    let ext: Record<string, unknown> = {};
    try {
      ext = r.extInfo ? (JSON.parse(r.extInfo) as Record<string, unknown>) : {};
    } catch {
      throw errors.invalidParameterValue("ExtInfo", "ExtInfo must be JSON.");
    }
    const uv = parseUv(ext?.Uv);
    return { kind: "Trace", payload: parseInt(uv, 16), value: uv };
  }
  if (copyRight) {
    const text = input.CopyRightWatermark.Text;
    if (typeof text !== "string" || !text || [...text].length > 200)
      throw errors.invalidParameterValue(
        "CopyRightWatermark.Text",
        "CopyRightWatermark.Text must have 1 to 200 characters.",
      );
    return { kind: "CopyRight", payload: await textPayload(deps, r.appId, "CopyRight", text), value: text };
  }
  if (blind) {
    const def = input.BlindWatermark.Definition;
    const t = await findTemplate(deps, r.appId, "BlindWatermark", def);
    if (!t)
      throw errors.invalidParameterValue("Definition", `BlindWatermark: template ${def} does not exist.`);
    const text = String(t.TextContent ?? "");
    return {
      kind: "Blind",
      payload: await textPayload(deps, r.appId, "Blind", text),
      value: text,
      definition: Number(def),
    };
  }
  return undefined;
}

/** Checks a MediaProcessTask and resolves its templates; ApiErrors for anything the cloud would refuse. */
export async function prepareProcedure(deps: Deps, r: ProcedureRequest): Promise<ProcedureInput> {
  const mode = r.tasksNotifyMode || "Finish";
  if (mode !== "Finish" && mode !== "Change" && mode !== "None") {
    throw errors.invalidParameterValue("TasksNotifyMode", "TasksNotifyMode must be Finish, Change or None.");
  }
  const subtasks: SubTask[] = [];
  for (const kind of SUBTASK_KINDS) {
    const list = (r.mediaProcessTask?.[kind.set] ?? []) as Record<string, any>[];
    if (list.length > 10) throw errors.invalidParameterValue(kind.set, `${kind.set} holds at most 10 tasks.`);
    for (const input of list) {
      refuseUnsupported(kind.set, input);
      const template = await findTemplate(deps, r.appId, kind.family, input.Definition);
      if (!template) {
        throw errors.invalidParameterValue(
          "Definition",
          `${kind.set}: template ${input.Definition} does not exist.`,
        );
      }
      (kind as SubTaskKind).check?.(input);
      const watermarks: ResolvedWatermark[] = [];
      for (const w of (input.WatermarkSet ?? []) as Record<string, any>[]) {
        if (w.SvgContent) throw errors.unsupportedOperation("SVG watermarks are not supported by openvod.");
        const wt = await findTemplate(deps, r.appId, "Watermark", w.Definition);
        if (!wt)
          throw errors.invalidParameterValue(
            "Definition",
            `Watermark template ${w.Definition} does not exist.`,
          );
        watermarks.push({ input: w, template: wt });
      }
      const mark = kind.type === "Transcode" ? await resolveMark(deps, r, input) : undefined;
      subtasks.push({
        type: kind.type,
        input,
        template,
        watermarks,
        ...(mark ? { mark } : {}),
        status: "PROCESSING",
        errCode: 0,
        errCodeExt: "",
        message: "",
        progress: 0,
      });
    }
  }
  for (const kind of AI_SUBTASK_KINDS) {
    const input = r.ai?.[kind.ai.request] as Record<string, any> | undefined;
    if (!input) continue;
    const template = await findTemplate(deps, r.appId, kind.family, input.Definition);
    if (!template) {
      throw errors.invalidParameterValue(
        `${kind.ai.request}Definition`,
        `${kind.ai.request}: the ${kind.label} template ${input.Definition} does not exist.`,
      );
    }
    subtasks.push({
      type: kind.type,
      input: { Definition: input.Definition },
      template,
      watermarks: [],
      status: "PROCESSING",
      errCode: 0,
      errCodeExt: "",
      message: "",
      progress: 0,
    });
  }
  if (subtasks.length === 0) {
    throw errors.invalidParameterValue("MediaProcessTask", "MediaProcessTask holds no task to run.");
  }
  return {
    fileId: r.media.fileId,
    fileName: r.media.name,
    blobKey: r.media.blobKey,
    metaData: r.media.metaData,
    tasksNotifyMode: mode,
    subtasks,
  };
}
