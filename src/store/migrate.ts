// The numbered .sql files of each dialect (src/store/migrations/<dialect>/NNNN_name.sql) and
// which of them a database still needs. Applying them is the dialect's: SQLite in one IMMEDIATE
// transaction, PostgreSQL under an advisory lock (src/store/sqlite/db.ts, src/store/postgres/db.ts).
// Append only: a file some database has run is never edited. A schema change is a new file in
// each dialect; where the dialects differ on purpose, the files say why.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type Dialect = "sqlite" | "postgres";

export interface Migration {
  version: number;
  /** The file name, e.g. "0001_init.sql". */
  name: string;
  sql: string;
}

/**
 * Where the .sql files are. tsc copies none of them into dist/, so compiled code
 * (dist/src/store/migrate.js) reads them from the source tree, which every checkout and the
 * package itself carry; run from src/ directly they are beside this module. Resolving from
 * this module's URL (not a build step that copies them) keeps every way of building working:
 * `npm test`, `npx tsc -p .` alone, CI's fresh clone.
 */
export function migrationsDir(dialect: Dialect): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, "migrations", dialect),
    join(here, "../../../src/store/migrations", dialect),
  ];
  const found = candidates.find((d) => existsSync(d));
  if (!found) throw new Error(`store migrations not found (looked in ${candidates.join(", ")})`);
  return found;
}

const FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;
const loaded = new Map<Dialect, Migration[]>();

/** The dialect's migrations in order; numbered 1, 2, 3... without a gap or a repeat. */
export function loadMigrations(dialect: Dialect): Migration[] {
  const cached = loaded.get(dialect);
  if (cached) return cached;
  const dir = migrationsDir(dialect);
  const list = readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .map((name, i): Migration => {
      const m = FILE.exec(name);
      if (!m || Number(m[1]) !== i + 1)
        throw new Error(
          `${join(dir, name)}: expected a file named ${String(i + 1).padStart(4, "0")}_<name>.sql`,
        );
      return { version: i + 1, name, sql: readFileSync(join(dir, name), "utf8") };
    });
  loaded.set(dialect, list);
  return list;
}

/**
 * What to run, given the versions a database has recorded. A database newer than this code
 * (versions beyond the files, after a rollback of the binaries) is used as it is: migrations
 * only add, so older code still finds what it needs.
 */
export function pending(dialect: Dialect, applied: Iterable<number>): Migration[] {
  const done = new Set(applied);
  return loadMigrations(dialect).filter((m) => !done.has(m.version));
}
