// SessionId de-duplication, atomic in both dialects: a task with a SessionId claims its app's
// row of task_sessions in the transaction that inserts it (migrations 0008 SQLite, 0004
// PostgreSQL). The claim takes a free row, or one older than the window; a row claimed within
// the window refuses the insert, however many processes submit at once.
import { stmt } from "./sql.js";
import type { NewTask } from "./types.js";

/** How long a SessionId stays taken after its task was submitted (3 days, as the cloud does). */
export const SESSION_WINDOW_MS = 3 * 24 * 3600 * 1000;

/** Thrown by a task insert whose SessionId was taken within the window; nothing was written. */
export class DuplicateSession extends Error {
  constructor(readonly sessionId: string) {
    super(`SessionId ${sessionId} was used within the de-duplication window`);
    this.name = "DuplicateSession";
  }
}

export const CLAIM_SESSION = stmt(
  "claimSession",
  `INSERT INTO task_sessions (app_id, session_id, task_id, create_time) VALUES (?, ?, ?, ?)
   ON CONFLICT (app_id, session_id) DO UPDATE SET task_id = excluded.task_id,
   create_time = excluded.create_time WHERE task_sessions.create_time < ?`,
);

/** The claim's parameters for a task that has a SessionId (none is needed without). */
export function claimSessionParams(t: NewTask): unknown[] {
  return [t.appId, t.sessionId, t.taskId, t.createTime, t.createTime - SESSION_WINDOW_MS];
}

/** Rows as old as the tasks the retention sweep removes: de-duplication ends with the task, as before. */
export const PURGE_SESSIONS = stmt("purgeSessions", "DELETE FROM task_sessions WHERE create_time < ?");
