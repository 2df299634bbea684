// The cluster store: PostgreSQL, shared by any number of API and worker processes on any number
// of machines. Same behaviour as the embedded SQLite store, method for method; what differs is
// how several processes stay correct at once:
// - migrations run under pg_advisory_lock, each recorded in schema_migrations, so processes
//   that start together apply each one exactly once (src/store/postgres/db.ts);
// - a task is claimed by one statement with FOR UPDATE SKIP LOCKED (src/store/postgres/tasks.ts);
// - finishTask and its effects commit in one transaction guarded by lease_owner, so a worker
//   that lost its lease can never finish the task a second time (src/store/effects.ts);
// - NOTIFY in the transactions that make a task runnable or write events, LISTEN on a dedicated
//   connection (src/store/postgres/listen.ts), so other processes wake at once.
import pg from "pg";
import { apps } from "./postgres/apps.js";
import { PgDb, types } from "./postgres/db.js";
import { events } from "./postgres/events.js";
import { Listener } from "./postgres/listen.js";
import { media } from "./postgres/media.js";
import { segments } from "./postgres/segments.js";
import { samples } from "./postgres/samples.js";
import { tasks } from "./postgres/tasks.js";
import { templates } from "./postgres/templates.js";
import { signatures } from "./postgres/signatures.js";
import { uploads } from "./postgres/uploads.js";
import { assemble } from "./concepts.js";
import type { Store } from "./types.js";

export { EVENTS_CHANNEL, TASKS_CHANNEL } from "./postgres/db.js";
export { LISTEN_APPLICATION_NAME } from "./postgres/listen.js";

const DEFAULT_POOL_SIZE = 10;

export interface PostgresStoreOptions {
  /** Connections in this process's query pool (the LISTEN connection is one more). */
  poolSize?: number;
  /** Where connection trouble is reported (the pool and the LISTEN connection recover by themselves). */
  log?: { warn(obj: object, msg: string): void };
}

export function isPostgresUrl(url: string | undefined): boolean {
  return !!url && /^postgres(ql)?:\/\//i.test(url);
}

// The methods are the concept modules' (assigned in the constructor): the interface says so.
export interface PostgresStore extends Store {
  subscribe(onTask: () => void, onEvents: (appId: number) => void): Promise<void>;
}

export class PostgresStore {
  private constructor(pool: pg.Pool, url: string, log: PostgresStoreOptions["log"]) {
    const d = new PgDb(pool);
    const listener = new Listener(url, log);
    const own = {
      async close() {
        await listener.close();
        await pool.end();
      },
      subscribe: (onTask: () => void, onEvents: (appId: number) => void) =>
        listener.subscribe(onTask, onEvents),
    };
    Object.assign(this, assemble(d, { apps, tasks, segments, media, events, templates, uploads, signatures, samples }, own));
  }

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
    try {
      await new PgDb(pool).migrate();
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return new PostgresStore(pool, url, opts.log);
  }
}
