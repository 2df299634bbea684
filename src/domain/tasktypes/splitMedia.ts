// SplitMedia: one new media item per segment of a media item (src/workers/splitMedia.ts).
import type { SplitMediaTask, SplitMediaTaskSegmentInfo } from "../../schema/api-types.js";
import type { MediaRow } from "../../store/types.js";
import { mediaBasicInfo } from "../media.js";
import { commonFields, completionEvent, editTaskStatus, type Fields, type TaskKind } from "./kind.js";

export interface SplitSegment {
  StartTimeOffset: number;
  EndTimeOffset: number;
  ProcedureName: string;
  OutputConfig: { MediaName?: string; Type: "mp4" | "hls"; ClassId?: number; ExpireTime?: string };
  /** The FileId the segment's item gets, fixed at submission (a re-run writes the same keys). */
  fileId: string;
}

export interface SplitMediaInput {
  FileId: string;
  Segments: SplitSegment[];
}

export interface SplitMediaState {
  progress?: number;
  /** Per segment, once all are made. */
  outputs?: { media: MediaRow; procedureTaskId: string }[];
}

export const splitMedia: TaskKind = {
  taskType: "SplitMedia",
  idKind: "SplitMedia",
  payloadField: "SplitMediaTask",
  view(task, urls) {
    const input = task.input as unknown as SplitMediaInput;
    const outputs = (task.state as SplitMediaState).outputs;
    return {
      ...commonFields<SplitMediaTask>(task, editTaskStatus(task)),
      ErrCodeExt: task.errCodeExt,
      FileInfoSet: input.Segments.map((s, i) => {
        const out = outputs?.[i];
        return {
          Input: {
            FileId: input.FileId,
            StartTimeOffset: s.StartTimeOffset,
            EndTimeOffset: s.EndTimeOffset,
            ProcedureName: s.ProcedureName,
            OutputConfig: s.OutputConfig,
          },
          Output: out
            ? { FileId: out.media.fileId, MediaBasicInfo: mediaBasicInfo(out.media, urls) }
            : undefined,
          ProcedureTaskId: out?.procedureTaskId ?? "",
          ReviewAudioVideoTaskId: "",
        } satisfies Fields<SplitMediaTaskSegmentInfo>;
      }),
    } satisfies Fields<SplitMediaTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(splitMedia, "SplitMediaComplete", "SplitMediaCompleteEvent", task, urls),
  ],
};
