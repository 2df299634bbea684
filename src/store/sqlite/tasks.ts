// The task queue, embedded store: one process owns the file, so a claim is a short IMMEDIATE
// transaction (find the next runnable task, take it) and a killed process's leases are void at start.
import type { Tasks } from "../concepts.js";
import * as abort from "../abort.js";
import * as effects from "../effects.js";
import { listTasksQuery, TASK_CURSOR, type TaskCursor } from "../filters.js";
import { parseJson, taskFromRow } from "../rows.js";
import { PURGE_SESSIONS } from "../sessions.js";
import { runSync, type Raw } from "../sql.js";
import type { LeaseState } from "../types.js";
import { SQLITE, type SqliteDb } from "./db.js";

const task = (r: Raw) => taskFromRow(r, parseJson);

export function tasks(d: SqliteDb): Tasks {
  const p = (sql: string) => d.db.prepare(sql);
  const s = {
    get: p("SELECT * FROM tasks WHERE task_id = ? AND app_id = ?"),
    bySession: p(`SELECT * FROM tasks WHERE app_id = ? AND session_id = ? AND create_time >= ?
      ORDER BY seq DESC LIMIT 1`),
    // The IN repeats the partial index's predicate (tasks_runnable) so SQLite walks that index in
    // claim order instead of scanning every task ever stored.
    nextRunnable: p(`SELECT seq FROM tasks WHERE status IN ('WAITING', 'PROCESSING')
      AND (status = 'WAITING' OR lease_until < ?) ORDER BY priority DESC, seq LIMIT 1`),
    claim:
      p(`UPDATE tasks SET status = 'PROCESSING', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
      begin_time = COALESCE(begin_time, ?) WHERE seq = ? RETURNING *`),
    heartbeat: p(`UPDATE tasks SET lease_until = ? WHERE task_id = ? AND lease_owner = ?
      AND status = 'PROCESSING' RETURNING abort_request`),
    heartbeatState: p(`UPDATE tasks SET lease_until = ?, state = ? WHERE task_id = ? AND lease_owner = ?
      AND status = 'PROCESSING' RETURNING abort_request`),
    releaseLeases: p("UPDATE tasks SET lease_until = 0 WHERE status = 'PROCESSING'"),
    releasePush: p("UPDATE events SET available_at = 0 WHERE delivery = 'PUSH'"),
    releaseSegments: p("UPDATE segments SET lease_until = 0 WHERE status = 'PROCESSING'"),
    release: p(`UPDATE tasks SET attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_until = 0,
      state = ? WHERE task_id = ? AND lease_owner = ? AND status = 'PROCESSING'`),
    purge: p(`DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE create_time < ?
      AND status IN ('FINISH', 'ABORTED') LIMIT ?)`),
    countRunnable: p("SELECT COUNT(*) AS n FROM tasks WHERE status IN ('WAITING', 'PROCESSING')"),
  };
  const claim = (owner: string, now: number, leaseMs: number) => {
    const next = s.nextRunnable.get(now) as { seq: number } | undefined;
    return next && task(s.claim.get(owner, now + leaseMs, now, next.seq) as Raw);
  };
  return {
    async insertTask(t) {
      // Group-committed with concurrent submissions; on disk before the API answers.
      await d.durableTx(() => d.writeTasks([t]));
    },
    async getTask(appId, taskId) {
      const r = s.get.get(taskId, appId) as Raw | undefined;
      return r && task(r);
    },
    async findTaskBySession(appId, sessionId, since) {
      const r = s.bySession.get(appId, sessionId, since) as Raw | undefined;
      return r && task(r);
    },
    async listTasks(f) {
      const from = f.fromTaskId
        ? (d.stmt(TASK_CURSOR).get(f.fromTaskId, f.appId) as TaskCursor | undefined)
        : undefined;
      if (f.fromTaskId && !from) return [];
      const q = listTasksQuery(f, from, SQLITE);
      return (d.prepareText(q.sql).all(...q.values) as Raw[]).map(task);
    },
    async claimTask(owner, now, leaseMs) {
      // Not worth an fsync: a claim lost with power is a task WAITING again, and every start of
      // the embedded store voids the leases anyway (releaseAllLeases).
      return d.lazyTx(() => claim(owner, now, leaseMs));
    },
    async heartbeat(taskId, owner, leaseUntil, state, events) {
      return d.tx((): LeaseState => {
        const r = (
          state
            ? s.heartbeatState.get(leaseUntil, JSON.stringify(state), taskId, owner)
            : s.heartbeat.get(leaseUntil, taskId, owner)
        ) as Raw | undefined;
        if (!r) return "lost";
        d.writeEvents(events);
        return r.abort_request === null ? "held" : "abort";
      });
    },
    async finishTask(taskId, owner, f, e = {}) {
      // Group-committed with the other workers' finishes; on disk before anyone is told.
      return d.durableTx(() => runSync(effects.finishTask(taskId, owner, f, e), d.runner));
    },
    async releaseTask(taskId, owner, state) {
      return s.release.run(JSON.stringify(state), taskId, owner).changes > 0;
    },
    async abortTask(appId, taskId, now, reason) {
      return runSync(abort.abortTask(appId, taskId, now, reason), d.runner);
    },
    async releaseAllLeases() {
      // Callbacks claimed or backing off when the last process stopped are due again at once.
      s.releasePush.run();
      s.releaseSegments.run();
      return s.releaseLeases.run().changes;
    },
    async purgeTasks(createdBefore, limit) {
      d.stmt(PURGE_SESSIONS).run(createdBefore);
      return s.purge.run(createdBefore, limit).changes;
    },
    async countRunnable() {
      return (s.countRunnable.get() as { n: number }).n;
    },
  };
}
