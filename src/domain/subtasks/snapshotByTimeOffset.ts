import { errors } from "../../protocol/errors.js";
import type { SubTaskKind } from "./kind.js";

export const snapshotByTimeOffset = {
  set: "SnapshotByTimeOffsetTaskSet",
  type: "SnapshotByTimeOffset",
  field: "SnapshotByTimeOffsetTask",
  family: "SnapshotByTimeOffset",
  label: "time-point snapshot",
  part: {
    filter: "snapshotByTimeOffsetInfo",
    info: "SnapshotByTimeOffsetInfo",
    list: "SnapshotByTimeOffsetSet",
  },
  check(input) {
    if (!input.ExtTimeOffsetSet?.length && !input.TimeOffsetSet?.length)
      throw errors.invalidParameterValue("TimeOffsetSet", "Give ExtTimeOffsetSet or TimeOffsetSet.");
  },
} as const satisfies SubTaskKind;
