import type { SubTaskKind } from "./kind.js";

export const adaptiveStreaming = {
  set: "AdaptiveDynamicStreamingTaskSet",
  type: "AdaptiveDynamicStreaming",
  field: "AdaptiveDynamicStreamingTask",
  family: "AdaptiveDynamicStreaming",
  label: "adaptive streaming",
  part: {
    filter: "adaptiveDynamicStreamingInfo",
    info: "AdaptiveDynamicStreamingInfo",
    list: "AdaptiveDynamicStreamingSet",
    deleteType: "AdaptiveDynamicStreamingFiles",
  },
} as const satisfies SubTaskKind;
