// The embedded store's connection: one SQLite file (WAL, synchronous=FULL so an acknowledged
// task survives power loss as well as kill -9), its migrations, and the synchronous SQL runner
// that the procedures shared with PostgreSQL (src/store/sql.ts) run on. better-sqlite3 is
// synchronous, which suits SQLite: each call is microseconds and there is no pool to manage.
import Database from "better-sqlite3";
import type { SqlDialect, Params } from "../filters.js";
import { pending } from "../migrate.js";
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
  private readonly insertEvent: Database.Statement;
  private readonly insertTask: Database.Statement;
  /** Runs shared procedures (call it inside a transaction when they write more than once). */
  readonly runner: SqlRunner<"sync">;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    this.migrate();
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

  /** Runs fn in an IMMEDIATE transaction (the write lock first, so it never fails half way on a busy upgrade). */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** A shared procedure in a transaction of its own. */
  proc<T>(p: Proc<T>): T {
    return this.tx(() => runSync(p, this.runner));
  }

  writeEvents(events: NewEvent[] | undefined): void {
    for (const e of events ?? []) this.insertEvent.run({ ...e, content: JSON.stringify(e.content) });
  }

  writeTasks(tasks: NewTask[] | undefined): void {
    for (const t of tasks ?? [])
      this.insertTask.run({ ...t, input: JSON.stringify(t.input), state: JSON.stringify(t.state) });
  }
}
