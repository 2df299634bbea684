// The embedded store: one SQLite file in the data directory (WAL, synchronous=FULL so an
// acknowledged task survives power loss as well as kill -9). better-sqlite3 is synchronous,
// which suits SQLite: each call is microseconds and there is no pool to manage.
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import {
  DEFAULT_EVENT_CONFIG,
  type AppRow,
  type EventConfig,
  type EventRow,
  type NewEvent,
  type MediaRow,
  type MediaSearch,
  type NewTask,
  type Store,
  type LeaseState,
  type TaskEffects,
  type TaskEnd,
  type TaskFinish,
  type TaskListFilter,
  type TaskRow,
  type TaskStatus,
  type MediaPart,
  type TemplateRow,
  type MultipartRow,
  type UploadObject,
  type UploadPartRow,
  type UploadSessionRow,
} from "./types.js";
import { mediaTouched } from "./effects.js";

/** Numbered migrations; PRAGMA user_version records how many ran. Append only. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE apps (
    sub_app_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'On',
    create_time INTEGER NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL UNIQUE,
    app_id INTEGER NOT NULL,
    task_type TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    file_id TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    session_context TEXT NOT NULL DEFAULT '',
    input TEXT NOT NULL,
    state TEXT NOT NULL,
    err_code INTEGER NOT NULL DEFAULT 0,
    err_code_ext TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    create_time INTEGER NOT NULL,
    begin_time INTEGER,
    finish_time INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER
  );
  CREATE INDEX tasks_runnable ON tasks (priority DESC, seq) WHERE status IN ('WAITING', 'PROCESSING');
  CREATE INDEX tasks_app_create ON tasks (app_id, create_time);
  CREATE INDEX tasks_session ON tasks (app_id, session_id) WHERE session_id <> '';
  CREATE TABLE media (
    file_id TEXT PRIMARY KEY,
    app_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    class_id INTEGER NOT NULL DEFAULT 0,
    type TEXT NOT NULL,
    category TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    cover_key TEXT NOT NULL DEFAULT '',
    meta_data TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source_context TEXT NOT NULL DEFAULT '',
    storage_region TEXT NOT NULL,
    expire_time TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
  );
  CREATE INDEX media_app_create ON media (app_id, create_time);
  `,
  `
  CREATE TABLE event_configs (
    app_id INTEGER PRIMARY KEY,
    mode TEXT NOT NULL,
    notification_url TEXT NOT NULL,
    sign_key TEXT NOT NULL,
    upload_switch TEXT NOT NULL,
    delete_switch TEXT NOT NULL,
    persistence_switch TEXT NOT NULL
  );
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    content TEXT NOT NULL,
    delivery TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    available_at INTEGER NOT NULL,
    handle TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX events_due ON events (delivery, app_id, available_at, seq);
  CREATE INDEX events_handle ON events (handle) WHERE handle <> '';
  CREATE INDEX events_created ON events (create_time);
  `,
  `
  CREATE TABLE templates (
    app_id INTEGER NOT NULL,
    family TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    PRIMARY KEY (app_id, family, key)
  );
  CREATE TABLE media_parts (
    app_id INTEGER NOT NULL,
    file_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    definition INTEGER NOT NULL,
    item TEXT NOT NULL,
    blobs TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (app_id, file_id, kind, definition)
  );
  `,
  `
  CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  `,
  `
  CREATE TABLE upload_sessions (
    id TEXT PRIMARY KEY,
    session_key TEXT NOT NULL UNIQUE,
    app_id INTEGER NOT NULL,
    secret_id TEXT NOT NULL UNIQUE,
    secret_key TEXT NOT NULL,
    token TEXT NOT NULL,
    media_key TEXT NOT NULL,
    cover_key TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL,
    media TEXT,
    cover TEXT,
    status TEXT NOT NULL DEFAULT 'OPEN',
    file_id TEXT NOT NULL DEFAULT '',
    commit_time INTEGER,
    create_time INTEGER NOT NULL,
    expire_time INTEGER NOT NULL
  );
  CREATE INDEX upload_sessions_expire ON upload_sessions (expire_time);
  CREATE TABLE upload_multiparts (
    upload_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES upload_sessions (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    content_type TEXT NOT NULL DEFAULT '',
    create_time INTEGER NOT NULL
  );
  CREATE INDEX upload_multiparts_session ON upload_multiparts (session_id);
  CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES upload_multiparts (upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    file TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
  );
  `,
  `
  ALTER TABLE tasks ADD COLUMN abort_request TEXT;
  `,
];

type Raw = Record<string, unknown>;

/**
 * ManageTask Abort and DeleteMedia, completed by "<column> = @key": WAITING ends ABORTED at
 * once, PROCESSING gets the request recorded for its worker to see.
 */
const ABORT = `UPDATE tasks SET status = CASE WHEN status = 'WAITING' THEN 'ABORTED' ELSE status END,
  finish_time = CASE WHEN status = 'WAITING' THEN @now ELSE finish_time END,
  err_code = CASE WHEN status = 'WAITING' THEN @errCode ELSE err_code END,
  err_code_ext = CASE WHEN status = 'WAITING' THEN @errCodeExt ELSE err_code_ext END,
  message = CASE WHEN status = 'WAITING' THEN @message ELSE message END,
  abort_request = CASE WHEN status = 'PROCESSING' THEN COALESCE(abort_request, @message) ELSE abort_request END
  WHERE app_id = @appId AND status IN ('WAITING', 'PROCESSING') AND`;

function uploadSessionFromRaw(r: Raw): UploadSessionRow {
  return {
    id: r.id as string,
    sessionKey: r.session_key as string,
    appId: r.app_id as number,
    secretId: r.secret_id as string,
    secretKey: r.secret_key as string,
    token: r.token as string,
    mediaKey: r.media_key as string,
    coverKey: r.cover_key as string,
    params: JSON.parse(r.params as string),
    media: r.media ? (JSON.parse(r.media as string) as UploadObject) : null,
    cover: r.cover ? (JSON.parse(r.cover as string) as UploadObject) : null,
    status: r.status as UploadSessionRow["status"],
    fileId: r.file_id as string,
    commitTime: (r.commit_time as number | null) ?? null,
    createTime: r.create_time as number,
    expireTime: r.expire_time as number,
  };
}

function multipartFromRaw(r: Raw): MultipartRow {
  return {
    uploadId: r.upload_id as string,
    sessionId: r.session_id as string,
    target: r.target as MultipartRow["target"],
    contentType: r.content_type as string,
    createTime: r.create_time as number,
  };
}

function uploadPartFromRaw(r: Raw): UploadPartRow {
  return {
    uploadId: r.upload_id as string,
    partNumber: r.part_number as number,
    file: r.file as string,
    size: r.size as number,
    etag: r.etag as string,
    lastModified: r.last_modified as number,
  };
}

function taskFromRaw(r: Raw): TaskRow {
  return {
    taskId: r.task_id as string,
    appId: r.app_id as number,
    taskType: r.task_type as string,
    status: r.status as TaskStatus,
    priority: r.priority as number,
    fileId: r.file_id as string,
    sessionId: r.session_id as string,
    sessionContext: r.session_context as string,
    input: JSON.parse(r.input as string),
    state: JSON.parse(r.state as string),
    errCode: r.err_code as number,
    errCodeExt: r.err_code_ext as string,
    message: r.message as string,
    createTime: r.create_time as number,
    beginTime: (r.begin_time as number | null) ?? null,
    finishTime: (r.finish_time as number | null) ?? null,
    attempts: r.attempts as number,
    leaseOwner: (r.lease_owner as string | null) ?? null,
    leaseUntil: (r.lease_until as number | null) ?? null,
    abortRequest: (r.abort_request as string | null) ?? null,
  };
}

function mediaFromRaw(r: Raw): MediaRow {
  return {
    fileId: r.file_id as string,
    appId: r.app_id as number,
    name: r.name as string,
    description: r.description as string,
    classId: r.class_id as number,
    type: r.type as string,
    category: r.category as string,
    blobKey: r.blob_key as string,
    coverKey: r.cover_key as string,
    metaData: JSON.parse(r.meta_data as string),
    sourceType: r.source_type as string,
    sourceContext: r.source_context as string,
    storageRegion: r.storage_region as string,
    expireTime: r.expire_time as string,
    tags: JSON.parse(r.tags as string),
    createTime: r.create_time as number,
    updateTime: r.update_time as number,
  };
}

function eventFromRaw(r: Raw): EventRow {
  return {
    seq: r.seq as number,
    appId: r.app_id as number,
    eventType: r.event_type as string,
    content: JSON.parse(r.content as string),
    delivery: r.delivery as EventRow["delivery"],
    createTime: r.create_time as number,
    handle: r.handle as string,
    attempts: r.attempts as number,
    availableAt: r.available_at as number,
  };
}

function partFromRaw(r: Raw): MediaPart {
  return {
    appId: r.app_id as number,
    fileId: r.file_id as string,
    kind: r.kind as string,
    definition: r.definition as number,
    item: JSON.parse(r.item as string),
    blobs: JSON.parse(r.blobs as string),
    createTime: r.create_time as number,
  };
}

function templateFromRaw(r: Raw): TemplateRow {
  return {
    appId: r.app_id as number,
    family: r.family as string,
    key: r.key as string,
    body: JSON.parse(r.body as string),
    createTime: r.create_time as number,
    updateTime: r.update_time as number,
  };
}

function appFromRaw(r: Raw): AppRow {
  return {
    subAppId: r.sub_app_id as number,
    name: r.name as string,
    description: r.description as string,
    status: r.status as "On" | "Off",
    createTime: r.create_time as number,
    isDefault: r.is_default === 1,
  };
}

/** `col IN (?, ?, ...)` for a non-empty list, with its parameters appended to `params`. */
function inList(col: string, values: unknown[], params: unknown[]): string {
  params.push(...values);
  return `${col} IN (${values.map(() => "?").join(",")})`;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly stmt: Record<string, Database.Statement>;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    this.migrate();
    const p = (sql: string) => this.db.prepare(sql);
    this.stmt = {
      getTask: p("SELECT * FROM tasks WHERE task_id = ? AND app_id = ?"),
      insertTask: p(`INSERT INTO tasks (task_id, app_id, task_type, status, priority, file_id, session_id,
        session_context, input, state, create_time) VALUES (@taskId, @appId, @taskType, 'WAITING', @priority,
        @fileId, @sessionId, @sessionContext, @input, @state, @createTime)`),
      bySession: p(`SELECT * FROM tasks WHERE app_id = ? AND session_id = ? AND create_time >= ?
        ORDER BY seq DESC LIMIT 1`),
      nextRunnable:
        p(`SELECT seq FROM tasks WHERE status = 'WAITING' OR (status = 'PROCESSING' AND lease_until < ?)
        ORDER BY priority DESC, seq LIMIT 1`),
      claim:
        p(`UPDATE tasks SET status = 'PROCESSING', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
        begin_time = COALESCE(begin_time, ?) WHERE seq = ? RETURNING *`),
      heartbeat: p(`UPDATE tasks SET lease_until = ? WHERE task_id = ? AND lease_owner = ?
        AND status = 'PROCESSING' RETURNING abort_request`),
      heartbeatState: p(`UPDATE tasks SET lease_until = ?, state = ? WHERE task_id = ? AND lease_owner = ?
        AND status = 'PROCESSING' RETURNING abort_request`),
      held: p(
        `SELECT abort_request FROM tasks WHERE task_id = ? AND lease_owner = ? AND status = 'PROCESSING'`,
      ),
      finish: p(`UPDATE tasks SET status = @status, err_code = @errCode, err_code_ext = @errCodeExt,
        message = @message, state = @state, finish_time = @finishTime, lease_owner = NULL, lease_until = NULL
        WHERE task_id = @taskId AND lease_owner = @owner AND status = 'PROCESSING'`),
      abort: p(`${ABORT} task_id = @key RETURNING status`),
      abortFile: p(`${ABORT} file_id = @key`),
      releaseLeases: p(`UPDATE tasks SET lease_until = 0 WHERE status = 'PROCESSING'`),
      release: p(`UPDATE tasks SET attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_until = 0,
        state = ? WHERE task_id = ? AND lease_owner = ? AND status = 'PROCESSING'`),
      purge: p(`DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE create_time < ?
        AND status IN ('FINISH', 'ABORTED') LIMIT ?)`),
      countRunnable: p(`SELECT COUNT(*) AS n FROM tasks WHERE status IN ('WAITING', 'PROCESSING')`),
      getMedia: p("SELECT * FROM media WHERE file_id = ? AND app_id = ?"),
      insertMedia:
        p(`INSERT INTO media (file_id, app_id, name, description, class_id, type, category, blob_key,
        cover_key, meta_data, source_type, source_context, storage_region, expire_time, tags, create_time,
        update_time) VALUES (@fileId, @appId, @name, @description, @classId, @type, @category, @blobKey,
        @coverKey, @metaData, @sourceType, @sourceContext, @storageRegion, @expireTime, @tags, @createTime,
        @updateTime)`),
      setMeta: p("UPDATE media SET meta_data = ? WHERE file_id = ? AND app_id = ?"),
      deleteMedia: p("DELETE FROM media WHERE file_id = ? AND app_id = ? RETURNING *"),
      getApp: p("SELECT * FROM apps WHERE sub_app_id = ?"),
      countApps: p("SELECT COUNT(*) AS n FROM apps"),
      listApps: p("SELECT * FROM apps ORDER BY is_default DESC, create_time, sub_app_id LIMIT ? OFFSET ?"),
      insertApp: p(`INSERT INTO apps (sub_app_id, name, description, status, create_time, is_default)
        VALUES (@subAppId, @name, @description, @status, @createTime, @isDefault)`),
      maxAppId: p("SELECT MAX(sub_app_id) AS m FROM apps WHERE is_default = 0"),
      getEventConfig: p("SELECT * FROM event_configs WHERE app_id = ?"),
      putEventConfig:
        p(`INSERT OR REPLACE INTO event_configs (app_id, mode, notification_url, sign_key, upload_switch,
        delete_switch, persistence_switch) VALUES (@appId, @mode, @notificationUrl, @signKey, @uploadSwitch,
        @deleteSwitch, @persistenceSwitch)`),
      insertEvent: p(`INSERT INTO events (app_id, event_type, content, delivery, create_time, available_at)
        VALUES (@appId, @eventType, @content, @delivery, @createTime, 0)`),
      pullable: p(`SELECT * FROM events WHERE delivery = 'PULL' AND app_id = ? AND available_at <= ?
        ORDER BY seq LIMIT ?`),
      hideEvent: p("UPDATE events SET handle = ?, available_at = ?, attempts = attempts + 1 WHERE seq = ?"),
      confirmEvent: p("DELETE FROM events WHERE app_id = ? AND handle = ? AND available_at > ?"),
      countPullable: p(
        `SELECT COUNT(*) AS n FROM events WHERE delivery = 'PULL' AND app_id = ? AND available_at <= ?`,
      ),
      settleDelivered: p("DELETE FROM events WHERE seq = ?"),
      settleRetry: p("UPDATE events SET available_at = ?, last_error = ? WHERE seq = ?"),
      nextPushDue: p("SELECT MIN(available_at) AS t FROM events WHERE delivery = 'PUSH'"),
      purgeEvents: p("DELETE FROM events WHERE create_time < ?"),
      putPart:
        p(`INSERT OR REPLACE INTO media_parts (app_id, file_id, kind, definition, item, blobs, create_time)
        VALUES (@appId, @fileId, @kind, @definition, @item, @blobs, @createTime)`),
      getParts: p("SELECT * FROM media_parts WHERE app_id = ? AND file_id = ? ORDER BY kind, definition"),
      deletePartsOfKind: p(
        "DELETE FROM media_parts WHERE app_id = ? AND file_id = ? AND kind = ? RETURNING *",
      ),
      deletePart: p(
        "DELETE FROM media_parts WHERE app_id = ? AND file_id = ? AND kind = ? AND definition = ? RETURNING *",
      ),
      deleteAllParts: p("DELETE FROM media_parts WHERE app_id = ? AND file_id = ?"),
      setCover: p("UPDATE media SET cover_key = ?, update_time = ? WHERE file_id = ? AND app_id = ?"),
      listTemplates: p("SELECT * FROM templates WHERE app_id = ? AND family = ? ORDER BY create_time, key"),
      getTemplate: p("SELECT * FROM templates WHERE app_id = ? AND family = ? AND key = ?"),
      putTemplate: p(`INSERT OR REPLACE INTO templates (app_id, family, key, body, create_time, update_time)
        VALUES (@appId, @family, @key, @body, @createTime, @updateTime)`),
      deleteTemplate: p("DELETE FROM templates WHERE app_id = ? AND family = ? AND key = ?"),
      maxTemplateKey: p(
        "SELECT MAX(CAST(key AS INTEGER)) AS m FROM templates WHERE app_id = ? AND family <> 'Procedure'",
      ),
    };
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    for (let i = version; i < MIGRATIONS.length; i++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[i]!);
        this.db.pragma(`user_version = ${i + 1}`);
      })();
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async ensureDefaultApp(appId: number, now: number): Promise<void> {
    if (this.stmt.getApp!.get(appId)) return;
    this.stmt.insertApp!.run({
      subAppId: appId,
      name: "default",
      description: "The account's default application",
      status: "On",
      createTime: now,
      isDefault: 1,
    });
  }

  async getApp(subAppId: number): Promise<AppRow | undefined> {
    const r = this.stmt.getApp!.get(subAppId) as Raw | undefined;
    return r && appFromRaw(r);
  }

  async listApps(offset: number, limit: number): Promise<{ total: number; apps: AppRow[] }> {
    const total = (this.stmt.countApps!.get() as { n: number }).n;
    const apps = (this.stmt.listApps!.all(limit, offset) as Raw[]).map(appFromRaw);
    return { total, apps };
  }

  async createApp(app: AppRow): Promise<boolean> {
    if (this.stmt.getApp!.get(app.subAppId)) return false;
    this.stmt.insertApp!.run({ ...app, isDefault: app.isDefault ? 1 : 0 });
    return true;
  }

  async updateApp(
    subAppId: number,
    patch: Partial<Pick<AppRow, "name" | "description" | "status">>,
  ): Promise<boolean> {
    const cols: Record<string, unknown> = {
      name: patch.name,
      description: patch.description,
      status: patch.status,
    };
    const sets = Object.entries(cols).filter(([, v]) => v !== undefined);
    if (sets.length === 0) return !!this.stmt.getApp!.get(subAppId);
    const sql = `UPDATE apps SET ${sets.map(([k]) => `${k} = ?`).join(", ")} WHERE sub_app_id = ?`;
    return this.db.prepare(sql).run(...sets.map(([, v]) => v), subAppId).changes > 0;
  }

  async nextAppId(floor: number): Promise<number> {
    const m = (this.stmt.maxAppId!.get() as { m: number | null }).m;
    return Math.max(floor, (m ?? floor - 1) + 1);
  }

  async insertTask(t: NewTask): Promise<void> {
    this.stmt.insertTask!.run({ ...t, input: JSON.stringify(t.input), state: JSON.stringify(t.state) });
  }

  async getTask(appId: number, taskId: string): Promise<TaskRow | undefined> {
    const r = this.stmt.getTask!.get(taskId, appId) as Raw | undefined;
    return r && taskFromRaw(r);
  }

  async findTaskBySession(appId: number, sessionId: string, since: number): Promise<TaskRow | undefined> {
    const r = this.stmt.bySession!.get(appId, sessionId, since) as Raw | undefined;
    return r && taskFromRaw(r);
  }

  async listTasks(f: TaskListFilter): Promise<TaskRow[]> {
    const where = ["app_id = ?", "create_time >= ?"];
    const params: unknown[] = [f.appId, f.notBefore];
    if (f.status) (where.push("status = ?"), params.push(f.status));
    if (f.fileId) (where.push("file_id = ?"), params.push(f.fileId));
    if (f.createAfter !== undefined) (where.push("create_time >= ?"), params.push(f.createAfter));
    if (f.createBefore !== undefined) (where.push("create_time < ?"), params.push(f.createBefore));
    if (f.finishAfter !== undefined) (where.push("finish_time >= ?"), params.push(f.finishAfter));
    if (f.finishBefore !== undefined) (where.push("finish_time < ?"), params.push(f.finishBefore));
    const key = f.sortField === "FinishTime" ? "COALESCE(finish_time, 0)" : "create_time";
    const dir = f.order === "Asc" ? "ASC" : "DESC";
    if (f.fromTaskId) {
      // Keyset paging: continue at the task the previous page named, in the same order.
      const from = this.stmt.getTask!.get(f.fromTaskId, f.appId) as Raw | undefined;
      if (!from) return [];
      const fromKey =
        f.sortField === "FinishTime" ? ((from.finish_time as number | null) ?? 0) : from.create_time;
      const cmp = f.order === "Asc" ? ">" : "<";
      where.push(`(${key} ${cmp} ? OR (${key} = ? AND seq ${cmp}= ?))`);
      params.push(fromKey, fromKey, from.seq);
    }
    const sql = `SELECT * FROM tasks WHERE ${where.join(" AND ")} ORDER BY ${key} ${dir}, seq ${dir} LIMIT ?`;
    params.push(f.limit);
    return (this.db.prepare(sql).all(...params) as Raw[]).map(taskFromRaw);
  }

  private readonly claimTx = (owner: string, now: number, leaseMs: number): TaskRow | undefined =>
    this.db
      .transaction(() => {
        const next = this.stmt.nextRunnable!.get(now) as { seq: number } | undefined;
        if (!next) return undefined;
        return taskFromRaw(this.stmt.claim!.get(owner, now + leaseMs, now, next.seq) as Raw);
      })
      .immediate();

  async claimTask(owner: string, now: number, leaseMs: number): Promise<TaskRow | undefined> {
    return this.claimTx(owner, now, leaseMs);
  }

  async heartbeat(
    taskId: string,
    owner: string,
    leaseUntil: number,
    state?: Record<string, unknown>,
    events?: NewEvent[],
  ): Promise<LeaseState> {
    return this.db
      .transaction((): LeaseState => {
        const r = (
          state
            ? this.stmt.heartbeatState!.get(leaseUntil, JSON.stringify(state), taskId, owner)
            : this.stmt.heartbeat!.get(leaseUntil, taskId, owner)
        ) as Raw | undefined;
        if (!r) return "lost";
        this.writeEvents(events);
        return r.abort_request === null ? "held" : "abort";
      })
      .immediate();
  }

  async finishTask(
    taskId: string,
    owner: string,
    f: TaskFinish,
    effects: TaskEffects = {},
  ): Promise<"finished" | "lost" | "abort" | "mediaGone"> {
    return this.db
      .transaction(() => {
        const held = this.stmt.held!.get(taskId, owner) as Raw | undefined;
        if (!held) return "lost";
        const status = f.status ?? "FINISH";
        if (status === "FINISH") {
          if (held.abort_request !== null) return "abort";
          const gone = mediaTouched(effects).some((m) => !this.stmt.getMedia!.get(m.fileId, m.appId));
          if (gone) return "mediaGone";
        }
        this.stmt.finish!.run({ ...f, status, state: JSON.stringify(f.state), taskId, owner });
        this.writeEvents(effects.events);
        for (const t of effects.insertTasks ?? []) {
          this.stmt.insertTask!.run({ ...t, input: JSON.stringify(t.input), state: JSON.stringify(t.state) });
        }
        for (const part of effects.putParts ?? []) {
          this.stmt.putPart!.run({
            ...part,
            item: JSON.stringify(part.item),
            blobs: JSON.stringify(part.blobs),
          });
        }
        if (effects.setCover) {
          const { appId, fileId, coverKey } = effects.setCover;
          this.stmt.setCover!.run(coverKey, f.finishTime, fileId, appId);
        }
        const created = effects.insertMedia ?? [];
        // A task that created media items is listed under the first (DescribeTasks FileId filter).
        if (created[0])
          this.db.prepare("UPDATE tasks SET file_id = ? WHERE task_id = ?").run(created[0].fileId, taskId);
        for (const m of created) {
          this.stmt.insertMedia!.run({
            ...m,
            metaData: JSON.stringify(m.metaData),
            tags: JSON.stringify(m.tags),
          });
        }
        if (effects.mergeMetaData) {
          const { appId, fileId, patch } = effects.mergeMetaData;
          const cur = this.stmt.getMedia!.get(fileId, appId) as Raw | undefined;
          if (cur) {
            const meta = { ...JSON.parse(cur.meta_data as string), ...patch };
            this.stmt.setMeta!.run(JSON.stringify(meta), fileId, appId);
          }
        }
        return "finished" as const;
      })
      .immediate();
  }

  async abortTask(
    appId: number,
    taskId: string,
    now: number,
    reason: TaskEnd,
  ): Promise<"aborted" | "requested" | "ended" | "notFound"> {
    const r = this.stmt.abort!.get({ ...reason, now, appId, key: taskId }) as Raw | undefined;
    if (r) return r.status === "ABORTED" ? "aborted" : "requested";
    return this.stmt.getTask!.get(taskId, appId) ? "ended" : "notFound";
  }

  async releaseTask(taskId: string, owner: string, state: Record<string, unknown>): Promise<boolean> {
    return this.stmt.release!.run(JSON.stringify(state), taskId, owner).changes > 0;
  }

  async releaseAllLeases(): Promise<number> {
    // Callbacks claimed or backing off when the last process stopped are due again at once.
    this.db.prepare("UPDATE events SET available_at = 0 WHERE delivery = 'PUSH'").run();
    return this.stmt.releaseLeases!.run().changes;
  }

  async purgeTasks(createdBefore: number, limit: number): Promise<number> {
    return this.stmt.purge!.run(createdBefore, limit).changes;
  }

  async countRunnable(): Promise<number> {
    return (this.stmt.countRunnable!.get() as { n: number }).n;
  }

  async getMedia(appId: number, fileId: string): Promise<MediaRow | undefined> {
    const r = this.stmt.getMedia!.get(fileId, appId) as Raw | undefined;
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
    const cols: Record<string, unknown> = {
      name: patch.name,
      description: patch.description,
      class_id: patch.classId,
      expire_time: patch.expireTime,
      tags: patch.tags && JSON.stringify(patch.tags),
      cover_key: patch.coverKey,
      blob_key: patch.blobKey,
      update_time: patch.updateTime,
    };
    const sets = Object.entries(cols).filter(([, v]) => v !== undefined);
    if (sets.length === 0) return !!this.stmt.getMedia!.get(fileId, appId);
    const sql = `UPDATE media SET ${sets.map(([k]) => `${k} = ?`).join(", ")} WHERE file_id = ? AND app_id = ?`;
    return this.db.prepare(sql).run(...sets.map(([, v]) => v), fileId, appId).changes > 0;
  }

  async deleteMedia(
    appId: number,
    fileId: string,
    events?: NewEvent[],
    abort?: { now: number; reason: TaskEnd },
  ): Promise<MediaRow | undefined> {
    return this.db
      .transaction(() => {
        const r = this.stmt.deleteMedia!.get(fileId, appId) as Raw | undefined;
        if (!r) return undefined;
        this.stmt.deleteAllParts!.run(appId, fileId);
        this.writeEvents(events);
        if (abort) {
          this.stmt.abortFile!.run({ ...abort.reason, now: abort.now, appId, key: fileId });
        }
        return mediaFromRaw(r);
      })
      .immediate();
  }

  async searchMedia(q: MediaSearch): Promise<{ total: number; media: MediaRow[] }> {
    const where = ["app_id = ?"];
    const params: unknown[] = [q.appId];
    const list = (col: string, values: unknown[] | undefined) => {
      if (values?.length) where.push(inList(col, values, params));
    };
    // Names and Descriptions match fuzzily, as in the cloud: any one given text inside the field.
    const contains = (col: string, values: string[] | undefined) => {
      if (!values?.length) return;
      where.push(`(${values.map(() => `instr(${col}, ?) > 0`).join(" OR ")})`);
      params.push(...values);
    };
    list("file_id", q.fileIds);
    contains("name", q.names);
    contains("description", q.descriptions);
    list("class_id", q.classIds);
    list("category", q.categories);
    list("source_type", q.sourceTypes);
    list("type", q.mediaTypes);
    list("storage_region", q.storageRegions);
    if (q.namePrefixes?.length) {
      // length() counts characters as substr() does (JS .length counts UTF-16 units instead).
      where.push(`(${q.namePrefixes.map(() => "substr(name, 1, length(?)) = ?").join(" OR ")})`);
      for (const p of q.namePrefixes) params.push(p, p);
    }
    if (q.tags?.length) {
      where.push(
        `EXISTS (SELECT 1 FROM json_each(media.tags) WHERE ${inList("json_each.value", q.tags, params)})`,
      );
    }
    if (q.text)
      (where.push("(instr(name, ?) > 0 OR instr(description, ?) > 0)"), params.push(q.text, q.text));
    if (q.expireAfter !== undefined) (where.push("expire_time >= ?"), params.push(q.expireAfter));
    if (q.expireBefore !== undefined) (where.push("expire_time < ?"), params.push(q.expireBefore));
    if (q.createAfter !== undefined) (where.push("create_time >= ?"), params.push(q.createAfter));
    if (q.createBefore !== undefined) (where.push("create_time < ?"), params.push(q.createBefore));
    const w = where.join(" AND ");
    const total = (
      this.db.prepare(`SELECT COUNT(*) AS n FROM media WHERE ${w}`).get(...params) as { n: number }
    ).n;
    const dir = q.sortOrder === "Asc" ? "ASC" : "DESC";
    const rows = this.db
      .prepare(`SELECT * FROM media WHERE ${w} ORDER BY create_time ${dir}, rowid ${dir} LIMIT ? OFFSET ?`)
      .all(...params, q.limit, q.offset) as Raw[];
    return { total, media: rows.map(mediaFromRaw) };
  }

  private writeEvents(events: NewEvent[] | undefined): void {
    for (const e of events ?? []) this.stmt.insertEvent!.run({ ...e, content: JSON.stringify(e.content) });
  }

  async getEventConfig(appId: number): Promise<EventConfig> {
    const r = this.stmt.getEventConfig!.get(appId) as Raw | undefined;
    if (!r) return { ...DEFAULT_EVENT_CONFIG };
    return {
      mode: r.mode as EventConfig["mode"],
      notificationUrl: r.notification_url as string,
      signKey: r.sign_key as string,
      uploadSwitch: r.upload_switch as EventConfig["uploadSwitch"],
      deleteSwitch: r.delete_switch as EventConfig["deleteSwitch"],
      persistenceSwitch: r.persistence_switch as EventConfig["persistenceSwitch"],
    };
  }

  async setEventConfig(appId: number, patch: Partial<EventConfig>): Promise<void> {
    const cur = await this.getEventConfig(appId);
    const next = { ...cur, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
    this.stmt.putEventConfig!.run({ appId, ...next });
  }

  async insertEvents(events: NewEvent[]): Promise<void> {
    this.db.transaction(() => this.writeEvents(events)).immediate();
  }

  async pullEvents(appId: number, now: number, hideMs: number, limit: number): Promise<EventRow[]> {
    return this.db
      .transaction(() => {
        const rows = (this.stmt.pullable!.all(appId, now, limit) as Raw[]).map(eventFromRaw);
        for (const e of rows) {
          e.handle = randomBytes(16).toString("hex");
          e.availableAt = now + hideMs;
          e.attempts++;
          this.stmt.hideEvent!.run(e.handle, e.availableAt, e.seq);
        }
        return rows;
      })
      .immediate();
  }

  async confirmEvents(appId: number, handles: string[], now: number): Promise<string[]> {
    return this.db
      .transaction(() => handles.filter((h) => this.stmt.confirmEvent!.run(appId, h, now).changes === 0))
      .immediate();
  }

  async countPullableEvents(appId: number, now: number): Promise<number> {
    return (this.stmt.countPullable!.get(appId, now) as { n: number }).n;
  }

  async claimPushEvents(
    now: number,
    leaseMs: number,
    limit: number,
    perApp: number,
    busyApps: number[],
  ): Promise<EventRow[]> {
    return this.db
      .transaction(() => {
        const params: unknown[] = [now];
        const busy = busyApps.length
          ? `AND ${inList("app_id", busyApps, params)}`.replace(" IN ", " NOT IN ")
          : "";
        params.push(perApp, limit);
        // At most perApp events of one application per claim, so one busy receiver cannot fill the batch.
        const rows = this.db
          .prepare(
            `SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY available_at, seq) AS rn
           FROM events WHERE delivery = 'PUSH' AND available_at <= ? ${busy}) WHERE rn <= ? ORDER BY available_at, seq LIMIT ?`,
          )
          .all(...params) as Raw[];
        const claimed = rows.map(eventFromRaw);
        for (const e of claimed) {
          e.attempts++;
          this.db
            .prepare("UPDATE events SET available_at = ?, attempts = attempts + 1 WHERE seq = ?")
            .run(now + leaseMs, e.seq);
        }
        return claimed;
      })
      .immediate();
  }

  async settlePushEvent(
    seq: number,
    delivered: boolean,
    retryAt: number | null,
    error: string,
  ): Promise<void> {
    if (delivered || retryAt === null) this.stmt.settleDelivered!.run(seq);
    else this.stmt.settleRetry!.run(retryAt, error.slice(0, 500), seq);
  }

  async nextPushDue(): Promise<number | undefined> {
    return ((this.stmt.nextPushDue!.get() as { t: number | null }).t ?? undefined) as number | undefined;
  }

  async purgeEvents(createdBefore: number): Promise<number> {
    return this.stmt.purgeEvents!.run(createdBefore).changes;
  }

  async getMediaParts(appId: number, fileId: string): Promise<MediaPart[]> {
    return (this.stmt.getParts!.all(appId, fileId) as Raw[]).map(partFromRaw);
  }

  async deleteMediaParts(
    appId: number,
    fileId: string,
    kind: string,
    definition: number,
  ): Promise<MediaPart[]> {
    const rows = definition
      ? this.stmt.deletePart!.all(appId, fileId, kind, definition)
      : this.stmt.deletePartsOfKind!.all(appId, fileId, kind);
    return (rows as Raw[]).map(partFromRaw);
  }

  async listTemplates(appId: number, family: string): Promise<TemplateRow[]> {
    return (this.stmt.listTemplates!.all(appId, family) as Raw[]).map(templateFromRaw);
  }

  async getTemplate(appId: number, family: string, key: string): Promise<TemplateRow | undefined> {
    const r = this.stmt.getTemplate!.get(appId, family, key) as Raw | undefined;
    return r && templateFromRaw(r);
  }

  async putTemplate(row: TemplateRow): Promise<void> {
    this.stmt.putTemplate!.run({ ...row, body: JSON.stringify(row.body) });
  }

  async deleteTemplate(appId: number, family: string, key: string): Promise<boolean> {
    return this.stmt.deleteTemplate!.run(appId, family, key).changes > 0;
  }

  async nextTemplateDefinition(appId: number, floor: number): Promise<number> {
    // A sequence, not MAX()+1: a deleted template's Definition is never handed out again, so
    // outputs made with it can never be mistaken for a new template's.
    return this.db
      .transaction(() => {
        const name = `template-definition/${appId}`;
        const cur = this.db.prepare("SELECT value FROM sequences WHERE name = ?").get(name) as
          { value: number } | undefined;
        const max = (this.stmt.maxTemplateKey!.get(appId) as { m: number | null }).m ?? 0;
        const next = Math.max(floor, (cur?.value ?? 0) + 1, max + 1);
        this.db.prepare("INSERT OR REPLACE INTO sequences (name, value) VALUES (?, ?)").run(name, next);
        return next;
      })
      .immediate();
  }

  // Upload sessions. Statements are prepared on first use.
  private uploadStmts: Record<string, Database.Statement> | undefined;
  private get up(): Record<string, Database.Statement> {
    if (this.uploadStmts) return this.uploadStmts;
    const p = (sql: string) => this.db.prepare(sql);
    this.uploadStmts = {
      insert:
        p(`INSERT INTO upload_sessions (id, session_key, app_id, secret_id, secret_key, token, media_key,
        cover_key, params, media, cover, status, file_id, commit_time, create_time, expire_time) VALUES (@id,
        @sessionKey, @appId, @secretId, @secretKey, @token, @mediaKey, @coverKey, @params, @media, @cover, @status,
        @fileId, @commitTime, @createTime, @expireTime)`),
      byKey: p("SELECT * FROM upload_sessions WHERE session_key = ?"),
      bySecretId: p("SELECT * FROM upload_sessions WHERE secret_id = ?"),
      byId: p("SELECT * FROM upload_sessions WHERE id = ?"),
      setMedia: p("UPDATE upload_sessions SET media = ? WHERE id = ? AND status = 'OPEN'"),
      setCover: p("UPDATE upload_sessions SET cover = ? WHERE id = ? AND status = 'OPEN'"),
      claim: p(`UPDATE upload_sessions SET status = 'COMMITTING', commit_time = @now,
        file_id = CASE WHEN file_id = '' THEN @fileId ELSE file_id END
        WHERE id = @id AND (status = 'OPEN' OR (status = 'COMMITTING' AND commit_time < @staleBefore)) RETURNING *`),
      release: p(
        "UPDATE upload_sessions SET status = 'OPEN', commit_time = NULL WHERE id = ? AND status = 'COMMITTING'",
      ),
      clearMedia: p("UPDATE upload_sessions SET media = NULL WHERE id = ?"),
      clearCover: p("UPDATE upload_sessions SET cover = NULL WHERE id = ?"),
      committed: p(`UPDATE upload_sessions SET status = 'COMMITTED', media = NULL, cover = NULL
        WHERE id = ? AND status = 'COMMITTING'`),
      expired: p("SELECT id FROM upload_sessions WHERE expire_time < ? ORDER BY expire_time LIMIT ?"),
      deleteSession: p("DELETE FROM upload_sessions WHERE id = ?"),
      insertMultipart:
        p(`INSERT INTO upload_multiparts (upload_id, session_id, target, content_type, create_time)
        VALUES (@uploadId, @sessionId, @target, @contentType, @createTime)`),
      getMultipart: p("SELECT * FROM upload_multiparts WHERE upload_id = ?"),
      listMultiparts: p(
        "SELECT * FROM upload_multiparts WHERE session_id = ? ORDER BY create_time, upload_id",
      ),
      deleteMultipart: p("DELETE FROM upload_multiparts WHERE upload_id = ?"),
      getPart: p("SELECT * FROM upload_parts WHERE upload_id = ? AND part_number = ?"),
      putPart:
        p(`INSERT OR REPLACE INTO upload_parts (upload_id, part_number, file, size, etag, last_modified)
        VALUES (@uploadId, @partNumber, @file, @size, @etag, @lastModified)`),
      listParts: p("SELECT * FROM upload_parts WHERE upload_id = ? ORDER BY part_number"),
    };
    return this.uploadStmts;
  }

  async insertUploadSession(s: UploadSessionRow): Promise<void> {
    this.up.insert!.run({
      ...s,
      params: JSON.stringify(s.params),
      media: s.media && JSON.stringify(s.media),
      cover: s.cover && JSON.stringify(s.cover),
    });
  }

  async getUploadSession(sessionKey: string): Promise<UploadSessionRow | undefined> {
    const r = this.up.byKey!.get(sessionKey) as Raw | undefined;
    return r && uploadSessionFromRaw(r);
  }

  async getUploadSessionBySecretId(secretId: string): Promise<UploadSessionRow | undefined> {
    const r = this.up.bySecretId!.get(secretId) as Raw | undefined;
    return r && uploadSessionFromRaw(r);
  }

  async setUploadObject(
    sessionId: string,
    target: "media" | "cover",
    obj: UploadObject | null,
  ): Promise<{ replaced: UploadObject | null } | undefined> {
    return this.db
      .transaction(() => {
        const cur = this.up.byId!.get(sessionId) as Raw | undefined;
        if (!cur || cur.status !== "OPEN") return undefined;
        const stmt = target === "media" ? this.up.setMedia! : this.up.setCover!;
        stmt.run(obj && JSON.stringify(obj), sessionId);
        return { replaced: uploadSessionFromRaw(cur)[target] };
      })
      .immediate();
  }

  async claimUploadCommit(
    sessionId: string,
    fileId: string,
    now: number,
    staleBefore: number,
  ): Promise<UploadSessionRow | undefined> {
    const r = this.up.claim!.get({ id: sessionId, fileId, now, staleBefore }) as Raw | undefined;
    return r && uploadSessionFromRaw(r);
  }

  async releaseUploadCommit(sessionId: string, clear: ("media" | "cover")[]): Promise<void> {
    this.db
      .transaction(() => {
        if (clear.includes("media")) this.up.clearMedia!.run(sessionId);
        if (clear.includes("cover")) this.up.clearCover!.run(sessionId);
        this.up.release!.run(sessionId);
      })
      .immediate();
  }

  async finishUploadCommit(
    sessionId: string,
    media: MediaRow,
    tasks: NewTask[],
    events: NewEvent[],
  ): Promise<boolean> {
    return this.db
      .transaction(() => {
        if (this.up.committed!.run(sessionId).changes === 0) return false;
        this.stmt.insertMedia!.run({
          ...media,
          metaData: JSON.stringify(media.metaData),
          tags: JSON.stringify(media.tags),
        });
        for (const t of tasks) {
          this.stmt.insertTask!.run({ ...t, input: JSON.stringify(t.input), state: JSON.stringify(t.state) });
        }
        this.writeEvents(events);
        return true;
      })
      .immediate();
  }

  async deleteExpiredUploadSessions(now: number, limit: number): Promise<string[]> {
    return this.db
      .transaction(() => {
        const ids = (this.up.expired!.all(now, limit) as { id: string }[]).map((r) => r.id);
        // Multipart uploads and their parts go with the session (ON DELETE CASCADE).
        for (const id of ids) this.up.deleteSession!.run(id);
        return ids;
      })
      .immediate();
  }

  async insertMultipart(m: MultipartRow): Promise<void> {
    this.up.insertMultipart!.run(m);
  }

  async getMultipart(uploadId: string): Promise<MultipartRow | undefined> {
    const r = this.up.getMultipart!.get(uploadId) as Raw | undefined;
    return r && multipartFromRaw(r);
  }

  async listMultiparts(sessionId: string): Promise<MultipartRow[]> {
    return (this.up.listMultiparts!.all(sessionId) as Raw[]).map(multipartFromRaw);
  }

  async deleteMultipart(uploadId: string): Promise<UploadPartRow[] | undefined> {
    return this.db
      .transaction(() => {
        const parts = (this.up.listParts!.all(uploadId) as Raw[]).map(uploadPartFromRaw);
        if (this.up.deleteMultipart!.run(uploadId).changes === 0) return undefined;
        return parts;
      })
      .immediate();
  }

  async putUploadPart(p: UploadPartRow): Promise<{ replaced: UploadPartRow | undefined } | undefined> {
    return this.db
      .transaction(() => {
        if (!this.up.getMultipart!.get(p.uploadId)) return undefined;
        const old = this.up.getPart!.get(p.uploadId, p.partNumber) as Raw | undefined;
        this.up.putPart!.run(p);
        return { replaced: old && uploadPartFromRaw(old) };
      })
      .immediate();
  }

  async listUploadParts(uploadId: string): Promise<UploadPartRow[]> {
    return (this.up.listParts!.all(uploadId) as Raw[]).map(uploadPartFromRaw);
  }
}
