// The task types openvod runs, each with its DescribeTaskDetail payload mapper. The worker
// side of each type lives in src/workers.
import type { MediaRow, TaskRow } from "../store/types.js";
import { TASK_ID_KIND } from "./ids.js";
import { completionEvent } from "./events.js";
import { fileUploadEvent } from "./ingest.js";
import { mediaBasicInfo } from "./media.js";
import { registerTaskKind, taskProgress } from "./tasks.js";

/** What a PullUpload task keeps in its state once the media item exists. */
export interface PullState {
  progress?: number;
  media?: MediaRow;
  /** The Procedure task started on the new file, when PullUpload named one. */
  procedureTaskId?: string;
}

/** Sub-task status vocabulary (PROCESSING/SUCCESS/FAIL) of a task that ended or not. */
export function subTaskStatus(task: TaskRow): "PROCESSING" | "SUCCESS" | "FAIL" {
  if (task.status === "FINISH") return task.errCode === 0 ? "SUCCESS" : "FAIL";
  if (task.status === "ABORTED") return "FAIL";
  return "PROCESSING";
}

registerTaskKind({
  taskType: "PullUpload",
  idKind: TASK_ID_KIND.PullUpload,
  payloadField: "PullUploadTask",
  view(task, urls) {
    const media = (task.state as PullState).media;
    return {
      TaskId: task.taskId,
      Status: task.status,
      ErrCode: task.errCode,
      Message: task.message,
      FileId: media?.fileId ?? "",
      MediaBasicInfo: media ? mediaBasicInfo(media, urls) : null,
      MetaData: media?.metaData ?? {},
      FileUrl: media ? urls.file(media.blobKey) : "",
      ProcedureTaskId: (task.state as PullState).procedureTaskId ?? "",
      ReviewAudioVideoTaskId: "",
      SessionContext: task.sessionContext,
      SessionId: task.sessionId,
      Progress: taskProgress(task),
    };
  },
  events(task, config, urls) {
    const events = [completionEvent("PullComplete", "PullCompleteEvent", task, urls)];
    const media = (task.state as PullState).media;
    if (media && task.errCode === 0 && config.uploadSwitch === "ON") {
      events.push(fileUploadEvent(media, (task.state as PullState).procedureTaskId ?? "", urls));
    }
    return events;
  },
});

/** What a DescribeFileAttributes task keeps in its state. */
export interface FileAttributesState {
  progress?: number;
  output?: { Md5: string; Sha1: string };
}

registerTaskKind({
  taskType: "DescribeFileAttributesTask",
  idKind: TASK_ID_KIND.DescribeFileAttributesTask,
  payloadField: "DescribeFileAttributesTask",
  view(task) {
    const output = (task.state as FileAttributesState).output;
    return {
      TaskId: task.taskId,
      Status: subTaskStatus(task),
      ErrCode: task.errCode,
      ErrCodeExt: task.errCodeExt,
      Message: task.message,
      Progress: taskProgress(task),
      FileId: task.fileId,
      Output: output ?? null,
      SessionId: task.sessionId,
      SessionContext: task.sessionContext,
    };
  },
  events: (task, _config, urls) => [
    completionEvent("DescribeFileAttributesComplete", "DescribeFileAttributesCompleteEvent", task, urls),
  ],
});
