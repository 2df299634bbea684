// ComposeMedia: a multi-track timeline rendered into a new media item (src/workers/composeMedia.ts).
import type { ComposeMediaTask } from "../../schema/api-types.js";
import type { MediaRow } from "../../store/types.js";
import { mediaOutput } from "../media.js";
import { commonFields, completionEvent, editTaskStatus, type Fields, type TaskKind } from "./kind.js";

export interface ComposeMediaInput {
  /** The request's Tracks, Canvas and Output, as checked by the action. */
  Tracks: Record<string, any>[];
  Canvas: Record<string, any> | null;
  Output: Record<string, any>;
  /** The FileIds the items use (checked to be this application's at submission). */
  sources: string[];
  /** The FileId the new item gets, fixed at submission so that a re-run writes the same keys. */
  fileId: string;
}

export interface ComposeMediaState {
  progress?: number;
  media?: MediaRow;
}

export const composeMedia: TaskKind = {
  taskType: "ComposeMedia",
  idKind: "ComposeMedia",
  payloadField: "ComposeMediaTask",
  view(task, urls) {
    const input = task.input as unknown as ComposeMediaInput;
    const media = (task.state as ComposeMediaState).media;
    return {
      ...commonFields<ComposeMediaTask>(task, editTaskStatus(task)),
      Input: { Tracks: input.Tracks, Canvas: input.Canvas, Output: input.Output },
      Output: media ? mediaOutput(media, urls) : undefined,
      MetaData: media?.metaData ?? null,
    } satisfies Fields<ComposeMediaTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(composeMedia, "ComposeMediaComplete", "ComposeMediaCompleteEvent", task, urls),
  ],
};
