// Work items of segmented sub-tasks, cluster store: a claim is one statement with FOR UPDATE
// SKIP LOCKED, as a task's is; inserting items notifies the task channel so idle workers of
// every process wake up and take them.
import type { Segments } from "../concepts.js";
import { parsed, segmentFromRow } from "../rows.js";
import type { Raw } from "../sql.js";
import type { LeaseState } from "../types.js";
import { doc, TASKS_CHANNEL, type PgDb } from "./db.js";

const segment = (r: Raw) => segmentFromRow(r, parsed);

const PARENT_RUNNING = (alias: string) => `EXISTS (SELECT 1 FROM tasks t WHERE t.task_id = ${alias}.task_id
  AND t.status = 'PROCESSING' AND t.abort_request IS NULL)`;

const SQL = {
  claim: `UPDATE segments SET status = 'PROCESSING', lease_owner = $1, lease_until = $2, attempts = attempts + 1
    WHERE seq = (SELECT seq FROM segments s WHERE (s.status = 'WAITING' OR (s.status = 'PROCESSING' AND s.lease_until < $3))
      AND ${PARENT_RUNNING("s")} ORDER BY s.priority DESC, s.seq LIMIT 1 FOR UPDATE OF s SKIP LOCKED)
    RETURNING *`,
  heartbeat: `UPDATE segments SET lease_until = $1, progress = $2 WHERE seq = $3 AND lease_owner = $4
    AND status = 'PROCESSING' RETURNING ${PARENT_RUNNING("segments")} AS running`,
};

export function segments(d: PgDb): Segments {
  return {
    async insertSegments(rows) {
      if (!rows.length) return;
      await d.tx(async (c) => {
        for (const r of rows)
          await c.query(
            `INSERT INTO segments (task_id, app_id, job, idx, priority, input, create_time)
             VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) ON CONFLICT DO NOTHING`,
            [r.taskId, r.appId, r.job, r.idx, r.priority, doc(r.input), r.createTime],
          );
        await c.query(`SELECT pg_notify('${TASKS_CHANNEL}', '')`);
      });
    },
    async listSegments(taskId, job) {
      return (await d.all("SELECT * FROM segments WHERE task_id = $1 AND job = $2 ORDER BY idx", [taskId, job])).map(
        segment,
      );
    },
    async claimSegment(owner, now, leaseMs) {
      const r = await d.one(SQL.claim, [owner, now + leaseMs, now], "claimSegment");
      return r && segment(r);
    },
    async segmentHeartbeat(seq, owner, leaseUntil, progress): Promise<LeaseState> {
      const r = await d.one(SQL.heartbeat, [leaseUntil, Math.round(progress), seq, owner], "segmentHeartbeat");
      return !r ? "lost" : r.running ? "held" : "abort";
    },
    async finishSegment(seq, owner, status, result) {
      return (
        (await d.changes(
          `UPDATE segments SET status = $1, result = $2::jsonb,
             progress = CASE WHEN $1 = 'DONE' THEN 100 ELSE progress END, lease_owner = NULL, lease_until = NULL
           WHERE seq = $3 AND lease_owner = $4 AND status = 'PROCESSING'`,
          [status, doc(result), seq, owner],
        )) > 0
      );
    },
    async releaseSegment(seq, owner) {
      return (
        (await d.changes(
          `WITH rel AS (UPDATE segments SET attempts = GREATEST(attempts - 1, 0), lease_owner = NULL, lease_until = 0
             WHERE seq = $1 AND lease_owner = $2 AND status = 'PROCESSING' RETURNING 1)
           SELECT pg_notify('${TASKS_CHANNEL}', '') FROM rel`,
          [seq, owner],
        )) > 0
      );
    },
    async deleteSegments(taskId, job) {
      return d.changes("DELETE FROM segments WHERE task_id = $1 AND job = $2", [taskId, job]);
    },
  };
}
