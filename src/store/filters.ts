// The DescribeTasks and SearchMedia queries, built once for both dialects from the filter the
// action gives. What differs between dialects is small and named in SqlDialect.
import { stmt } from "./sql.js";
import type { MediaSearch, TaskListFilter } from "./types.js";

/** Positional parameters: add(v) appends v and returns its placeholder ("?" or "$n"). */
export interface Params {
  readonly values: unknown[];
  add(v: unknown): string;
}

export interface SqlDialect {
  params(): Params;
  /** How a text parameter is stored (PostgreSQL cannot hold NUL; see src/store/postgres/db.ts). */
  text(s: string): string;
  /** `col IN (...)`, or with `not`, `col NOT IN (...)`, for a non-empty list. */
  inList(p: Params, col: string, values: unknown[], type: "text" | "bigint", not?: boolean): string;
  /** The text v occurs in col. */
  contains(p: Params, col: string, v: string): string;
  startsWith(p: Params, col: string, v: string): string;
  /** Any one of the tags is among the media item's tags. */
  anyTag(p: Params, tags: string[]): string;
  /** The column that orders media rows by insertion (SQLite: rowid; PostgreSQL: seq). */
  mediaSeq: string;
}

export interface Query {
  sql: string;
  values: unknown[];
}

/** Where keyset paging continues: the task the previous page's ScrollToken names. */
export const TASK_CURSOR = stmt(
  "tasks.cursor",
  "SELECT seq, create_time, finish_time FROM tasks WHERE task_id = ? AND app_id = ?",
);

export interface TaskCursor {
  seq: number;
  create_time: number;
  finish_time: number | null;
}

/** Store.listTasks, given the cursor row when f.fromTaskId named one. */
export function listTasksQuery(f: TaskListFilter, from: TaskCursor | undefined, d: SqlDialect): Query {
  const p = d.params();
  const where = [`app_id = ${p.add(f.appId)}`, `create_time >= ${p.add(f.notBefore)}`];
  if (f.status) where.push(`status = ${p.add(f.status)}`);
  if (f.fileId) where.push(`file_id = ${p.add(d.text(f.fileId))}`);
  if (f.createAfter !== undefined) where.push(`create_time >= ${p.add(f.createAfter)}`);
  if (f.createBefore !== undefined) where.push(`create_time < ${p.add(f.createBefore)}`);
  if (f.finishAfter !== undefined) where.push(`finish_time >= ${p.add(f.finishAfter)}`);
  if (f.finishBefore !== undefined) where.push(`finish_time < ${p.add(f.finishBefore)}`);
  const key = f.sortField === "FinishTime" ? "COALESCE(finish_time, 0)" : "create_time";
  const dir = f.order === "Asc" ? "ASC" : "DESC";
  if (from) {
    // Keyset paging: continue at the task the previous page named, in the same order.
    const fromKey = f.sortField === "FinishTime" ? (from.finish_time ?? 0) : from.create_time;
    const cmp = f.order === "Asc" ? ">" : "<";
    where.push(
      `(${key} ${cmp} ${p.add(fromKey)} OR (${key} = ${p.add(fromKey)} AND seq ${cmp}= ${p.add(from.seq)}))`,
    );
  }
  const sql = `SELECT * FROM tasks WHERE ${where.join(" AND ")} ORDER BY ${key} ${dir}, seq ${dir}
    LIMIT ${p.add(f.limit)}`;
  return { sql, values: p.values };
}

/** Store.searchMedia: the count of all matches, and the page. */
export function searchMediaQuery(q: MediaSearch, d: SqlDialect): { count: Query; page: Query } {
  const p = d.params();
  const where = [`app_id = ${p.add(q.appId)}`];
  const texts = (values: string[] | undefined) => values?.map(d.text);
  const list = (col: string, values: unknown[] | undefined, type: "text" | "bigint" = "text") => {
    if (values?.length) where.push(d.inList(p, col, values, type));
  };
  // Any one of the given texts, as the cloud matches Names and Descriptions fuzzily.
  const anyOf = (values: string[] | undefined, one: (v: string) => string) => {
    if (values?.length) where.push(`(${values.map(one).join(" OR ")})`);
  };
  list("file_id", texts(q.fileIds));
  anyOf(texts(q.names), (v) => d.contains(p, "name", v));
  anyOf(texts(q.descriptions), (v) => d.contains(p, "description", v));
  list("class_id", q.classIds, "bigint");
  list("category", texts(q.categories));
  list("source_type", texts(q.sourceTypes));
  list("type", texts(q.mediaTypes));
  list("storage_region", texts(q.storageRegions));
  anyOf(texts(q.namePrefixes), (v) => d.startsWith(p, "name", v));
  if (q.tags?.length) where.push(d.anyTag(p, texts(q.tags)!));
  if (q.text) {
    const t = d.text(q.text);
    where.push(`(${d.contains(p, "name", t)} OR ${d.contains(p, "description", t)})`);
  }
  if (q.expireAfter !== undefined) where.push(`expire_time >= ${p.add(q.expireAfter)}`);
  if (q.expireBefore !== undefined) where.push(`expire_time < ${p.add(q.expireBefore)}`);
  if (q.createAfter !== undefined) where.push(`create_time >= ${p.add(q.createAfter)}`);
  if (q.createBefore !== undefined) where.push(`create_time < ${p.add(q.createBefore)}`);
  const w = where.join(" AND ");
  const count = { sql: `SELECT COUNT(*) AS n FROM media WHERE ${w}`, values: [...p.values] };
  const dir = q.sortOrder === "Asc" ? "ASC" : "DESC";
  const sql = `SELECT * FROM media WHERE ${w} ORDER BY create_time ${dir}, ${d.mediaSeq} ${dir}
    LIMIT ${p.add(q.limit)} OFFSET ${p.add(q.offset)}`;
  return { count, page: { sql, values: p.values } };
}
