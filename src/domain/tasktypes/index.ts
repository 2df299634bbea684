// Every task type openvod runs, by its DescribeTaskDetail TaskType. Adding one: a module in this
// folder (its view and events), a handler in src/workers keyed in src/workers/index.ts (the
// compiler refuses a type without one), and the actions that submit it.
import { composeMedia } from "./composeMedia.js";
import { editMedia } from "./editMedia.js";
import { extractBlindWatermark, extractCopyRightWatermark, extractTraceWatermark } from "./extractMarks.js";
import { fastClipMedia } from "./fastClipMedia.js";
import { fileAttributes } from "./fileAttributes.js";
import type { TaskKind } from "./kind.js";
import { procedure } from "./procedure.js";
import { pullUpload } from "./pullUpload.js";
import { qualityInspect } from "./qualityInspect.js";
import { qualityEnhance } from "./qualityEnhance.js";
import { rebuildMedia } from "./rebuildMedia.js";
import { removeWatermark } from "./removeWatermark.js";
import { reviewAudioVideo } from "./reviewAudioVideo.js";
import { splitMedia } from "./splitMedia.js";

export const TASK_KINDS = {
  PullUpload: pullUpload,
  DescribeFileAttributesTask: fileAttributes,
  Procedure: procedure,
  QualityInspect: qualityInspect,
  QualityEnhance: qualityEnhance,
  RebuildMedia: rebuildMedia,
  RemoveWatermarkTask: removeWatermark,
  EditMedia: editMedia,
  SplitMedia: splitMedia,
  ComposeMedia: composeMedia,
  FastClipMedia: fastClipMedia,
  ReviewAudioVideo: reviewAudioVideo,
  ExtractTraceWatermark: extractTraceWatermark,
  ExtractCopyRightWatermark: extractCopyRightWatermark,
  ExtractBlindWatermark: extractBlindWatermark,
} as const satisfies Record<string, TaskKind>;

export type TaskTypeName = keyof typeof TASK_KINDS;

for (const [name, kind] of Object.entries(TASK_KINDS))
  if (kind.taskType !== name) throw new Error(`task kind ${name} names itself ${kind.taskType}`);

export function taskKind(taskType: string): TaskKind {
  const k = (TASK_KINDS as Record<string, TaskKind>)[taskType];
  if (!k) throw new Error(`unregistered task type ${taskType}`);
  return k;
}

export type { TaskKind } from "./kind.js";
