// The new media item a quality task makes (QualityEnhance, RebuildMedia, RemoveWatermark): kept
// in the task's state once made, and shown as the task's Output in the cloud's shape.
import type { MediaRow } from "../../store/types.js";
import type { Urls } from "../deps.js";
import { mediaOutput as outputOf } from "../media.js";

/** What a task that makes one media item keeps in its state. */
export interface MediaOutputState {
  progress?: number;
  media?: MediaRow;
}

/** Output {FileType, FileUrl, FileId, MediaName, ClassId, ExpireTime}; undefined until made. */
export function mediaOutput(task: { state: Record<string, unknown> }, urls: Urls) {
  const m = (task.state as MediaOutputState).media;
  return m ? outputOf(m, urls) : undefined;
}

export const outputMetaData = (task: { state: Record<string, unknown> }) =>
  (task.state as MediaOutputState).media?.metaData;
