// Writing a transaction once for both dialects. A procedure is a generator that yields the
// statements it wants run and receives their results; each dialect drives it with its own
// runner: SQLite synchronously inside db.transaction() (better-sqlite3 cannot await within a
// transaction, and must not let other work interleave with it), PostgreSQL by awaiting each
// statement on the transaction's client. No query builder: statements are SQL text, spelled
// once with `?` placeholders, or once per dialect where the dialects differ.
import type { NewEvent, NewTask } from "./types.js";

export type Raw = Record<string, any>;

/** A statement both dialects run. `name` keys SQLite's prepared-statement cache and PostgreSQL's named statements. */
export interface Stmt {
  readonly name: string;
  readonly sqlite: string;
  readonly postgres: string;
}

/**
 * One statement: the same text for both dialects, or one text each. `?` marks a parameter (in
 * order) and must not appear otherwise; PostgreSQL's text gets $1, $2... in its place.
 */
export function stmt(name: string, sql: string | { sqlite: string; postgres: string }): Stmt {
  const [sqlite, pg] = typeof sql === "string" ? [sql, sql] : [sql.sqlite, sql.postgres];
  let n = 0;
  return { name, sqlite, postgres: pg.replace(/\?/g, () => `$${++n}`) };
}

/** A parameter that is a document: stored as JSON text (SQLite) or jsonb (PostgreSQL). */
export class Json {
  constructor(readonly value: unknown) {}
}
export const json = (value: unknown): Json => new Json(value);

export type Op =
  | { get: Stmt; params: unknown[] }
  | { run: Stmt; params: unknown[] }
  | { events: NewEvent[] }
  | { tasks: NewTask[] };

export type Proc<T> = Generator<Op, T, any>;

/** What each dialect implements: synchronously (SQLite) or asynchronously (PostgreSQL). */
export interface SqlRunner<R extends "sync" | "async"> {
  /** The first row, or undefined. */
  get(s: Stmt, params: unknown[]): Ret<R, Raw | undefined>;
  /** The number of rows changed. */
  run(s: Stmt, params: unknown[]): Ret<R, number>;
  /** Events written in the transaction (PostgreSQL also wakes their applications' listeners). */
  insertEvents(events: NewEvent[]): Ret<R, void>;
  /** Tasks inserted in the transaction (PostgreSQL also wakes the workers of every process). */
  insertTasks(tasks: NewTask[]): Ret<R, void>;
}
type Ret<R, T> = R extends "sync" ? T : Promise<T>;

function exec<R extends "sync" | "async">(op: Op, r: SqlRunner<R>) {
  if ("get" in op) return r.get(op.get, op.params);
  if ("run" in op) return r.run(op.run, op.params);
  if ("events" in op) return r.insertEvents(op.events);
  return r.insertTasks(op.tasks);
}

export function runSync<T>(proc: Proc<T>, r: SqlRunner<"sync">): T {
  let step = proc.next();
  while (!step.done) step = proc.next(exec(step.value, r));
  return step.value;
}

export async function runAsync<T>(proc: Proc<T>, r: SqlRunner<"async">): Promise<T> {
  let step = proc.next();
  while (!step.done) step = proc.next(await exec(step.value, r));
  return step.value;
}

// Steps of a procedure: `const row = yield* get(S, a, b)`.
export function* get(s: Stmt, ...params: unknown[]): Proc<Raw | undefined> {
  return yield { get: s, params };
}
export function* run(s: Stmt, ...params: unknown[]): Proc<number> {
  return yield { run: s, params };
}
export function* insertEvents(events: NewEvent[] | undefined): Proc<void> {
  if (events?.length) yield { events };
}
export function* insertTasks(tasks: NewTask[] | undefined): Proc<void> {
  if (tasks?.length) yield { tasks };
}
