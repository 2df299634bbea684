import type { SubTaskKind } from "./kind.js";

export const transcode = {
  set: "TranscodeTaskSet",
  type: "Transcode",
  field: "TranscodeTask",
  family: "Transcode",
  label: "transcode",
  part: {
    filter: "transcodeInfo",
    info: "TranscodeInfo",
    list: "TranscodeSet",
    deleteType: "TranscodeFiles",
  },
} as const satisfies SubTaskKind;
