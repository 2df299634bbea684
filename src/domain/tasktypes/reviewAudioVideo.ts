// ReviewAudioVideo: content review of a media item (src/workers/reviewAudioVideo.ts): porn
// pictures (nsfwjs) and keyword review of the OCR text against the application's word samples.
// The cloud's ReviewAudioVideoTask has no ErrCode and no Progress.
import type { ReviewAudioVideoTask } from "../../schema/api-types.js";
import { completionEvent, statusWithoutWaiting, type Fields, type TaskKind } from "./kind.js";

export interface ReviewAudioVideoInput {
  FileId: string;
  Definition: number;
  ReviewContents: string[];
}

export interface ReviewAudioVideoState {
  progress?: number;
  output?: Record<string, unknown>;
}

export const reviewAudioVideo: TaskKind = {
  taskType: "ReviewAudioVideo",
  idKind: "ReviewAudioVideo",
  payloadField: "ReviewAudioVideoTask",
  view(task) {
    const input = task.input as unknown as ReviewAudioVideoInput;
    const state = task.state as ReviewAudioVideoState;
    return {
      TaskId: task.taskId,
      Status: statusWithoutWaiting(task),
      ErrCodeExt: task.errCodeExt,
      Message: task.message,
      Input: input,
      // Output is not nullable in the spec: empty (filled with zero values) until the review ends.
      Output: state.output ?? {},
      SessionId: task.sessionId,
      SessionContext: task.sessionContext,
    } satisfies Fields<ReviewAudioVideoTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(
      reviewAudioVideo,
      "ReviewAudioVideoComplete",
      "ReviewAudioVideoCompleteEvent",
      task,
      urls,
    ),
  ],
};
