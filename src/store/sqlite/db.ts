// The embedded store's connection: one SQLite file (WAL, synchronous=FULL so an acknowledged
// task survives power loss as well as kill -9), its migrations, and the synchronous SQL runner
// that the procedures shared with PostgreSQL (src/store/sql.ts) run on. better-sqlite3 is
// synchronous, which suits SQLite: each call is microseconds and there is no pool to manage.
//
// The writes of short tasks (submit, claim, finish) are many and small, and a FULL commit
// blocks the event loop for a whole fsync (~3 ms on the bench machine) per transaction. Those
// commit with synchronous=NORMAL instead (WAL frames written, not synced: kill -9 loses nothing,
// the OS has them) and then wait for a group commit, one fsync of the WAL in the thread pool
// shared by every commit since the previous one (durable()), before they are acknowledged:
// what the caller is told is on disk is on disk, as with FULL, without one fsync each.
import { open, type FileHandle } from "node:fs/promises";
import Database from "better-sqlite3";
import type { SqlDialect, Params } from "../filters.js";
import { pending } from "../migrate.js";
import { CLAIM_SESSION, claimSessionParams, DuplicateSession } from "../sessions.js";
import { Json, runSync, type Proc, type Raw, type SqlRunner, type Stmt } from "../sql.js";
import type { NewEvent, NewTask } from "../types.js";

class Positional implements Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return "?";
  }
}

export const SQLITE: SqlDialect = {
  params: () => new Positional(),
  text: (s) => s,
  inList: (p, col, values, _type, not) =>
    `${col} ${not ? "NOT IN" : "IN"} (${values.map((v) => p.add(v)).join(",")})`,
  contains: (p, col, v) => `instr(${col}, ${p.add(v)}) > 0`,
  // length() counts characters as substr() does (JS .length counts UTF-16 units instead).
  startsWith: (p, col, v) => `substr(${col}, 1, length(${p.add(v)})) = ${p.add(v)}`,
  anyTag: (p, tags) =>
    `EXISTS (SELECT 1 FROM json_each(media.tags) WHERE ${SQLITE.inList(p, "json_each.value", tags, "text")})`,
  mediaSeq: "rowid",
};

/** How many migrations the store ran from an inline list, counted in PRAGMA user_version. */
const LEGACY_VERSIONS = 6;

const encode = (v: unknown) => (v instanceof Json ? JSON.stringify(v.value) : v);

export class SqliteDb {
  readonly db: Database.Database;
  private readonly prepared = new Map<Stmt, Database.Statement>();
  private readonly byText = new Map<string, Database.Statement>();
  private readonly insertEvent: Database.Statement;
  private readonly insertTask: Database.Statement;
  /** Runs shared procedures (call it inside a transaction when they write more than once). */
  readonly runner: SqlRunner<"sync">;
  private readonly syncNormal: Database.Statement;
  private readonly syncFull: Database.Statement;
  /** The group commit in progress, and the one queued behind it for commits made meanwhile. */
  private syncing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private wal: FileHandle | undefined;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    this.migrate();
    this.syncNormal = this.db.prepare("PRAGMA synchronous = NORMAL");
    this.syncFull = this.db.prepare("PRAGMA synchronous = FULL");
    this.insertEvent = this.db
      .prepare(`INSERT INTO events (app_id, event_type, content, delivery, create_time,
      available_at) VALUES (@appId, @eventType, @content, @delivery, @createTime, 0)`);
    this.insertTask = this.db
      .prepare(`INSERT INTO tasks (task_id, app_id, task_type, status, priority, file_id,
      session_id, session_context, input, state, create_time) VALUES (@taskId, @appId, @taskType, 'WAITING',
      @priority, @fileId, @sessionId, @sessionContext, @input, @state, @createTime)`);
    this.runner = {
      get: (s, params) => this.stmt(s).get(...params.map(encode)) as Raw | undefined,
      run: (s, params) => this.stmt(s).run(...params.map(encode)).changes,
      insertEvents: (events) => this.writeEvents(events),
      insertTasks: (tasks) => this.writeTasks(tasks),
    };
  }

  /**
   * Applies the pending migrations in one IMMEDIATE transaction, so that two processes opening
   * the file at once (a CLI command beside the server) apply each exactly once. A database made
   * before migrations were files counted them in PRAGMA user_version: that many are its baseline.
   */
  private migrate(): void {
    this.db
      .transaction(() => {
        const known = this.db
          .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
          .get();
        this.db.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        );
        const record = this.db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
        if (!known) {
          const baseline = this.db.pragma("user_version", { simple: true }) as number;
          for (let v = 1; v <= baseline; v++) record.run(v, Date.now());
        }
        const applied = this.db.prepare("SELECT version FROM schema_migrations").pluck().all() as number[];
        for (const m of pending("sqlite", applied)) {
          this.db.exec(m.sql);
          record.run(m.version, Date.now());
        }
        // Binaries from before read only user_version: at the count they knew, they find a
        // database they need not touch (what came since only adds).
        const legacy = Math.min(
          LEGACY_VERSIONS,
          this.db.prepare("SELECT COUNT(*) FROM schema_migrations").pluck().get() as number,
        );
        if ((this.db.pragma("user_version", { simple: true }) as number) < legacy)
          this.db.pragma(`user_version = ${legacy}`);
      })
      .immediate();
  }

  stmt(s: Stmt): Database.Statement {
    let p = this.prepared.get(s);
    if (!p) this.prepared.set(s, (p = this.db.prepare(s.sqlite)));
    return p;
  }

  /**
   * A statement built at run time (filters, IN lists), prepared once per distinct text: the
   * same few shapes come back on every poll, and preparing costs more than running them.
   */
  prepareText(sql: string): Database.Statement {
    let p = this.byText.get(sql);
    if (!p) {
      if (this.byText.size >= 200) this.byText.delete(this.byText.keys().next().value!);
      this.byText.set(sql, (p = this.db.prepare(sql)));
    }
    return p;
  }

  /** Runs fn in an IMMEDIATE transaction (the write lock first, so it never fails half way on a busy upgrade). */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /**
   * Runs fn in an IMMEDIATE transaction that commits without an fsync of its own: durable across
   * kill -9 at once, across power loss after the next durable(). Await durable() before telling
   * anyone it is stored (durableTx does both).
   */
  lazyTx<T>(fn: () => T): T {
    this.syncNormal.run();
    try {
      return this.tx(fn);
    } finally {
      this.syncFull.run();
    }
  }

  /** lazyTx, acknowledged once its commit is on disk (group commit). */
  async durableTx<T>(fn: () => T): Promise<T> {
    const r = this.lazyTx(fn);
    await this.durable();
    return r;
  }

  /**
   * Resolves when every commit made before the call is on disk: one fsync of the WAL serves all
   * the commits made while the previous one ran.
   */
  durable(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.fsyncWal().finally(() => (this.syncing = undefined));
      return this.syncing;
    }
    // The fsync running now may have started before this commit: the next one, shared.
    this.queued ??= this.syncing.then(
      () => {
        this.queued = undefined;
        return this.durable();
      },
      () => {
        this.queued = undefined;
        return this.durable();
      },
    );
    return this.queued;
  }

  private async fsyncWal(): Promise<void> {
    // The WAL lives as long as this connection (SQLite removes it when the last one closes), so
    // one descriptor serves every sync. fdatasync, as SQLite syncs its WAL: the data and the size.
    if (!this.wal) {
      try {
        this.wal = await open(`${this.db.name}-wal`, "r");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        // No WAL (never written, or checkpointed away): a checkpoint syncs what was committed.
        this.db.pragma("wal_checkpoint(FULL)");
        return;
      }
    }
    await this.wal.datasync();
  }

  close(): void {
    this.db.close();
    void this.wal?.close().catch(() => {});
    this.wal = undefined;
  }

  /** A shared procedure in a transaction of its own. */
  proc<T>(p: Proc<T>): T {
    return this.tx(() => runSync(p, this.runner));
  }

  writeEvents(events: NewEvent[] | undefined): void {
    for (const e of events ?? []) this.insertEvent.run({ ...e, content: JSON.stringify(e.content) });
  }

  /** Inserts tasks (inside a transaction: a SessionId taken within its window throws DuplicateSession). */
  writeTasks(tasks: NewTask[] | undefined): void {
    for (const t of tasks ?? []) {
      if (t.sessionId && this.stmt(CLAIM_SESSION).run(...claimSessionParams(t)).changes === 0)
        throw new DuplicateSession(t.sessionId);
      this.insertTask.run({ ...t, input: JSON.stringify(t.input), state: JSON.stringify(t.state) });
    }
  }
}
