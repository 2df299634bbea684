// Finishing a task with its effects (TaskEffects), and committing an upload, written once for
// both stores as procedures over the SQL runner of src/store/sql.ts. A new kind of effect is a
// member of TaskEffects, a statement here and a step in applyEffects.
import { get, insertEvents, insertTasks, json, run, stmt, type Proc, type Raw } from "./sql.js";
import type { MediaRow, NewEvent, NewTask, TaskEffects, TaskFinish } from "./types.js";

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

const S = {
  // PostgreSQL locks the row: an abort requested concurrently waits for this finish, or is seen by it.
  held: stmt("fx.held", {
    sqlite: "SELECT abort_request FROM tasks WHERE task_id = ? AND lease_owner = ? AND status = 'PROCESSING'",
    postgres: `SELECT abort_request FROM tasks WHERE task_id = ? AND lease_owner = ? AND status = 'PROCESSING'
      FOR UPDATE`,
  }),
  finish: stmt(
    "fx.finish",
    `UPDATE tasks SET status = ?, err_code = ?, err_code_ext = ?, message = ?, state = ?, finish_time = ?,
      lease_owner = NULL, lease_until = NULL WHERE task_id = ? AND lease_owner = ? AND status = 'PROCESSING'`,
  ),
  // FOR KEY SHARE: a concurrent DeleteMedia waits until this task's outputs are recorded, while
  // other finishing tasks may still update the row (FOR SHARE would deadlock two of them merging
  // metadata into the same item).
  mediaExists: stmt("fx.mediaExists", {
    sqlite: "SELECT 1 FROM media WHERE file_id = ? AND app_id = ?",
    postgres: "SELECT 1 FROM media WHERE file_id = ? AND app_id = ? FOR KEY SHARE",
  }),
  // The item metadata is merged into, read as JSON text in both dialects. FOR NO KEY UPDATE, the
  // lock the UPDATE takes anyway: concurrent merges into one item queue instead of losing one
  // patch, and a DeleteMedia waits (neither conflicts with another finish's KEY SHARE).
  mediaForMerge: stmt("fx.mediaForMerge", {
    sqlite: "SELECT meta_data FROM media WHERE file_id = ? AND app_id = ?",
    postgres:
      "SELECT meta_data::text AS meta_data FROM media WHERE file_id = ? AND app_id = ? FOR NO KEY UPDATE",
  }),
  setMeta: stmt("fx.setMeta", "UPDATE media SET meta_data = ? WHERE file_id = ? AND app_id = ?"),
  putPart: stmt(
    "fx.putPart",
    `INSERT INTO media_parts (app_id, file_id, kind, definition, item, blobs, create_time)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (app_id, file_id, kind, definition)
      DO UPDATE SET item = excluded.item, blobs = excluded.blobs, create_time = excluded.create_time`,
  ),
  setCover: stmt(
    "fx.setCover",
    "UPDATE media SET cover_key = ?, update_time = ? WHERE file_id = ? AND app_id = ?",
  ),
  taskFile: stmt("fx.taskFile", "UPDATE tasks SET file_id = ? WHERE task_id = ?"),
  insertMedia: stmt(
    "fx.insertMedia",
    `INSERT INTO media (file_id, app_id, name, description, class_id, type, category, blob_key, cover_key,
      meta_data, source_type, source_context, storage_region, expire_time, tags, create_time, update_time)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  committed: stmt(
    "fx.uploadCommitted",
    "UPDATE upload_sessions SET status = 'COMMITTED', media = NULL, cover = NULL WHERE id = ? AND status = 'COMMITTING'",
  ),
};

function* insertMedia(m: MediaRow): Proc<void> {
  yield* run(
    S.insertMedia,
    m.fileId,
    m.appId,
    m.name,
    m.description,
    m.classId,
    m.type,
    m.category,
    m.blobKey,
    m.coverKey,
    json(m.metaData),
    m.sourceType,
    m.sourceContext,
    m.storageRegion,
    m.expireTime,
    json(m.tags),
    m.createTime,
    m.updateTime,
  );
}

/**
 * Everything but the task row. `at` is the finish time (a new cover's update_time);
 * `mergeBase` the merge target's row if the caller already read (and locked) it.
 */
function* applyEffects(e: TaskEffects, at: number, mergeBase?: Raw): Proc<void> {
  yield* insertEvents(e.events);
  yield* insertTasks(e.insertTasks);
  for (const p of e.putParts ?? []) {
    yield* run(S.putPart, p.appId, p.fileId, p.kind, p.definition, json(p.item), json(p.blobs), p.createTime);
  }
  if (e.setCover) yield* run(S.setCover, e.setCover.coverKey, at, e.setCover.fileId, e.setCover.appId);
  for (const m of e.insertMedia ?? []) yield* insertMedia(m);
  if (e.mergeMetaData) {
    const { appId, fileId, patch } = e.mergeMetaData;
    const cur = mergeBase ?? (yield* get(S.mediaForMerge, fileId, appId));
    // Shallow, as { ...meta, ...patch }.
    if (cur) yield* run(S.setMeta, json({ ...JSON.parse(cur.meta_data), ...patch }), fileId, appId);
  }
}

export type FinishResult = "finished" | "lost" | "abort" | "mediaGone";

/** Store.finishTask: see its contract in src/store/types.ts. */
export function* finishTask(
  taskId: string,
  owner: string,
  f: TaskFinish,
  e: TaskEffects,
): Proc<FinishResult> {
  const held = yield* get(S.held, taskId, owner);
  // Not ours any more (the lease ran out and another worker took the task): change nothing.
  if (!held) return "lost";
  const status = f.status ?? "FINISH";
  let mergeBase: Raw | undefined;
  if (status === "FINISH") {
    if (held.abort_request !== null) return "abort";
    const merge = e.mergeMetaData;
    for (const m of mediaTouched(e)) {
      const into = merge && merge.appId === m.appId && merge.fileId === m.fileId;
      const row = yield* get(into ? S.mediaForMerge : S.mediaExists, m.fileId, m.appId);
      if (!row) return "mediaGone";
      if (into) mergeBase = row;
    }
  }
  yield* run(
    S.finish,
    status,
    f.errCode,
    f.errCodeExt,
    f.message,
    json(f.state),
    f.finishTime,
    taskId,
    owner,
  );
  // A task that created media items is listed under the first (DescribeTasks FileId filter).
  const first = e.insertMedia?.[0];
  if (first) yield* run(S.taskFile, first.fileId, taskId);
  yield* applyEffects(e, f.finishTime, mergeBase);
  return "finished";
}

/** Store.finishUploadCommit: the commit's media item, tasks and events, or nothing when it was not claimed. */
export function* finishUploadCommit(
  sessionId: string,
  media: MediaRow,
  tasks: NewTask[],
  events: NewEvent[],
): Proc<boolean> {
  if ((yield* run(S.committed, sessionId)) === 0) return false;
  yield* applyEffects({ insertMedia: [media], insertTasks: tasks, events }, media.createTime);
  return true;
}
