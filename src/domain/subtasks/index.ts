// Every Procedure sub-task openvod runs, in the order a MediaProcessTask's lists are run.
// Adding one: a module in this folder and its line here, then its runner in
// src/workers/procedure.ts (keyed by Type, so the compiler refuses a sub-task without one).
// The tables other modules use (media-info parts, DeleteParts types, template checks of a
// procedure) are derived from these descriptors.
import { adaptiveStreaming } from "./adaptiveStreaming.js";
import { aiAnalysis, aiContentReview, aiRecognition } from "./ai.js";
import { animatedGraphics } from "./animatedGraphics.js";
import { coverBySnapshot } from "./coverBySnapshot.js";
import { imageSprites } from "./imageSprites.js";
import type { SubTaskKind } from "./kind.js";
import { sampleSnapshot } from "./sampleSnapshot.js";
import { snapshotByTimeOffset } from "./snapshotByTimeOffset.js";
import { transcode } from "./transcode.js";

export const SUBTASK_KINDS = [
  transcode,
  animatedGraphics,
  snapshotByTimeOffset,
  sampleSnapshot,
  imageSprites,
  coverBySnapshot,
  adaptiveStreaming,
] as const satisfies readonly SubTaskKind[];

/** AI sub-tasks: their input is a ProcessMedia field (AiRecognitionTask...), not a MediaProcessTask list. */
export const AI_SUBTASK_KINDS = [aiRecognition, aiContentReview, aiAnalysis] as const satisfies readonly SubTaskKind[];

export type SubTaskType = (typeof SUBTASK_KINDS)[number]["type"] | (typeof AI_SUBTASK_KINDS)[number]["type"];

export function subTaskKind(type: string): SubTaskKind {
  const k = [...SUBTASK_KINDS, ...AI_SUBTASK_KINDS].find((s) => s.type === type);
  if (!k) throw new Error(`unknown sub-task type ${type}`);
  return k;
}

/** The parts a media item keeps, by the sub-task Type that makes them. */
export const MEDIA_PARTS = SUBTASK_KINDS.flatMap((k: SubTaskKind) =>
  k.part ? [{ kind: k.type, ...k.part }] : [],
);

export type { SubTaskKind } from "./kind.js";
