import { errors } from "../../protocol/errors.js";
import type { SubTaskKind } from "./kind.js";

export const animatedGraphics = {
  set: "AnimatedGraphicTaskSet",
  type: "AnimatedGraphics",
  field: "AnimatedGraphicTask",
  family: "AnimatedGraphics",
  label: "animated graphics",
  part: { filter: "animatedGraphicsInfo", info: "AnimatedGraphicsInfo", list: "AnimatedGraphicsSet" },
  check(input) {
    if (!(input.EndTimeOffset > input.StartTimeOffset) || input.StartTimeOffset < 0)
      throw errors.invalidParameterValue(
        "EndTimeOffset",
        "EndTimeOffset must be after StartTimeOffset (both ≥ 0).",
      );
  },
} as const satisfies SubTaskKind;
