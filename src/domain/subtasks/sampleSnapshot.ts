import type { SubTaskKind } from "./kind.js";

export const sampleSnapshot = {
  set: "SampleSnapshotTaskSet",
  type: "SampleSnapshot",
  field: "SampleSnapshotTask",
  family: "SampleSnapshot",
  label: "sampled snapshot",
  part: { filter: "sampleSnapshotInfo", info: "SampleSnapshotInfo", list: "SampleSnapshotSet" },
} as const satisfies SubTaskKind;
