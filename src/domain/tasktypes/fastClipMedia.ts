// FastClipMedia: the persistence of a FastEditMedia or SimpleHlsClip playlist. The actions answer
// at once with the new FileId and a playlist that plays the source segments; this task copies the
// segments into the new item, which appears with its FINISH (src/workers/fastClipMedia.ts). The
// spec lists the TaskType but gives it no payload field, so DescribeTaskDetail shows only the
// envelope; PersistenceComplete announces the item when that event is switched on.
import type { PersistenceCompleteTask } from "../../schema/api-types.js";
import type { Fields, TaskKind } from "./kind.js";

export interface FastClipInput {
  /** The new item, and its playlist (listing the source segments until the copy is done). */
  fileId: string;
  playlistKey: string;
  name: string;
  source: "FastEditMedia" | "SimpleHlsClip";
  classId?: number;
  expireTime?: string;
  sourceContext?: string;
  procedure?: string;
  /** The Procedure's TaskId, answered by SimpleHlsClip before the task exists. */
  procedureTaskId?: string;
}

export const fastClipMedia: TaskKind = {
  taskType: "FastClipMedia",
  idKind: "FastClipMedia",
  view: () => ({}),
  events(task, config) {
    const input = task.input as unknown as FastClipInput;
    if (task.status !== "FINISH" || task.errCode !== 0 || config.persistenceSwitch !== "ON") return [];
    const payload = {
      FileId: input.fileId,
      PersistenceSource: input.source,
    } satisfies Fields<PersistenceCompleteTask>;
    return [{ type: "PersistenceComplete", field: "PersistenceCompleteEvent", payload }];
  },
};
