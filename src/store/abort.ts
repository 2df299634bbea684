// ManageTask Abort and DeleteMedia, written once for both stores (see src/store/sql.ts): a
// WAITING task ends ABORTED at once, a PROCESSING one gets the request recorded for its worker
// to see at its next heartbeat.
import { get, insertEvents, run, stmt, type Proc, type Raw } from "./sql.js";
import type { NewEvent, TaskEnd } from "./types.js";

const abortWhere = (col: string) => `UPDATE tasks SET
  status = CASE WHEN status = 'WAITING' THEN 'ABORTED' ELSE status END,
  finish_time = CASE WHEN status = 'WAITING' THEN ? ELSE finish_time END,
  err_code = CASE WHEN status = 'WAITING' THEN ? ELSE err_code END,
  err_code_ext = CASE WHEN status = 'WAITING' THEN ? ELSE err_code_ext END,
  message = CASE WHEN status = 'WAITING' THEN ? ELSE message END,
  abort_request = CASE WHEN status = 'PROCESSING' THEN COALESCE(abort_request, ?) ELSE abort_request END
  WHERE app_id = ? AND status IN ('WAITING', 'PROCESSING') AND ${col} = ?`;

const S = {
  abortTask: stmt("abort.task", `${abortWhere("task_id")} RETURNING status`),
  abortFile: stmt("abort.file", abortWhere("file_id")),
  taskExists: stmt("abort.taskExists", "SELECT 1 FROM tasks WHERE task_id = ? AND app_id = ?"),
  deleteMedia: stmt("abort.deleteMedia", "DELETE FROM media WHERE file_id = ? AND app_id = ? RETURNING *"),
  deleteParts: stmt("abort.deleteParts", "DELETE FROM media_parts WHERE app_id = ? AND file_id = ?"),
};

const reasonParams = (now: number, r: TaskEnd) => [now, r.errCode, r.errCodeExt, r.message, r.message];

/** Store.abortTask. */
export function* abortTask(
  appId: number,
  taskId: string,
  now: number,
  reason: TaskEnd,
): Proc<"aborted" | "requested" | "ended" | "notFound"> {
  const r = yield* get(S.abortTask, ...reasonParams(now, reason), appId, taskId);
  if (r) return r.status === "ABORTED" ? "aborted" : "requested";
  return (yield* get(S.taskExists, taskId, appId)) ? "ended" : "notFound";
}

/** Store.deleteMedia: the deleted row (for the dialect to map), or undefined when there was none. */
export function* deleteMedia(
  appId: number,
  fileId: string,
  events: NewEvent[] | undefined,
  abort: { now: number; reason: TaskEnd } | undefined,
): Proc<Raw | undefined> {
  const row = yield* get(S.deleteMedia, fileId, appId);
  if (!row) return undefined;
  yield* run(S.deleteParts, appId, fileId);
  yield* insertEvents(events);
  if (abort) yield* run(S.abortFile, ...reasonParams(abort.now, abort.reason), appId, fileId);
  return row;
}
