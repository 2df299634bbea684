// The cluster store: PostgreSQL, shared by any number of API and worker processes on any number
// of machines. Same behaviour as the embedded SQLite store (src/store/sqlite.ts), method for
// method; what differs is how several processes stay correct at once:
// - migrations run under pg_advisory_lock, each recorded in schema_migrations, so processes
//   that start together apply each one exactly once;
// - a task is claimed by one statement (UPDATE ... WHERE seq = (SELECT ... FOR UPDATE SKIP
//   LOCKED)), so concurrent claimers never take the same task and never wait on each other;
// - finishTask and its effects commit in one transaction guarded by lease_owner, so a worker
//   that lost its lease can never finish the task a second time;
// - NOTIFY openvod_tasks (a task became runnable) and NOTIFY openvod_events (payload: the app
//   id) are sent in the transaction that causes them, and subscribe() LISTENs on a dedicated
//   connection, so idle workers and long-polling PullEvents in other processes wake at once.
import pg from "pg";
import {
  DEFAULT_EVENT_CONFIG,
  type AppRow,
  type EventConfig,
  type EventRow,
  type MediaPart,
  type MediaRow,
  type MediaSearch,
  type NewEvent,
  type NewTask,
  type Store,
  type LeaseState,
  type TaskEffects,
  type TaskEnd,
  type TaskFinish,
  type TaskListFilter,
  type TaskRow,
  type TaskStatus,
  type TemplateRow,
  type MultipartRow,
  type UploadObject,
  type UploadPartRow,
  type UploadSessionRow,
} from "./types.js";
import { mediaTouched } from "./effects.js";

/** Channels of the wake-ups between processes. */
export const TASKS_CHANNEL = "openvod_tasks";
export const EVENTS_CHANNEL = "openvod_events";
/** The application_name of the LISTEN connection (tests find and cut it by this name). */
export const LISTEN_APPLICATION_NAME = "openvod-listen";
/** pg_advisory_lock key that serializes migrations ("ovod" in ASCII). */
const MIGRATION_LOCK = 0x6f766f64;
const DEFAULT_POOL_SIZE = 10;

/**
 * Numbered migrations: schema_migrations records the versions applied. Append only.
 * Times are BIGINT milliseconds; documents are JSONB, except events.content, which is JSON so a
 * callback body keeps the member order the spec gives it. Text that is compared or sorted as
 * bytes in SQLite (template keys, part kinds, expire times) is COLLATE "C" here too.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE apps (
    sub_app_id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'On',
    create_time BIGINT NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE
  );
  CREATE TABLE tasks (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id TEXT NOT NULL UNIQUE,
    app_id BIGINT NOT NULL,
    task_type TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    file_id TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    session_context TEXT NOT NULL DEFAULT '',
    input JSONB NOT NULL,
    state JSONB NOT NULL,
    err_code INTEGER NOT NULL DEFAULT 0,
    err_code_ext TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL,
    begin_time BIGINT,
    finish_time BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT
  );
  CREATE INDEX tasks_runnable ON tasks (priority DESC, seq) WHERE status IN ('WAITING', 'PROCESSING');
  CREATE INDEX tasks_app_create ON tasks (app_id, create_time);
  CREATE INDEX tasks_session ON tasks (app_id, session_id) WHERE session_id <> '';
  CREATE INDEX tasks_purge ON tasks (create_time) WHERE status IN ('FINISH', 'ABORTED');
  CREATE TABLE media (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    file_id TEXT PRIMARY KEY,
    app_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    class_id BIGINT NOT NULL DEFAULT 0,
    type TEXT NOT NULL,
    category TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    cover_key TEXT NOT NULL DEFAULT '',
    meta_data JSONB NOT NULL,
    source_type TEXT NOT NULL,
    source_context TEXT NOT NULL DEFAULT '',
    storage_region TEXT NOT NULL,
    expire_time TEXT COLLATE "C" NOT NULL,
    tags JSONB NOT NULL DEFAULT '[]',
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
  );
  CREATE INDEX media_app_create ON media (app_id, create_time, seq);
  CREATE TABLE event_configs (
    app_id BIGINT PRIMARY KEY,
    mode TEXT NOT NULL,
    notification_url TEXT NOT NULL,
    sign_key TEXT NOT NULL,
    upload_switch TEXT NOT NULL,
    delete_switch TEXT NOT NULL,
    persistence_switch TEXT NOT NULL
  );
  CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    content JSON NOT NULL,
    delivery TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    available_at BIGINT NOT NULL,
    handle TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX events_due ON events (delivery, app_id, available_at, seq);
  CREATE INDEX events_handle ON events (handle) WHERE handle <> '';
  CREATE INDEX events_created ON events (create_time);
  CREATE TABLE templates (
    app_id BIGINT NOT NULL,
    family TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    body JSONB NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    PRIMARY KEY (app_id, family, key)
  );
  CREATE TABLE media_parts (
    app_id BIGINT NOT NULL,
    file_id TEXT NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    definition BIGINT NOT NULL,
    item JSONB NOT NULL,
    blobs JSONB NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (app_id, file_id, kind, definition)
  );
  CREATE TABLE sequences (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
  `,
  `
  CREATE TABLE upload_sessions (
    id TEXT PRIMARY KEY,
    session_key TEXT NOT NULL UNIQUE,
    app_id BIGINT NOT NULL,
    secret_id TEXT NOT NULL UNIQUE,
    secret_key TEXT NOT NULL,
    token TEXT NOT NULL,
    media_key TEXT NOT NULL,
    cover_key TEXT NOT NULL DEFAULT '',
    params JSONB NOT NULL,
    media JSONB,
    cover JSONB,
    status TEXT NOT NULL DEFAULT 'OPEN',
    file_id TEXT NOT NULL DEFAULT '',
    commit_time BIGINT,
    create_time BIGINT NOT NULL,
    expire_time BIGINT NOT NULL
  );
  CREATE INDEX upload_sessions_expire ON upload_sessions (expire_time);
  CREATE TABLE upload_multiparts (
    upload_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES upload_sessions (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    content_type TEXT NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL
  );
  CREATE INDEX upload_multiparts_session ON upload_multiparts (session_id);
  CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES upload_multiparts (upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    file TEXT NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
  );
  `,
  `
  ALTER TABLE tasks ADD COLUMN abort_request TEXT;
  `,
];

// BIGINT (int8) and COUNT(*) arrive as numbers: every value openvod keeps in one (millisecond
// times, sequence numbers, application ids) is far below 2^53. JSON/JSONB are parsed by pg.
const INT8_OID = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as "text")) as pg.CustomTypesConfig["getTypeParser"],
};

type Raw = Record<string, any>;
type Queryable = Pick<pg.ClientBase, "query">;

/**
 * PostgreSQL text cannot hold NUL, which SQLite stores as given: it becomes U+FFFD here rather
 * than failing the request.
 */
function text(s: string): string {
  return s.includes("\0") ? s.replace(/\0/g, "\uFFFD") : s;
}

/** A document as a JSON parameter (cast ::jsonb or ::json in the statement); NUL as in text(). */
function doc(value: unknown): string {
  const s = JSON.stringify(value);
  if (!s.includes("\\u0000")) return s;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "string" ? text(v) : v));
}

function taskFromRaw(r: Raw): TaskRow {
  return {
    taskId: r.task_id,
    appId: r.app_id,
    taskType: r.task_type,
    status: r.status as TaskStatus,
    priority: r.priority,
    fileId: r.file_id,
    sessionId: r.session_id,
    sessionContext: r.session_context,
    input: r.input,
    state: r.state,
    errCode: r.err_code,
    errCodeExt: r.err_code_ext,
    message: r.message,
    createTime: r.create_time,
    beginTime: r.begin_time ?? null,
    finishTime: r.finish_time ?? null,
    attempts: r.attempts,
    leaseOwner: r.lease_owner ?? null,
    leaseUntil: r.lease_until ?? null,
    abortRequest: r.abort_request ?? null,
  };
}

function mediaFromRaw(r: Raw): MediaRow {
  return {
    fileId: r.file_id,
    appId: r.app_id,
    name: r.name,
    description: r.description,
    classId: r.class_id,
    type: r.type,
    category: r.category,
    blobKey: r.blob_key,
    coverKey: r.cover_key,
    metaData: r.meta_data,
    sourceType: r.source_type,
    sourceContext: r.source_context,
    storageRegion: r.storage_region,
    expireTime: r.expire_time,
    tags: r.tags,
    createTime: r.create_time,
    updateTime: r.update_time,
  };
}

function eventFromRaw(r: Raw): EventRow {
  return {
    seq: r.seq,
    appId: r.app_id,
    eventType: r.event_type,
    content: r.content,
    delivery: r.delivery,
    createTime: r.create_time,
    handle: r.handle,
    attempts: r.attempts,
    availableAt: r.available_at,
  };
}

function partFromRaw(r: Raw): MediaPart {
  return {
    appId: r.app_id,
    fileId: r.file_id,
    kind: r.kind,
    definition: r.definition,
    item: r.item,
    blobs: r.blobs,
    createTime: r.create_time,
  };
}

function templateFromRaw(r: Raw): TemplateRow {
  return {
    appId: r.app_id,
    family: r.family,
    key: r.key,
    body: r.body,
    createTime: r.create_time,
    updateTime: r.update_time,
  };
}

function appFromRaw(r: Raw): AppRow {
  return {
    subAppId: r.sub_app_id,
    name: r.name,
    description: r.description,
    status: r.status,
    createTime: r.create_time,
    isDefault: r.is_default === true,
  };
}

function uploadSessionFromRaw(r: Raw): UploadSessionRow {
  return {
    id: r.id,
    sessionKey: r.session_key,
    appId: r.app_id,
    secretId: r.secret_id,
    secretKey: r.secret_key,
    token: r.token,
    mediaKey: r.media_key,
    coverKey: r.cover_key,
    params: r.params,
    media: r.media ?? null,
    cover: r.cover ?? null,
    status: r.status,
    fileId: r.file_id,
    commitTime: r.commit_time ?? null,
    createTime: r.create_time,
    expireTime: r.expire_time,
  };
}

function multipartFromRaw(r: Raw): MultipartRow {
  return {
    uploadId: r.upload_id,
    sessionId: r.session_id,
    target: r.target,
    contentType: r.content_type,
    createTime: r.create_time,
  };
}

function uploadPartFromRaw(r: Raw): UploadPartRow {
  return {
    uploadId: r.upload_id,
    partNumber: r.part_number,
    file: r.file,
    size: r.size,
    etag: r.etag,
    lastModified: r.last_modified,
  };
}

/** Collects positional parameters: `p.add(v)` returns "$n". */
class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

export interface PostgresStoreOptions {
  /** Connections in this process's query pool (the LISTEN connection is one more). */
  poolSize?: number;
  /** Where connection trouble is reported (the pool and the LISTEN connection recover by themselves). */
  log?: { warn(obj: object, msg: string): void };
}

export function isPostgresUrl(url: string | undefined): boolean {
  return !!url && /^postgres(ql)?:\/\//i.test(url);
}

const SQL = {
  getTask: "SELECT * FROM tasks WHERE task_id = $1 AND app_id = $2",
  insertTask: `INSERT INTO tasks (task_id, app_id, task_type, status, priority, file_id, session_id,
    session_context, input, state, create_time) VALUES ($1, $2, $3, 'WAITING', $4, $5, $6, $7, $8::jsonb,
    $9::jsonb, $10)`,
  claim: `UPDATE tasks SET status = 'PROCESSING', lease_owner = $1, lease_until = $2, attempts = attempts + 1,
    begin_time = COALESCE(begin_time, $3)
    WHERE seq = (SELECT seq FROM tasks WHERE status = 'WAITING' OR (status = 'PROCESSING' AND lease_until < $3)
      ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING *`,
  heartbeat: `UPDATE tasks SET lease_until = $1 WHERE task_id = $2 AND lease_owner = $3 AND status = 'PROCESSING'
    RETURNING abort_request`,
  heartbeatState: `UPDATE tasks SET lease_until = $1, state = $4::jsonb WHERE task_id = $2 AND lease_owner = $3
    AND status = 'PROCESSING' RETURNING abort_request`,
  // Locks the row: an abort requested concurrently waits for this finish, or is seen by it.
  held: `SELECT abort_request FROM tasks WHERE task_id = $1 AND lease_owner = $2 AND status = 'PROCESSING'
    FOR UPDATE`,
  // ManageTask Abort and DeleteMedia, completed by "<column> = $2": WAITING ends ABORTED at once
  // ($1 now, $4-$6 the ErrCode, ErrCodeExt and Message), PROCESSING gets the request recorded.
  abort: `UPDATE tasks SET status = CASE WHEN status = 'WAITING' THEN 'ABORTED' ELSE status END,
    finish_time = CASE WHEN status = 'WAITING' THEN $1 ELSE finish_time END,
    err_code = CASE WHEN status = 'WAITING' THEN $4 ELSE err_code END,
    err_code_ext = CASE WHEN status = 'WAITING' THEN $5 ELSE err_code_ext END,
    message = CASE WHEN status = 'WAITING' THEN $6 ELSE message END,
    abort_request = CASE WHEN status = 'PROCESSING' THEN COALESCE(abort_request, $6) ELSE abort_request END
    WHERE app_id = $3 AND status IN ('WAITING', 'PROCESSING') AND`,
  finish: `UPDATE tasks SET status = $8, err_code = $1, err_code_ext = $2, message = $3, state = $4::jsonb,
    finish_time = $5, lease_owner = NULL, lease_until = NULL
    WHERE task_id = $6 AND lease_owner = $7 AND status = 'PROCESSING'`,
  insertMedia: `INSERT INTO media (file_id, app_id, name, description, class_id, type, category, blob_key,
    cover_key, meta_data, source_type, source_context, storage_region, expire_time, tags, create_time,
    update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15::jsonb, $16, $17)`,
  // One statement for a batch: rows keep their order (WITH ORDINALITY), and each application
  // whose events were written is notified once, when the transaction commits.
  insertEvents: `WITH ins AS (
      INSERT INTO events (app_id, event_type, content, delivery, create_time, available_at)
      SELECT a, t, c, d, ct, 0 FROM unnest($1::bigint[], $2::text[], $3::json[], $4::text[], $5::bigint[])
        WITH ORDINALITY AS u(a, t, c, d, ct, n) ORDER BY n
      RETURNING app_id)
    SELECT pg_notify('${EVENTS_CHANNEL}', app_id::text) FROM (SELECT DISTINCT app_id FROM ins) d`,
  notifyTasks: `SELECT pg_notify('${TASKS_CHANNEL}', '')`,
  putPart: `INSERT INTO media_parts (app_id, file_id, kind, definition, item, blobs, create_time)
    VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)
    ON CONFLICT (app_id, file_id, kind, definition)
    DO UPDATE SET item = EXCLUDED.item, blobs = EXCLUDED.blobs, create_time = EXCLUDED.create_time`,
} as const;

export class PostgresStore implements Store {
  private closed = false;
  private listener: pg.Client | undefined;
  private listenRetry: NodeJS.Timeout | undefined;
  private listenDelayMs = 100;
  private readonly subscribers: { onTask: () => void; onEvents: (appId: number) => void }[] = [];

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly log: PostgresStoreOptions["log"],
  ) {}

  /** Connects, applies pending migrations (once across processes) and returns the store. */
  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? DEFAULT_POOL_SIZE,
      types,
      keepAlive: true,
      application_name: "openvod",
    });
    // An idle connection that breaks (server restart, network) is dropped and replaced on the
    // next query; without a listener the error would take the process down.
    pool.on("error", (err) => opts.log?.warn({ err }, "a PostgreSQL connection failed"));
    const store = new PostgresStore(pool, url, opts.log);
    try {
      await store.migrate();
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  private async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      // Session-level lock: every process that starts at the same time waits here, and each
      // migration runs in a transaction of its own that records its version.
      await c.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
      try {
        await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`);
        const { rows } = await c.query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations");
        const applied = Number(rows[0].v);
        for (let i = applied; i < MIGRATIONS.length; i++) {
          await c.query("BEGIN");
          try {
            await c.query(MIGRATIONS[i]!);
            await c.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [
              i + 1,
              Date.now(),
            ]);
            await c.query("COMMIT");
          } catch (err) {
            await c.query("ROLLBACK").catch(() => {});
            throw err;
          }
        }
      } finally {
        await c.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
      }
    } finally {
      c.release();
    }
  }

  /** Runs fn in a transaction on one connection; a broken connection is discarded, not reused. */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
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

  private async one(sql: string, values: unknown[], name?: string): Promise<Raw | undefined> {
    const r = await this.pool.query(name ? { name, text: sql, values } : { text: sql, values });
    return r.rows[0];
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.listenRetry);
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => {});
    await this.pool.end();
  }

  // -------------------------------------------------------------------------------------------
  // Wake-ups between processes

  /**
   * Calls onTask whenever any process makes a task runnable, and onEvents(appId) whenever any
   * process writes events of that application. One dedicated connection LISTENs for the whole
   * store; it reconnects by itself, and after a reconnection onTask is called once (a wake-up
   * may have been missed; the worker pool's timer and PullEvents' deadline bound the rest).
   */
  async subscribe(onTask: () => void, onEvents: (appId: number) => void): Promise<void> {
    this.subscribers.push({ onTask, onEvents });
    if (!this.listener) await this.listen();
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.url,
      types,
      keepAlive: true,
      application_name: LISTEN_APPLICATION_NAME,
    });
    let failed = false;
    const fail = (err?: Error) => {
      if (failed) return;
      failed = true;
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      this.log?.warn({ err }, "the PostgreSQL LISTEN connection was lost; reconnecting");
      this.listenRetry = setTimeout(() => void this.listen(), this.listenDelayMs);
      this.listenRetry.unref();
      this.listenDelayMs = Math.min(this.listenDelayMs * 2, 5_000);
    };
    client.on("error", fail);
    client.on("end", () => fail());
    client.on("notification", (msg) => {
      if (msg.channel === TASKS_CHANNEL) {
        for (const s of this.subscribers) s.onTask();
      } else if (msg.channel === EVENTS_CHANNEL) {
        const appId = Number(msg.payload);
        if (Number.isFinite(appId)) for (const s of this.subscribers) s.onEvents(appId);
      }
    });
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${TASKS_CHANNEL}; LISTEN ${EVENTS_CHANNEL}`);
    } catch (err) {
      fail(err as Error);
      return;
    }
    if (failed || this.closed) return;
    const reconnected = this.listenDelayMs > 100;
    this.listenDelayMs = 100;
    if (reconnected) for (const s of this.subscribers) s.onTask();
  }

  // -------------------------------------------------------------------------------------------
  // Applications

  async ensureDefaultApp(appId: number, now: number): Promise<void> {
    // Several processes may start at once: the first insert wins, the others change nothing.
    await this.pool.query(
      `INSERT INTO apps (sub_app_id, name, description, status, create_time, is_default)
       VALUES ($1, 'default', 'The account''s default application', 'On', $2, TRUE)
       ON CONFLICT (sub_app_id) DO NOTHING`,
      [appId, now],
    );
  }

  async getApp(subAppId: number): Promise<AppRow | undefined> {
    const r = await this.one("SELECT * FROM apps WHERE sub_app_id = $1", [subAppId], "getApp");
    return r && appFromRaw(r);
  }

  async listApps(offset: number, limit: number): Promise<{ total: number; apps: AppRow[] }> {
    const total = (await this.one("SELECT COUNT(*) AS n FROM apps", []))!.n as number;
    const { rows } = await this.pool.query(
      "SELECT * FROM apps ORDER BY is_default DESC, create_time, sub_app_id LIMIT $1 OFFSET $2",
      [limit, offset],
    );
    return { total, apps: rows.map(appFromRaw) };
  }

  async createApp(app: AppRow): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO apps (sub_app_id, name, description, status, create_time, is_default)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sub_app_id) DO NOTHING`,
      [app.subAppId, text(app.name), text(app.description), app.status, app.createTime, app.isDefault],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async updateApp(
    subAppId: number,
    patch: Partial<Pick<AppRow, "name" | "description" | "status">>,
  ): Promise<boolean> {
    const p = new Params();
    const sets: string[] = [];
    if (patch.name !== undefined) sets.push(`name = ${p.add(text(patch.name))}`);
    if (patch.description !== undefined) sets.push(`description = ${p.add(text(patch.description))}`);
    if (patch.status !== undefined) sets.push(`status = ${p.add(patch.status)}`);
    if (sets.length === 0) return !!(await this.getApp(subAppId));
    const r = await this.pool.query(
      `UPDATE apps SET ${sets.join(", ")} WHERE sub_app_id = ${p.add(subAppId)}`,
      p.values,
    );
    return (r.rowCount ?? 0) > 0;
  }

  async nextAppId(floor: number): Promise<number> {
    const m = (await this.one("SELECT MAX(sub_app_id) AS m FROM apps WHERE is_default = FALSE", []))!.m as
      number | null;
    return Math.max(floor, (m ?? floor - 1) + 1);
  }

  // -------------------------------------------------------------------------------------------
  // Tasks

  private insertTaskValues(t: NewTask): unknown[] {
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

  /** Inserts tasks in a transaction, and wakes the workers of every process when it commits. */
  private async insertTasks(c: Queryable, tasks: NewTask[] | undefined): Promise<void> {
    if (!tasks?.length) return;
    for (const t of tasks) {
      await c.query({ name: "insertTask", text: SQL.insertTask, values: this.insertTaskValues(t) });
    }
    await c.query(SQL.notifyTasks);
  }

  private async insertMedia(c: Queryable, m: MediaRow): Promise<void> {
    await c.query({
      name: "insertMedia",
      text: SQL.insertMedia,
      values: [
        m.fileId,
        m.appId,
        text(m.name),
        text(m.description),
        m.classId,
        text(m.type),
        text(m.category),
        m.blobKey,
        m.coverKey,
        doc(m.metaData),
        text(m.sourceType),
        text(m.sourceContext),
        text(m.storageRegion),
        text(m.expireTime),
        doc(m.tags),
        m.createTime,
        m.updateTime,
      ],
    });
  }

  async insertTask(t: NewTask): Promise<void> {
    // The notification is sent when the row commits: a worker woken by it finds the task.
    await this.pool.query({
      name: "insertTaskNotify",
      text: `WITH ins AS (${SQL.insertTask} RETURNING 1) SELECT pg_notify('${TASKS_CHANNEL}', '') FROM ins`,
      values: this.insertTaskValues(t),
    });
  }

  async getTask(appId: number, taskId: string): Promise<TaskRow | undefined> {
    const r = await this.one(SQL.getTask, [taskId, appId], "getTask");
    return r && taskFromRaw(r);
  }

  async findTaskBySession(appId: number, sessionId: string, since: number): Promise<TaskRow | undefined> {
    const r = await this.one(
      `SELECT * FROM tasks WHERE app_id = $1 AND session_id = $2 AND create_time >= $3
       ORDER BY seq DESC LIMIT 1`,
      [appId, text(sessionId), since],
      "bySession",
    );
    return r && taskFromRaw(r);
  }

  async listTasks(f: TaskListFilter): Promise<TaskRow[]> {
    const p = new Params();
    const where = [`app_id = ${p.add(f.appId)}`, `create_time >= ${p.add(f.notBefore)}`];
    if (f.status) where.push(`status = ${p.add(f.status)}`);
    if (f.fileId) where.push(`file_id = ${p.add(text(f.fileId))}`);
    if (f.createAfter !== undefined) where.push(`create_time >= ${p.add(f.createAfter)}`);
    if (f.createBefore !== undefined) where.push(`create_time < ${p.add(f.createBefore)}`);
    if (f.finishAfter !== undefined) where.push(`finish_time >= ${p.add(f.finishAfter)}`);
    if (f.finishBefore !== undefined) where.push(`finish_time < ${p.add(f.finishBefore)}`);
    const key = f.sortField === "FinishTime" ? "COALESCE(finish_time, 0)" : "create_time";
    const dir = f.order === "Asc" ? "ASC" : "DESC";
    if (f.fromTaskId) {
      // Keyset paging: continue at the task the previous page named, in the same order.
      const from = await this.one(
        "SELECT seq, create_time, finish_time FROM tasks WHERE task_id = $1 AND app_id = $2",
        [text(f.fromTaskId), f.appId],
      );
      if (!from) return [];
      const fromKey = f.sortField === "FinishTime" ? (from.finish_time ?? 0) : from.create_time;
      const cmp = f.order === "Asc" ? ">" : "<";
      const k = p.add(fromKey);
      where.push(`(${key} ${cmp} ${k} OR (${key} = ${k} AND seq ${cmp}= ${p.add(from.seq)}))`);
    }
    const sql = `SELECT * FROM tasks WHERE ${where.join(" AND ")} ORDER BY ${key} ${dir}, seq ${dir}
      LIMIT ${p.add(f.limit)}`;
    const { rows } = await this.pool.query(sql, p.values);
    return rows.map(taskFromRaw);
  }

  async claimTask(owner: string, now: number, leaseMs: number): Promise<TaskRow | undefined> {
    const r = await this.one(SQL.claim, [owner, now + leaseMs, now], "claim");
    return r && taskFromRaw(r);
  }

  async heartbeat(
    taskId: string,
    owner: string,
    leaseUntil: number,
    state?: Record<string, unknown>,
    events?: NewEvent[],
  ): Promise<LeaseState> {
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
    if (!events?.length) return lease(await renew(this.pool));
    return this.tx(async (c) => {
      const r = lease(await renew(c));
      if (r !== "lost") await this.writeEvents(c, events);
      return r;
    });
  }

  async finishTask(
    taskId: string,
    owner: string,
    f: TaskFinish,
    effects: TaskEffects = {},
  ): Promise<"finished" | "lost" | "abort" | "mediaGone"> {
    return this.tx(async (c) => {
      const { rows } = await c.query({ name: "held", text: SQL.held, values: [taskId, owner] });
      // Not ours any more (the lease ran out and another worker took the task): change nothing.
      if (!rows[0]) return "lost";
      const status = f.status ?? "FINISH";
      if (status === "FINISH") {
        if (rows[0].abort_request !== null) return "abort";
        for (const m of mediaTouched(effects)) {
          // FOR KEY SHARE: a concurrent DeleteMedia waits until this task's outputs are recorded,
          // while other finishing tasks may still update the row (FOR SHARE would deadlock two
          // of them merging metadata into the same item).
          const found = await c.query(
            "SELECT 1 FROM media WHERE file_id = $1 AND app_id = $2 FOR KEY SHARE",
            [m.fileId, m.appId],
          );
          if (found.rows.length === 0) return "mediaGone";
        }
      }
      await c.query({
        name: "finish",
        text: SQL.finish,
        values: [
          f.errCode,
          text(f.errCodeExt),
          text(f.message),
          doc(f.state),
          f.finishTime,
          taskId,
          owner,
          status,
        ],
      });
      await this.writeEvents(c, effects.events);
      await this.insertTasks(c, effects.insertTasks);
      for (const part of effects.putParts ?? []) {
        await c.query({
          name: "putPart",
          text: SQL.putPart,
          values: [
            part.appId,
            part.fileId,
            part.kind,
            part.definition,
            doc(part.item),
            doc(part.blobs),
            part.createTime,
          ],
        });
      }
      if (effects.setCover) {
        const { appId, fileId, coverKey } = effects.setCover;
        await c.query(
          "UPDATE media SET cover_key = $1, update_time = $2 WHERE file_id = $3 AND app_id = $4",
          [coverKey, f.finishTime, fileId, appId],
        );
      }
      const created = effects.insertMedia ?? [];
      // A task that created media items is listed under the first (DescribeTasks FileId filter).
      if (created[0])
        await c.query("UPDATE tasks SET file_id = $1 WHERE task_id = $2", [created[0].fileId, taskId]);
      for (const m of created) await this.insertMedia(c, m);
      if (effects.mergeMetaData) {
        const { appId, fileId, patch } = effects.mergeMetaData;
        // Shallow merge, as { ...meta, ...patch }.
        await c.query(
          "UPDATE media SET meta_data = meta_data || $1::jsonb WHERE file_id = $2 AND app_id = $3",
          [doc(patch), fileId, appId],
        );
      }
      return "finished" as const;
    });
  }

  async releaseTask(taskId: string, owner: string, state: Record<string, unknown>): Promise<boolean> {
    const r = await this.pool.query(
      `WITH rel AS (UPDATE tasks SET attempts = GREATEST(attempts - 1, 0), lease_owner = NULL, lease_until = 0,
         state = $1::jsonb WHERE task_id = $2 AND lease_owner = $3 AND status = 'PROCESSING' RETURNING 1)
       SELECT pg_notify('${TASKS_CHANNEL}', '') FROM rel`,
      [doc(state), taskId, owner],
    );
    return r.rows.length > 0;
  }

  async abortTask(
    appId: number,
    taskId: string,
    now: number,
    reason: TaskEnd,
  ): Promise<"aborted" | "requested" | "ended" | "notFound"> {
    const { rows } = await this.pool.query(`${SQL.abort} task_id = $2 RETURNING status`, [
      now,
      text(taskId),
      appId,
      reason.errCode,
      text(reason.errCodeExt),
      text(reason.message),
    ]);
    if (rows[0]) return rows[0].status === "ABORTED" ? "aborted" : "requested";
    return (await this.one(SQL.getTask, [text(taskId), appId], "getTask")) ? "ended" : "notFound";
  }

  /**
   * Never voids leases here: other processes share the database and may be running the tasks
   * (and delivering the callbacks) that hold them. A dead process's leases simply run out.
   */
  async releaseAllLeases(): Promise<number> {
    return 0;
  }

  async purgeTasks(createdBefore: number, limit: number): Promise<number> {
    const r = await this.pool.query(
      `DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE create_time < $1
       AND status IN ('FINISH', 'ABORTED') LIMIT $2)`,
      [createdBefore, limit],
    );
    return r.rowCount ?? 0;
  }

  async countRunnable(): Promise<number> {
    return (await this.one("SELECT COUNT(*) AS n FROM tasks WHERE status IN ('WAITING', 'PROCESSING')", []))!
      .n as number;
  }

  // -------------------------------------------------------------------------------------------
  // Media

  async getMedia(appId: number, fileId: string): Promise<MediaRow | undefined> {
    const r = await this.one(
      "SELECT * FROM media WHERE file_id = $1 AND app_id = $2",
      [text(fileId), appId],
      "getMedia",
    );
    return r && mediaFromRaw(r);
  }

  async updateMedia(
    appId: number,
    fileId: string,
    patch: Partial<
      Pick<
        MediaRow,
        "name" | "description" | "classId" | "expireTime" | "tags" | "coverKey" | "blobKey" | "updateTime"
      >
    >,
  ): Promise<boolean> {
    const p = new Params();
    const cols: [string, unknown][] = [
      ["name", patch.name === undefined ? undefined : text(patch.name)],
      ["description", patch.description === undefined ? undefined : text(patch.description)],
      ["class_id", patch.classId],
      ["expire_time", patch.expireTime === undefined ? undefined : text(patch.expireTime)],
      ["tags", patch.tags === undefined ? undefined : doc(patch.tags)],
      ["cover_key", patch.coverKey],
      ["blob_key", patch.blobKey],
      ["update_time", patch.updateTime],
    ];
    const sets = cols
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k} = ${p.add(v)}${k === "tags" ? "::jsonb" : ""}`);
    if (sets.length === 0) return !!(await this.getMedia(appId, fileId));
    const r = await this.pool.query(
      `UPDATE media SET ${sets.join(", ")} WHERE file_id = ${p.add(text(fileId))} AND app_id = ${p.add(appId)}`,
      p.values,
    );
    return (r.rowCount ?? 0) > 0;
  }

  async deleteMedia(
    appId: number,
    fileId: string,
    events?: NewEvent[],
    abort?: { now: number; reason: TaskEnd },
  ): Promise<MediaRow | undefined> {
    return this.tx(async (c) => {
      const { rows } = await c.query("DELETE FROM media WHERE file_id = $1 AND app_id = $2 RETURNING *", [
        text(fileId),
        appId,
      ]);
      if (!rows[0]) return undefined;
      await c.query("DELETE FROM media_parts WHERE app_id = $1 AND file_id = $2", [appId, text(fileId)]);
      await this.writeEvents(c, events);
      if (abort) {
        const { errCode, errCodeExt, message } = abort.reason;
        await c.query(`${SQL.abort} file_id = $2`, [
          abort.now,
          text(fileId),
          appId,
          errCode,
          text(errCodeExt),
          text(message),
        ]);
      }
      return mediaFromRaw(rows[0]);
    });
  }

  async searchMedia(q: MediaSearch): Promise<{ total: number; media: MediaRow[] }> {
    const p = new Params();
    const where = [`app_id = ${p.add(q.appId)}`];
    const list = (col: string, values: unknown[] | undefined, type: string) => {
      if (values?.length) where.push(`${col} = ANY(${p.add(values)}::${type}[])`);
    };
    const texts = (values: string[]) => values.map(text);
    // Names and Descriptions match fuzzily, as in the cloud: any one given text inside the field.
    const contains = (col: string, values: string[] | undefined) => {
      if (!values?.length) return;
      where.push(
        `(${texts(values)
          .map((v) => `strpos(${col}, ${p.add(v)}) > 0`)
          .join(" OR ")})`,
      );
    };
    list("file_id", q.fileIds && texts(q.fileIds), "text");
    contains("name", q.names);
    contains("description", q.descriptions);
    list("class_id", q.classIds, "bigint");
    list("category", q.categories && texts(q.categories), "text");
    list("source_type", q.sourceTypes && texts(q.sourceTypes), "text");
    list("type", q.mediaTypes && texts(q.mediaTypes), "text");
    list("storage_region", q.storageRegions && texts(q.storageRegions), "text");
    if (q.namePrefixes?.length) {
      where.push(
        `(${texts(q.namePrefixes)
          .map((v) => `starts_with(name, ${p.add(v)})`)
          .join(" OR ")})`,
      );
    }
    // Any one of the tags among the item's tags (jsonb ?|: strings that are array elements).
    if (q.tags?.length) where.push(`tags ?| ${p.add(texts(q.tags))}::text[]`);
    if (q.text) {
      const t = p.add(text(q.text));
      where.push(`(strpos(name, ${t}) > 0 OR strpos(description, ${t}) > 0)`);
    }
    if (q.expireAfter !== undefined) where.push(`expire_time >= ${p.add(q.expireAfter)}`);
    if (q.expireBefore !== undefined) where.push(`expire_time < ${p.add(q.expireBefore)}`);
    if (q.createAfter !== undefined) where.push(`create_time >= ${p.add(q.createAfter)}`);
    if (q.createBefore !== undefined) where.push(`create_time < ${p.add(q.createBefore)}`);
    const w = where.join(" AND ");
    const total = (await this.one(`SELECT COUNT(*) AS n FROM media WHERE ${w}`, p.values))!.n as number;
    const dir = q.sortOrder === "Asc" ? "ASC" : "DESC";
    const { rows } = await this.pool.query(
      `SELECT * FROM media WHERE ${w} ORDER BY create_time ${dir}, seq ${dir}
       LIMIT ${p.add(q.limit)} OFFSET ${p.add(q.offset)}`,
      p.values,
    );
    return { total, media: rows.map(mediaFromRaw) };
  }

  // -------------------------------------------------------------------------------------------
  // Events

  private async writeEvents(c: Queryable, events: NewEvent[] | undefined): Promise<void> {
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

  async getEventConfig(appId: number): Promise<EventConfig> {
    const r = await this.one("SELECT * FROM event_configs WHERE app_id = $1", [appId], "getEventConfig");
    if (!r) return { ...DEFAULT_EVENT_CONFIG };
    return {
      mode: r.mode,
      notificationUrl: r.notification_url,
      signKey: r.sign_key,
      uploadSwitch: r.upload_switch,
      deleteSwitch: r.delete_switch,
      persistenceSwitch: r.persistence_switch,
    };
  }

  async setEventConfig(appId: number, patch: Partial<EventConfig>): Promise<void> {
    // Read and write under the row's lock, so two processes' patches of different fields both stick.
    await this.tx(async (c) => {
      await c.query("INSERT INTO event_configs VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING", [
        appId,
        DEFAULT_EVENT_CONFIG.mode,
        DEFAULT_EVENT_CONFIG.notificationUrl,
        DEFAULT_EVENT_CONFIG.signKey,
        DEFAULT_EVENT_CONFIG.uploadSwitch,
        DEFAULT_EVENT_CONFIG.deleteSwitch,
        DEFAULT_EVENT_CONFIG.persistenceSwitch,
      ]);
      const p = new Params();
      const cols: [string, string | undefined][] = [
        ["mode", patch.mode],
        ["notification_url", patch.notificationUrl],
        ["sign_key", patch.signKey],
        ["upload_switch", patch.uploadSwitch],
        ["delete_switch", patch.deleteSwitch],
        ["persistence_switch", patch.persistenceSwitch],
      ];
      const sets = cols.filter(([, v]) => v !== undefined).map(([k, v]) => `${k} = ${p.add(text(v!))}`);
      if (sets.length)
        await c.query(`UPDATE event_configs SET ${sets.join(", ")} WHERE app_id = ${p.add(appId)}`, p.values);
    });
  }

  async insertEvents(events: NewEvent[]): Promise<void> {
    await this.writeEvents(this.pool, events);
  }

  async pullEvents(appId: number, now: number, hideMs: number, limit: number): Promise<EventRow[]> {
    // SKIP LOCKED: two API processes pulling at once hand out disjoint events.
    const { rows } = await this.pool.query({
      name: "pullEvents",
      text: `UPDATE events SET handle = replace(gen_random_uuid()::text, '-', ''), available_at = $3,
          attempts = attempts + 1
        WHERE seq IN (SELECT seq FROM events WHERE delivery = 'PULL' AND app_id = $1 AND available_at <= $2
          ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      values: [appId, now, now + hideMs, limit],
    });
    return rows.map(eventFromRaw).sort((a, b) => a.seq - b.seq);
  }

  async confirmEvents(appId: number, handles: string[], now: number): Promise<string[]> {
    if (handles.length === 0) return [];
    const { rows } = await this.pool.query(
      "DELETE FROM events WHERE app_id = $1 AND handle = ANY($2::text[]) AND available_at > $3 RETURNING handle",
      [appId, handles.map(text), now],
    );
    // As one at a time would: each deleted handle counts once, a repeat of it is stale.
    const deleted = new Set(rows.map((r) => r.handle as string));
    return handles.filter((h) => !deleted.delete(text(h)));
  }

  async countPullableEvents(appId: number, now: number): Promise<number> {
    return (await this.one(
      "SELECT COUNT(*) AS n FROM events WHERE delivery = 'PULL' AND app_id = $1 AND available_at <= $2",
      [appId, now],
      "countPullable",
    ))!.n as number;
  }

  async claimPushEvents(
    now: number,
    leaseMs: number,
    limit: number,
    perApp: number,
    busyApps: number[],
  ): Promise<EventRow[]> {
    // At most perApp events of one application per claim, so one busy receiver cannot fill the
    // batch. Window functions cannot lock rows, so the UPDATE re-checks availability instead:
    // of two dispatchers that picked the same event, the second finds it leased and skips it.
    const { rows } = await this.pool.query(
      `WITH c AS (
         SELECT seq, available_at FROM (
           SELECT seq, available_at,
             ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY available_at, seq) AS rn
           FROM events WHERE delivery = 'PUSH' AND available_at <= $1 AND NOT (app_id = ANY($3::bigint[]))) w
         WHERE rn <= $4 ORDER BY available_at, seq LIMIT $5)
       UPDATE events e SET available_at = $2, attempts = e.attempts + 1
       FROM c WHERE e.seq = c.seq AND e.available_at <= $1
       RETURNING e.*, c.available_at AS claimed_at`,
      [now, now + leaseMs, busyApps, perApp, limit],
    );
    return rows
      .map((r) => ({ ...eventFromRaw(r), availableAt: r.claimed_at as number }))
      .sort((a, b) => a.availableAt - b.availableAt || a.seq - b.seq);
  }

  async settlePushEvent(
    seq: number,
    delivered: boolean,
    retryAt: number | null,
    error: string,
  ): Promise<void> {
    if (delivered || retryAt === null) await this.pool.query("DELETE FROM events WHERE seq = $1", [seq]);
    else
      await this.pool.query("UPDATE events SET available_at = $1, last_error = $2 WHERE seq = $3", [
        retryAt,
        text(error.slice(0, 500)),
        seq,
      ]);
  }

  async nextPushDue(): Promise<number | undefined> {
    const t = (await this.one("SELECT MIN(available_at) AS t FROM events WHERE delivery = 'PUSH'", []))!.t as
      number | null;
    return t ?? undefined;
  }

  async purgeEvents(createdBefore: number): Promise<number> {
    return (
      (await this.pool.query("DELETE FROM events WHERE create_time < $1", [createdBefore])).rowCount ?? 0
    );
  }

  // -------------------------------------------------------------------------------------------
  // Media parts

  async getMediaParts(appId: number, fileId: string): Promise<MediaPart[]> {
    const { rows } = await this.pool.query(
      "SELECT * FROM media_parts WHERE app_id = $1 AND file_id = $2 ORDER BY kind, definition",
      [appId, text(fileId)],
    );
    return rows.map(partFromRaw);
  }

  async deleteMediaParts(
    appId: number,
    fileId: string,
    kind: string,
    definition: number,
  ): Promise<MediaPart[]> {
    const { rows } = definition
      ? await this.pool.query(
          "DELETE FROM media_parts WHERE app_id = $1 AND file_id = $2 AND kind = $3 AND definition = $4 RETURNING *",
          [appId, text(fileId), kind, definition],
        )
      : await this.pool.query(
          "DELETE FROM media_parts WHERE app_id = $1 AND file_id = $2 AND kind = $3 RETURNING *",
          [appId, text(fileId), kind],
        );
    return rows.map(partFromRaw);
  }

  // -------------------------------------------------------------------------------------------
  // Custom templates

  async listTemplates(appId: number, family: string): Promise<TemplateRow[]> {
    const { rows } = await this.pool.query(
      "SELECT * FROM templates WHERE app_id = $1 AND family = $2 ORDER BY create_time, key",
      [appId, family],
    );
    return rows.map(templateFromRaw);
  }

  async getTemplate(appId: number, family: string, key: string): Promise<TemplateRow | undefined> {
    const r = await this.one("SELECT * FROM templates WHERE app_id = $1 AND family = $2 AND key = $3", [
      appId,
      family,
      text(key),
    ]);
    return r && templateFromRaw(r);
  }

  async putTemplate(row: TemplateRow): Promise<void> {
    await this.pool.query(
      `INSERT INTO templates (app_id, family, key, body, create_time, update_time)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6)
       ON CONFLICT (app_id, family, key)
       DO UPDATE SET body = EXCLUDED.body, create_time = EXCLUDED.create_time, update_time = EXCLUDED.update_time`,
      [row.appId, row.family, text(row.key), doc(row.body), row.createTime, row.updateTime],
    );
  }

  async deleteTemplate(appId: number, family: string, key: string): Promise<boolean> {
    const r = await this.pool.query("DELETE FROM templates WHERE app_id = $1 AND family = $2 AND key = $3", [
      appId,
      family,
      text(key),
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async nextTemplateDefinition(appId: number, floor: number): Promise<number> {
    // A sequence, not MAX()+1: a deleted template's Definition is never handed out again. One
    // statement; concurrent callers serialize on the sequence row and each get their own value.
    const r = await this.one(
      `WITH m AS (
         SELECT COALESCE(MAX(CASE WHEN key ~ '^[0-9]{1,15}$' THEN key::bigint END), 0) AS m
         FROM templates WHERE app_id = $2 AND family <> 'Procedure')
       INSERT INTO sequences (name, value) SELECT $1, GREATEST($3::bigint, 1, m.m + 1) FROM m
       ON CONFLICT (name) DO UPDATE SET value = GREATEST($3::bigint, sequences.value + 1, EXCLUDED.value)
       RETURNING value`,
      [`template-definition/${appId}`, appId, floor],
    );
    return r!.value as number;
  }

  // -------------------------------------------------------------------------------------------
  // Upload sessions

  async insertUploadSession(s: UploadSessionRow): Promise<void> {
    await this.pool.query(
      `INSERT INTO upload_sessions (id, session_key, app_id, secret_id, secret_key, token, media_key, cover_key,
         params, media, cover, status, file_id, commit_time, create_time, expire_time)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb, $12, $13, $14, $15, $16)`,
      [
        s.id,
        s.sessionKey,
        s.appId,
        s.secretId,
        s.secretKey,
        s.token,
        text(s.mediaKey),
        text(s.coverKey),
        doc(s.params),
        s.media && doc(s.media),
        s.cover && doc(s.cover),
        s.status,
        s.fileId,
        s.commitTime,
        s.createTime,
        s.expireTime,
      ],
    );
  }

  async getUploadSession(sessionKey: string): Promise<UploadSessionRow | undefined> {
    const r = await this.one("SELECT * FROM upload_sessions WHERE session_key = $1", [text(sessionKey)]);
    return r && uploadSessionFromRaw(r);
  }

  async getUploadSessionBySecretId(secretId: string): Promise<UploadSessionRow | undefined> {
    const r = await this.one(
      "SELECT * FROM upload_sessions WHERE secret_id = $1",
      [text(secretId)],
      "uploadBySecretId",
    );
    return r && uploadSessionFromRaw(r);
  }

  async setUploadObject(
    sessionId: string,
    target: "media" | "cover",
    obj: UploadObject | null,
  ): Promise<{ replaced: UploadObject | null } | undefined> {
    return this.tx(async (c) => {
      const { rows } = await c.query("SELECT * FROM upload_sessions WHERE id = $1 FOR UPDATE", [sessionId]);
      const cur = rows[0];
      if (!cur || cur.status !== "OPEN") return undefined;
      const col = target === "media" ? "media" : "cover";
      await c.query(`UPDATE upload_sessions SET ${col} = $1::jsonb WHERE id = $2`, [
        obj && doc(obj),
        sessionId,
      ]);
      return { replaced: uploadSessionFromRaw(cur)[target] };
    });
  }

  async claimUploadCommit(
    sessionId: string,
    fileId: string,
    now: number,
    staleBefore: number,
  ): Promise<UploadSessionRow | undefined> {
    const r = await this.one(
      `UPDATE upload_sessions SET status = 'COMMITTING', commit_time = $3,
         file_id = CASE WHEN file_id = '' THEN $2 ELSE file_id END
       WHERE id = $1 AND (status = 'OPEN' OR (status = 'COMMITTING' AND commit_time < $4)) RETURNING *`,
      [sessionId, fileId, now, staleBefore],
    );
    return r && uploadSessionFromRaw(r);
  }

  async releaseUploadCommit(sessionId: string, clear: ("media" | "cover")[]): Promise<void> {
    await this.pool.query(
      `UPDATE upload_sessions SET
         media = CASE WHEN $2 THEN NULL ELSE media END,
         cover = CASE WHEN $3 THEN NULL ELSE cover END,
         commit_time = CASE WHEN status = 'COMMITTING' THEN NULL ELSE commit_time END,
         status = CASE WHEN status = 'COMMITTING' THEN 'OPEN' ELSE status END
       WHERE id = $1`,
      [sessionId, clear.includes("media"), clear.includes("cover")],
    );
  }

  async finishUploadCommit(
    sessionId: string,
    media: MediaRow,
    tasks: NewTask[],
    events: NewEvent[],
  ): Promise<boolean> {
    return this.tx(async (c) => {
      const r = await c.query(
        `UPDATE upload_sessions SET status = 'COMMITTED', media = NULL, cover = NULL
         WHERE id = $1 AND status = 'COMMITTING'`,
        [sessionId],
      );
      if ((r.rowCount ?? 0) === 0) return false;
      await this.insertMedia(c, media);
      await this.insertTasks(c, tasks);
      await this.writeEvents(c, events);
      return true;
    });
  }

  async deleteExpiredUploadSessions(now: number, limit: number): Promise<string[]> {
    // Multipart uploads and their parts go with the session (ON DELETE CASCADE).
    const { rows } = await this.pool.query(
      `DELETE FROM upload_sessions WHERE id IN (SELECT id FROM upload_sessions WHERE expire_time < $1
         ORDER BY expire_time LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id, expire_time`,
      [now, limit],
    );
    return rows.sort((a, b) => a.expire_time - b.expire_time).map((r) => r.id as string);
  }

  async insertMultipart(m: MultipartRow): Promise<void> {
    await this.pool.query(
      `INSERT INTO upload_multiparts (upload_id, session_id, target, content_type, create_time)
       VALUES ($1, $2, $3, $4, $5)`,
      [m.uploadId, m.sessionId, m.target, text(m.contentType), m.createTime],
    );
  }

  async getMultipart(uploadId: string): Promise<MultipartRow | undefined> {
    const r = await this.one("SELECT * FROM upload_multiparts WHERE upload_id = $1", [text(uploadId)]);
    return r && multipartFromRaw(r);
  }

  async listMultiparts(sessionId: string): Promise<MultipartRow[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM upload_multiparts WHERE session_id = $1 ORDER BY create_time, upload_id COLLATE "C"',
      [sessionId],
    );
    return rows.map(multipartFromRaw);
  }

  async deleteMultipart(uploadId: string): Promise<UploadPartRow[] | undefined> {
    return this.tx(async (c) => {
      // Locked first, so a part being put right now is either among those returned or refused.
      const up = await c.query("SELECT 1 FROM upload_multiparts WHERE upload_id = $1 FOR UPDATE", [
        text(uploadId),
      ]);
      if (!up.rows[0]) return undefined;
      const { rows } = await c.query("SELECT * FROM upload_parts WHERE upload_id = $1 ORDER BY part_number", [
        text(uploadId),
      ]);
      // Its parts go with it (ON DELETE CASCADE).
      await c.query("DELETE FROM upload_multiparts WHERE upload_id = $1", [text(uploadId)]);
      return rows.map(uploadPartFromRaw);
    });
  }

  async putUploadPart(p: UploadPartRow): Promise<{ replaced: UploadPartRow | undefined } | undefined> {
    return this.tx(async (c) => {
      // Locks the upload against a concurrent delete (which would cascade over this part).
      const up = await c.query("SELECT 1 FROM upload_multiparts WHERE upload_id = $1 FOR SHARE", [
        p.uploadId,
      ]);
      if (!up.rows[0]) return undefined;
      const { rows } = await c.query(
        "SELECT * FROM upload_parts WHERE upload_id = $1 AND part_number = $2 FOR UPDATE",
        [p.uploadId, p.partNumber],
      );
      await c.query(
        `INSERT INTO upload_parts (upload_id, part_number, file, size, etag, last_modified)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (upload_id, part_number) DO UPDATE SET file = EXCLUDED.file, size = EXCLUDED.size,
           etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified`,
        [p.uploadId, p.partNumber, p.file, p.size, p.etag, p.lastModified],
      );
      return { replaced: rows[0] && uploadPartFromRaw(rows[0]) };
    });
  }

  async listUploadParts(uploadId: string): Promise<UploadPartRow[]> {
    const { rows } = await this.pool.query(
      "SELECT * FROM upload_parts WHERE upload_id = $1 ORDER BY part_number",
      [text(uploadId)],
    );
    return rows.map(uploadPartFromRaw);
  }
}
