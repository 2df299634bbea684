// Work items of segmented sub-tasks, embedded store: claimed as tasks are (a short IMMEDIATE
// transaction), and only while their parent task is PROCESSING with no abort requested.
import type { Segments } from "../concepts.js";
import { parseJson, segmentFromRow } from "../rows.js";
import type { Raw } from "../sql.js";
import type { LeaseState } from "../types.js";
import type { SqliteDb } from "./db.js";

const segment = (r: Raw) => segmentFromRow(r, parseJson);

const PARENT_RUNNING = `EXISTS (SELECT 1 FROM tasks t WHERE t.task_id = segments.task_id
  AND t.status = 'PROCESSING' AND t.abort_request IS NULL)`;

export function segments(d: SqliteDb): Segments {
  const p = (sql: string) => d.db.prepare(sql);
  const s = {
    insert: p(`INSERT INTO segments (task_id, app_id, job, idx, priority, input, create_time)
      VALUES (@taskId, @appId, @job, @idx, @priority, @input, @createTime) ON CONFLICT DO NOTHING`),
    list: p("SELECT * FROM segments WHERE task_id = ? AND job = ? ORDER BY idx"),
    next: p(`SELECT seq FROM segments WHERE (status = 'WAITING' OR (status = 'PROCESSING' AND lease_until < ?))
      AND ${PARENT_RUNNING} ORDER BY priority DESC, seq LIMIT 1`),
    claim: p(`UPDATE segments SET status = 'PROCESSING', lease_owner = ?, lease_until = ?,
      attempts = attempts + 1 WHERE seq = ? RETURNING *`),
    heartbeat: p(`UPDATE segments SET lease_until = ?, progress = ? WHERE seq = ? AND lease_owner = ?
      AND status = 'PROCESSING' RETURNING ${PARENT_RUNNING} AS running`),
    finish: p(`UPDATE segments SET status = ?, result = ?, progress = CASE WHEN ? = 'DONE' THEN 100 ELSE progress END,
      lease_owner = NULL, lease_until = NULL WHERE seq = ? AND lease_owner = ? AND status = 'PROCESSING'`),
    release: p(`UPDATE segments SET attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_until = 0
      WHERE seq = ? AND lease_owner = ? AND status = 'PROCESSING'`),
    delete: p("DELETE FROM segments WHERE task_id = ? AND job = ?"),
  };
  const claimTx = d.db.transaction((owner: string, now: number, leaseMs: number) => {
    const next = s.next.get(now) as { seq: number } | undefined;
    return next && segment(s.claim.get(owner, now + leaseMs, next.seq) as Raw);
  });
  const insertTx = d.db.transaction((rows: Parameters<Segments["insertSegments"]>[0]) => {
    for (const r of rows) s.insert.run({ ...r, input: JSON.stringify(r.input) });
  });
  return {
    async insertSegments(rows) {
      insertTx.immediate(rows);
    },
    async listSegments(taskId, job) {
      return (s.list.all(taskId, job) as Raw[]).map(segment);
    },
    async claimSegment(owner, now, leaseMs) {
      return claimTx.immediate(owner, now, leaseMs);
    },
    async segmentHeartbeat(seq, owner, leaseUntil, progress): Promise<LeaseState> {
      const r = s.heartbeat.get(leaseUntil, Math.round(progress), seq, owner) as Raw | undefined;
      return !r ? "lost" : r.running ? "held" : "abort";
    },
    async finishSegment(seq, owner, status, result) {
      return s.finish.run(status, JSON.stringify(result), status, seq, owner).changes > 0;
    },
    async releaseSegment(seq, owner) {
      return s.release.run(seq, owner).changes > 0;
    },
    async deleteSegments(taskId, job) {
      return s.delete.run(taskId, job).changes;
    },
  };
}
