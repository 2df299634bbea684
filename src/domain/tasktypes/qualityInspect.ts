// InspectMediaQuality: the findings of ffmpeg's detectors over one media item
// (src/workers/qualityInspect.ts). The cloud's QualityInspectTask has no ErrCode and no Progress.
import type { QualityInspectTask, QualityInspectTaskOutput } from "../../schema/api-types.js";
import { completionEvent, statusWithoutWaiting, type Fields, type TaskKind } from "./kind.js";

export interface QualityInspectInput {
  FileId: string;
  Definition: number;
}

/** What an InspectMediaQuality task keeps in its state. */
export interface QualityInspectState {
  progress?: number;
  /** MetaData of the inspected file. */
  metaData?: Record<string, unknown>;
  output?: Fields<QualityInspectTaskOutput>;
}

export const qualityInspect: TaskKind = {
  taskType: "QualityInspect",
  idKind: "InspectMediaQuality",
  payloadField: "QualityInspectTask",
  view(task) {
    const input = task.input as unknown as QualityInspectInput;
    const state = task.state as QualityInspectState;
    return {
      TaskId: task.taskId,
      Status: statusWithoutWaiting(task),
      ErrCodeExt: task.errCodeExt,
      Message: task.message,
      MetaData: state.metaData ?? null,
      Input: { FileId: input.FileId, Definition: input.Definition },
      Output: state.output ?? {},
      SessionId: task.sessionId,
      SessionContext: task.sessionContext,
    } satisfies Fields<QualityInspectTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(qualityInspect, "QualityInspectComplete", "QualityInspectCompleteEvent", task, urls),
  ],
};
