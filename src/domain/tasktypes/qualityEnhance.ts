// EnhanceMediaQuality: a new media item made by ffmpeg's filters from a rebuild template
// (src/workers/rebuild.ts runs it, as it runs RebuildMedia).
import type { QualityEnhanceTask } from "../../schema/api-types.js";
import { completionEvent, taskProgress, type Fields, type TaskKind } from "./kind.js";
import { mediaOutput, outputMetaData } from "./mediaOutput.js";
import type { RebuildInput } from "./rebuildMedia.js";

export const qualityEnhance: TaskKind = {
  taskType: "QualityEnhance",
  idKind: "EnhanceMediaQuality",
  payloadField: "QualityEnhanceTask",
  view(task, urls) {
    const input = task.input as unknown as RebuildInput;
    return {
      TaskId: task.taskId,
      Status: task.status,
      ErrCode: task.errCode,
      Message: task.message,
      ErrCodeExt: task.errCodeExt,
      Progress: taskProgress(task),
      Input: { FileId: input.FileId, Definition: input.Definition },
      Output: mediaOutput(task, urls) ?? {},
      MetaData: outputMetaData(task) ?? {},
      SessionId: task.sessionId,
      SessionContext: task.sessionContext,
    } satisfies Fields<QualityEnhanceTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(qualityEnhance, "QualityEnhanceComplete", "QualityEnhanceCompleteEvent", task, urls),
  ],
};
