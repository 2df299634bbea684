// The cluster store's connections: a pg pool, its migrations (once across processes), its
// transactions, and the asynchronous SQL runner that the procedures shared with SQLite
// (src/store/sql.ts) run on.
import pg from "pg";
import type { Params, SqlDialect } from "../filters.js";
import { pending } from "../migrate.js";
import { CLAIM_SESSION, claimSessionParams, DuplicateSession } from "../sessions.js";
import { Json, runAsync, type Proc, type Raw, type SqlRunner, type Stmt } from "../sql.js";
import type { NewEvent, NewTask } from "../types.js";

/** Channels of the wake-ups between processes. */
export const TASKS_CHANNEL = "openvod_tasks";
export const EVENTS_CHANNEL = "openvod_events";
/** pg_advisory_lock key that serializes migrations ("ovod" in ASCII). */
const MIGRATION_LOCK = 0x6f766f64;

// BIGINT (int8) and COUNT(*) arrive as numbers: every value openvod keeps in one (millisecond
// times, sequence numbers, application ids) is far below 2^53. JSON/JSONB are parsed by pg.
const INT8_OID = 20;
export const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as "text")) as pg.CustomTypesConfig["getTypeParser"],
};

export type Queryable = Pick<pg.ClientBase, "query">;

/**
 * PostgreSQL text cannot hold NUL, which SQLite stores as given: it becomes U+FFFD here rather
 * than failing the request.
 */
export function text(s: string): string {
  return s.includes("\0") ? s.replace(/\0/g, "\uFFFD") : s;
}

/** A document as a JSON parameter (cast ::jsonb or ::json in the statement); NUL as in text(). */
export function doc(value: unknown): string {
  const s = JSON.stringify(value);
  if (!s.includes("\\u0000")) return s;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "string" ? text(v) : v));
}

class Numbered implements Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

export const POSTGRES: SqlDialect = {
  params: () => new Numbered(),
  text,
  inList: (p, col, values, type, not) => `${not ? "NOT " : ""}(${col} = ANY(${p.add(values)}::${type}[]))`,
  contains: (p, col, v) => `strpos(${col}, ${p.add(v)}) > 0`,
  startsWith: (p, col, v) => `starts_with(${col}, ${p.add(v)})`,
  // jsonb ?|: any of the strings is an element of the array.
  anyTag: (p, tags) => `tags ?| ${p.add(tags)}::text[]`,
  mediaSeq: "seq",
};

const encode = (v: unknown) => (typeof v === "string" ? text(v) : v instanceof Json ? doc(v.value) : v);

const SQL = {
  insertTask: `INSERT INTO tasks (task_id, app_id, task_type, status, priority, file_id, session_id,
    session_context, input, state, create_time) VALUES ($1, $2, $3, 'WAITING', $4, $5, $6, $7, $8::jsonb,
    $9::jsonb, $10)`,
  // One statement for a batch: rows keep their order (WITH ORDINALITY), and each application
  // whose events were written is notified once, when the transaction commits.
  insertEvents: `WITH ins AS (
      INSERT INTO events (app_id, event_type, content, delivery, create_time, available_at)
      SELECT a, t, c, d, ct, 0 FROM unnest($1::bigint[], $2::text[], $3::json[], $4::text[], $5::bigint[])
        WITH ORDINALITY AS u(a, t, c, d, ct, n) ORDER BY n
      RETURNING app_id)
    SELECT pg_notify('${EVENTS_CHANNEL}', app_id::text) FROM (SELECT DISTINCT app_id FROM ins) d`,
  notifyTasks: `SELECT pg_notify('${TASKS_CHANNEL}', '')`,
};

export function insertTaskValues(t: NewTask): unknown[] {
  return [
    t.taskId,
    t.appId,
    t.taskType,
    t.priority,
    text(t.fileId),
    text(t.sessionId),
    text(t.sessionContext),
    doc(t.input),
    doc(t.state),
    t.createTime,
  ];
}

/** The task insert that wakes every process's workers when it commits (a lone insert, outside a transaction). */
export const INSERT_TASK_NOTIFY = `WITH ins AS (${SQL.insertTask} RETURNING 1) SELECT pg_notify('${TASKS_CHANNEL}', '') FROM ins`;

/** Writes events; each application's listeners are woken when the transaction commits. */
export async function writeEvents(c: Queryable, events: NewEvent[] | undefined): Promise<void> {
  if (!events?.length) return;
  await c.query({
    name: "insertEvents",
    text: SQL.insertEvents,
    values: [
      events.map((e) => e.appId),
      events.map((e) => text(e.eventType)),
      events.map((e) => doc(e.content)),
      events.map((e) => e.delivery),
      events.map((e) => e.createTime),
    ],
  });
}

/**
 * Inserts tasks, and wakes the workers of every process when the transaction commits. A
 * SessionId taken within its window throws DuplicateSession (roll the transaction back).
 */
export async function writeTasks(c: Queryable, tasks: NewTask[] | undefined): Promise<void> {
  if (!tasks?.length) return;
  for (const t of tasks) {
    if (t.sessionId) {
      const claimed = await c.query({
        name: CLAIM_SESSION.name,
        text: CLAIM_SESSION.postgres,
        values: claimSessionParams(t).map(encode),
      });
      if (claimed.rowCount === 0) throw new DuplicateSession(t.sessionId);
    }
    await c.query({ name: "insertTask", text: SQL.insertTask, values: insertTaskValues(t) });
  }
  await c.query(SQL.notifyTasks);
}

export function runner(c: Queryable): SqlRunner<"async"> {
  const query = (s: Stmt, params: unknown[]) =>
    c.query({ name: s.name, text: s.postgres, values: params.map(encode) });
  return {
    get: async (s, params) => (await query(s, params)).rows[0],
    run: async (s, params) => (await query(s, params)).rowCount ?? 0,
    insertEvents: (events) => writeEvents(c, events),
    insertTasks: (tasks) => writeTasks(c, tasks),
  };
}

export class PgDb {
  constructor(readonly pool: pg.Pool) {}

  /** Runs fn in a transaction on one connection; a broken connection is discarded, not reused. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await c.query("BEGIN");
      const result = await fn(c);
      await c.query("COMMIT");
      return result;
    } catch (err) {
      await c.query("ROLLBACK").catch((e: Error) => (broken = e));
      throw err;
    } finally {
      c.release(broken);
    }
  }

  /** A shared procedure in a transaction of its own. */
  proc<T>(p: Proc<T>): Promise<T> {
    return this.tx((c) => runAsync(p, runner(c)));
  }

  /** A shared procedure whose statements need no transaction around them. */
  procNoTx<T>(p: Proc<T>): Promise<T> {
    return runAsync(p, runner(this.pool));
  }

  async one(sql: string, values: unknown[], name?: string): Promise<Raw | undefined> {
    const r = await this.pool.query(name ? { name, text: sql, values } : { text: sql, values });
    return r.rows[0];
  }

  async all(sql: string, values: unknown[]): Promise<Raw[]> {
    return (await this.pool.query(sql, values)).rows;
  }

  async changes(sql: string, values: unknown[]): Promise<number> {
    return (await this.pool.query(sql, values)).rowCount ?? 0;
  }

  /**
   * Applies the pending migrations. Processes that start together (cluster mode) queue on a
   * session-level advisory lock, and each migration commits with its schema_migrations row, so
   * each is applied exactly once. The table is as the inline list of migrations kept it before
   * they were files (0001-0003 are those statements), so such a database simply continues.
   */
  async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
      try {
        await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`);
        const { rows } = await c.query("SELECT version FROM schema_migrations");
        for (const m of pending(
          "postgres",
          rows.map((r) => Number(r.version)),
        )) {
          await c.query("BEGIN");
          try {
            await c.query(m.sql);
            await c.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [
              m.version,
              Date.now(),
            ]);
            await c.query("COMMIT");
          } catch (err) {
            await c.query("ROLLBACK").catch(() => {});
            throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
          }
        }
      } finally {
        await c.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
      }
    } finally {
      c.release();
    }
  }
}
