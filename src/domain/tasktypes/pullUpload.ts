// PullUpload: a media file fetched from a URL becomes a media item (src/workers/pullUpload.ts).
import type { MediaRow } from "../../store/types.js";
import { TASK_ID_KIND } from "../ids.js";
import { fileUploadEvent } from "../ingest.js";
import { mediaBasicInfo } from "../media.js";
import type { PullUploadTask } from "../../schema/api-types.js";
import { commonFields, completionEvent, type Fields, type TaskKind } from "./kind.js";

/** What a PullUpload task keeps in its state once the media item exists. */
export interface PullState {
  progress?: number;
  media?: MediaRow;
  /** The Procedure task started on the new file, when PullUpload named one. */
  procedureTaskId?: string;
}

export const pullUpload: TaskKind = {
  taskType: "PullUpload",
  idKind: TASK_ID_KIND.PullUpload,
  payloadField: "PullUploadTask",
  view(task, urls) {
    const media = (task.state as PullState).media;
    return {
      ...commonFields<PullUploadTask>(task, task.status),
      FileId: media?.fileId ?? "",
      MediaBasicInfo: media ? mediaBasicInfo(media, urls) : null,
      MetaData: media?.metaData ?? {},
      FileUrl: media ? urls.file(media.blobKey) : "",
      ProcedureTaskId: (task.state as PullState).procedureTaskId ?? "",
      ReviewAudioVideoTaskId: "",
    } satisfies Fields<PullUploadTask>;
  },
  events(task, config, urls) {
    const events = [completionEvent(pullUpload, "PullComplete", "PullCompleteEvent", task, urls)];
    const media = (task.state as PullState).media;
    if (media && task.errCode === 0 && config.uploadSwitch === "ON") {
      events.push(fileUploadEvent(media, (task.state as PullState).procedureTaskId ?? "", urls));
    }
    return events;
  },
};
