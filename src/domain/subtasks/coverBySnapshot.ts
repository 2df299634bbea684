import { errors } from "../../protocol/errors.js";
import type { SubTaskKind } from "./kind.js";

/** A snapshot that becomes the media item's cover: no part of its own. */
export const coverBySnapshot = {
  set: "CoverBySnapshotTaskSet",
  type: "CoverBySnapshot",
  field: "CoverBySnapshotTask",
  family: "SnapshotByTimeOffset",
  label: "time-point snapshot",
  check(input) {
    if (input.PositionType !== "Time" && input.PositionType !== "Percent")
      throw errors.invalidParameterValue("PositionType", "PositionType must be Time or Percent.");
    if (input.PositionValue < 0 || (input.PositionType === "Percent" && input.PositionValue > 100))
      throw errors.invalidParameterValue("PositionValue", "PositionValue is out of range.");
  },
} as const satisfies SubTaskKind;
