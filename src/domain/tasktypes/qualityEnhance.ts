// EnhanceMediaQuality: a new media item made by ffmpeg's filters from a rebuild template
// (src/workers/rebuild.ts runs it, as it runs RebuildMedia).
import type { QualityEnhanceTask } from "../../schema/api-types.js";
import { completionEvent, type Fields, type TaskKind } from "./kind.js";
import { rebuildView, type RebuildInput } from "./rebuildMedia.js";

export const qualityEnhance: TaskKind = {
  taskType: "QualityEnhance",
  idKind: "EnhanceMediaQuality",
  payloadField: "QualityEnhanceTask",
  view(task, urls) {
    const input = task.input as unknown as RebuildInput;
    const shown = { FileId: input.FileId, Definition: input.Definition };
    return rebuildView(task, urls, shown) satisfies Fields<QualityEnhanceTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(qualityEnhance, "QualityEnhanceComplete", "QualityEnhanceCompleteEvent", task, urls),
  ],
};
