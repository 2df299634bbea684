// What both stores check before they publish a finishing task's effects.
import type { TaskEffects } from "./types.js";

/**
 * The existing media items a task's effects change (its outputs, a cover, metadata): if any of
 * them was deleted while the task ran, nothing may be published into it.
 */
export function mediaTouched(effects: TaskEffects): { appId: number; fileId: string }[] {
  const all = [
    ...(effects.putParts ?? []),
    ...(effects.setCover ? [effects.setCover] : []),
    ...(effects.mergeMetaData ? [effects.mergeMetaData] : []),
  ];
  const seen = new Map<string, { appId: number; fileId: string }>();
  for (const { appId, fileId } of all) seen.set(`${appId}/${fileId}`, { appId, fileId });
  // One the same finish creates is there by then.
  for (const created of effects.insertMedia ?? []) seen.delete(`${created.appId}/${created.fileId}`);
  return [...seen.values()];
}
