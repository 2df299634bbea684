// RebuildMedia (RebuildMedia, RebuildMediaByTemplate, EnhanceMediaByTemplate): a new media item
// made by ffmpeg's filters (src/workers/rebuild.ts).
import type { RebuildMediaTask } from "../../schema/api-types.js";
import type { TaskRow } from "../../store/types.js";
import type { Urls } from "../deps.js";
import type { TemplateBody } from "../templates/types.js";
import { commonFields, completionEvent, type Fields, type TaskKind } from "./kind.js";
import { mediaOutput, outputMetaData } from "./mediaOutput.js";

/** What a rebuild runs, fixed at submission (a template changed later does not change it). */
export interface RebuildInput {
  FileId: string;
  Definition?: number;
  StartTimeOffset?: number;
  EndTimeOffset?: number;
  /** RebuildVideoInfo fields (RepairInfo, VideoDenoiseInfo...) and RebuildAudioInfo. */
  video: TemplateBody;
  audio: TemplateBody;
  /** The output streams, as a TranscodeTemplate. */
  target: TemplateBody;
  /** MediaName, Description, ClassId, ExpireTime of the new item. */
  output: { MediaName?: string; Description?: string; ClassId?: number; ExpireTime?: string };
  /** The new item's FileId, fixed at submission so a re-run writes the same keys. */
  fileId: string;
  /** The request as the task's Input shows it (RebuildMediaTaskInput). */
  shown?: TemplateBody;
}

/** The payload of both rebuild task types (QualityEnhanceTask and RebuildMediaTask share it). */
export function rebuildView(task: TaskRow, urls: Urls, shownInput: TemplateBody) {
  return {
    ...commonFields<RebuildMediaTask>(task, task.status),
    ErrCodeExt: task.errCodeExt,
    Input: shownInput,
    Output: mediaOutput(task, urls) ?? {},
    MetaData: outputMetaData(task) ?? {},
  };
}

export const rebuildMedia: TaskKind = {
  taskType: "RebuildMedia",
  idKind: "RebuildMedia",
  payloadField: "RebuildMediaTask",
  view(task, urls) {
    const input = task.input as unknown as RebuildInput;
    return rebuildView(task, urls, {
      FileId: input.FileId,
      ...(input.shown ?? {}),
    }) satisfies Fields<RebuildMediaTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(rebuildMedia, "RebuildMediaComplete", "RebuildMediaCompleteEvent", task, urls),
  ],
};
