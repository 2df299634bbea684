// The task queue, cluster store: a claim is one statement (UPDATE ... WHERE seq = (SELECT ...
// FOR UPDATE SKIP LOCKED)), so concurrent claimers never take the same task and never wait on
// each other; a finish commits with its effects only while lease_owner is still ours.
import type { Tasks } from "../concepts.js";
import type pg from "pg";
import * as abort from "../abort.js";
import * as effects from "../effects.js";
import { listTasksQuery, TASK_CURSOR, type TaskCursor } from "../filters.js";
import { parsed, taskFromRow } from "../rows.js";
import { PURGE_SESSIONS } from "../sessions.js";
import type { Raw } from "../sql.js";
import type { LeaseState } from "../types.js";
import {
  doc,
  INSERT_TASK_NOTIFY,
  insertTaskValues,
  POSTGRES,
  TASKS_CHANNEL,
  text,
  writeEvents,
  writeTasks,
  type PgDb,
  type Queryable,
} from "./db.js";

const task = (r: Raw) => taskFromRow(r, parsed);

const SQL = {
  getTask: "SELECT * FROM tasks WHERE task_id = $1 AND app_id = $2",
  claim: `UPDATE tasks SET status = 'PROCESSING', lease_owner = $1, lease_until = $2, attempts = attempts + 1,
    begin_time = COALESCE(begin_time, $3)
    WHERE seq = (SELECT seq FROM tasks WHERE status = 'WAITING' OR (status = 'PROCESSING' AND lease_until < $3)
      ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING *`,
  heartbeat: `UPDATE tasks SET lease_until = $1 WHERE task_id = $2 AND lease_owner = $3 AND status = 'PROCESSING'
    RETURNING abort_request`,
  heartbeatState: `UPDATE tasks SET lease_until = $1, state = $4::jsonb WHERE task_id = $2 AND lease_owner = $3
    AND status = 'PROCESSING' RETURNING abort_request`,
};

export function tasks(d: PgDb): Tasks {
  return {
    async insertTask(t) {
      // With a SessionId: claimed and inserted in one transaction (writeTasks).
      if (t.sessionId) return d.tx((c) => writeTasks(c, [t]));
      // The notification is sent when the row commits: a worker woken by it finds the task.
      await d.pool.query({ name: "insertTaskNotify", text: INSERT_TASK_NOTIFY, values: insertTaskValues(t) });
    },
    async getTask(appId, taskId) {
      const r = await d.one(SQL.getTask, [taskId, appId], "getTask");
      return r && task(r);
    },
    async findTaskBySession(appId, sessionId, since) {
      const r = await d.one(
        `SELECT * FROM tasks WHERE app_id = $1 AND session_id = $2 AND create_time >= $3
         ORDER BY seq DESC LIMIT 1`,
        [appId, text(sessionId), since],
        "bySession",
      );
      return r && task(r);
    },
    async listTasks(f) {
      const from = f.fromTaskId
        ? ((await d.one(TASK_CURSOR.postgres, [text(f.fromTaskId), f.appId])) as TaskCursor | undefined)
        : undefined;
      if (f.fromTaskId && !from) return [];
      const q = listTasksQuery(f, from, POSTGRES);
      return (await d.all(q.sql, q.values)).map(task);
    },
    async claimTask(owner, now, leaseMs) {
      const r = await d.one(SQL.claim, [owner, now + leaseMs, now], "claim");
      return r && task(r);
    },
    async heartbeat(taskId, owner, leaseUntil, state, events) {
      const renew = (c: Queryable) =>
        state
          ? c.query({
              name: "heartbeatState",
              text: SQL.heartbeatState,
              values: [leaseUntil, taskId, owner, doc(state)],
            })
          : c.query({ name: "heartbeat", text: SQL.heartbeat, values: [leaseUntil, taskId, owner] });
      const lease = (r: pg.QueryResult): LeaseState =>
        !r.rows[0] ? "lost" : r.rows[0].abort_request === null ? "held" : "abort";
      if (!events?.length) return lease(await renew(d.pool));
      return d.tx(async (c) => {
        const r = lease(await renew(c));
        if (r !== "lost") await writeEvents(c, events);
        return r;
      });
    },
    async finishTask(taskId, owner, f, e = {}) {
      return d.proc(effects.finishTask(taskId, owner, f, e));
    },
    async releaseTask(taskId, owner, state) {
      const r = await d.pool.query(
        `WITH rel AS (UPDATE tasks SET attempts = GREATEST(attempts - 1, 0), lease_owner = NULL, lease_until = 0,
           state = $1::jsonb WHERE task_id = $2 AND lease_owner = $3 AND status = 'PROCESSING' RETURNING 1)
         SELECT pg_notify('${TASKS_CHANNEL}', '') FROM rel`,
        [doc(state), taskId, owner],
      );
      return r.rows.length > 0;
    },
    async abortTask(appId, taskId, now, reason) {
      return d.procNoTx(abort.abortTask(appId, taskId, now, reason));
    },
    /**
     * Never voids leases here: other processes share the database and may be running the tasks
     * (and delivering the callbacks) that hold them. A dead process's leases simply run out.
     */
    async releaseAllLeases() {
      return 0;
    },
    async purgeTasks(createdBefore, limit) {
      await d.changes(PURGE_SESSIONS.postgres, [createdBefore]);
      return d.changes(
        `DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE create_time < $1
         AND status IN ('FINISH', 'ABORTED') LIMIT $2)`,
        [createdBefore, limit],
      );
    },
    async countRunnable() {
      return (await d.one("SELECT COUNT(*) AS n FROM tasks WHERE status IN ('WAITING', 'PROCESSING')", []))!
        .n as number;
    },
  };
}
