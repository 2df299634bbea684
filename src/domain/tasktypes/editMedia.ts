// EditMedia: parts of one or more media items cut and joined into a new item
// (src/workers/editMedia.ts).
import type { EditMediaTask } from "../../schema/api-types.js";
import type { MediaRow } from "../../store/types.js";
import { mediaOutput } from "../media.js";
import { commonFields, completionEvent, editTaskStatus, type Fields, type TaskKind } from "./kind.js";

export interface EditMediaInput {
  FileInfos: { FileId: string; StartTimeOffset: number; EndTimeOffset: number }[];
  /** 10: the largest input sets the output size; 20: the highest-bitrate one. */
  Definition: number;
  ProcedureName?: string;
  OutputConfig: {
    MediaName?: string;
    Type: "mp4" | "hls";
    ClassId?: number;
    ExpireTime?: string;
    VideoStream?: Record<string, unknown>;
  };
  /** The FileId the new item gets, fixed at submission so that a re-run writes the same keys. */
  fileId: string;
}

export interface EditMediaState {
  progress?: number;
  media?: MediaRow;
  procedureTaskId?: string;
}

export const editMedia: TaskKind = {
  taskType: "EditMedia",
  idKind: "EditMedia",
  payloadField: "EditMediaTask",
  view(task, urls) {
    const input = task.input as unknown as EditMediaInput;
    const state = task.state as EditMediaState;
    return {
      ...commonFields<EditMediaTask>(task, editTaskStatus(task)),
      ErrCodeExt: task.errCodeExt,
      Input: { InputType: "File", FileInfoSet: input.FileInfos, StreamInfoSet: [] },
      Output: state.media ? mediaOutput(state.media, urls) : undefined,
      MetaData: state.media?.metaData,
      ProcedureTaskId: state.procedureTaskId ?? "",
      ReviewAudioVideoTaskId: "",
    } satisfies Fields<EditMediaTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(editMedia, "EditMediaComplete", "EditMediaCompleteEvent", task, urls),
  ],
};
