// RemoveWatermark: a static logo or caption box found in the picture and removed with delogo
// (src/workers/removeWatermark.ts). TaskType as the TaskType list spells it (RemoveWatermarkTask);
// the event type is RemoveWatermark, without "Complete", as the cloud names it.
import type { RemoveWatermarkTask } from "../../schema/api-types.js";
import { completionEvent, type Fields, type TaskKind } from "./kind.js";
import { mediaOutput, type MediaOutputState } from "./mediaOutput.js";

export const removeWatermark: TaskKind = {
  taskType: "RemoveWatermarkTask",
  idKind: "RemoveWatermark",
  payloadField: "RemoveWatermarkTask",
  view(task, urls) {
    const out = mediaOutput(task, urls);
    const media = (task.state as MediaOutputState).media;
    return {
      TaskId: task.taskId,
      Status: task.status,
      ErrCodeExt: task.errCodeExt,
      ErrCode: task.errCode,
      // What was removed, or why nothing was: the task's own report when it did not fail.
      Message: task.message || String(task.state.message ?? ""),
      Input: { FileId: (task.input as { FileId: string }).FileId },
      Output: out
        ? {
            FileId: out.FileId,
            FileType: out.FileType,
            FileUrl: out.FileUrl,
            MediaName: out.MediaName,
            MetaData: media!.metaData,
          }
        : null,
      SessionId: task.sessionId,
      SessionContext: task.sessionContext,
    } satisfies Fields<RemoveWatermarkTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(removeWatermark, "RemoveWatermark", "RemoveWatermarkCompleteEvent", task, urls),
  ],
};
