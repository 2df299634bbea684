// DescribeFileAttributes: the hashes of a media item's original file (src/workers/fileAttributes.ts).
import { TASK_ID_KIND } from "../ids.js";
import type { DescribeFileAttributesTask } from "../../schema/api-types.js";
import { commonFields, completionEvent, subTaskStatus, type Fields, type TaskKind } from "./kind.js";

/** What a DescribeFileAttributes task keeps in its state. */
export interface FileAttributesState {
  progress?: number;
  output?: { Md5: string; Sha1: string };
}

export const fileAttributes: TaskKind = {
  taskType: "DescribeFileAttributesTask",
  idKind: TASK_ID_KIND.DescribeFileAttributesTask,
  payloadField: "DescribeFileAttributesTask",
  view(task) {
    const output = (task.state as FileAttributesState).output;
    return {
      ...commonFields<DescribeFileAttributesTask>(task, subTaskStatus(task)),
      ErrCodeExt: task.errCodeExt,
      FileId: task.fileId,
      Output: output ?? null,
    } satisfies Fields<DescribeFileAttributesTask>;
  },
  events: (task, _config, urls) => [
    completionEvent(
      fileAttributes,
      "DescribeFileAttributesComplete",
      "DescribeFileAttributesCompleteEvent",
      task,
      urls,
    ),
  ],
};
