// A PostgreSQL database of a test's own: created on the server the machine runs (trust auth on
// 127.0.0.1:5432; OPENVOD_TEST_PG_URL names another admin URL), dropped when the test is done,
// so runs never see each other's rows.
import { randomBytes } from "node:crypto";
import pg from "pg";

export const ADMIN_URL = process.env.OPENVOD_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(
      `cannot reach PostgreSQL at ${ADMIN_URL} (start it, or set OPENVOD_TEST_PG_URL): ${(err as Error).message}`,
    );
  }
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

const NAME = /^openvod_(?:test|bench)[a-z_]*_(\d+)_[0-9a-f]{8}$/;
let swept = false;

/**
 * Drops the databases that tests and benches of processes no longer alive left behind (killed
 * before their cleanup ran). Only where the server is on this machine, so that a pid means the
 * same process here and there.
 */
async function sweepLeftovers(c: pg.Client): Promise<void> {
  if (swept || !["127.0.0.1", "localhost", "[::1]"].includes(new URL(ADMIN_URL).hostname)) return;
  swept = true;
  const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database");
  for (const { datname } of rows) {
    const pid = Number(NAME.exec(datname)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // still running
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") continue;
    }
    await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => {});
  }
}

export async function createTestDatabase(prefix = "openvod_test"): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
  await admin(async (c) => {
    await sweepLeftovers(c);
    await c.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      // WITH (FORCE): connections a killed process left behind must not keep the database.
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Runs one query on a database (for tests that look at rows directly). */
export async function sql<T extends pg.QueryResultRow = any>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = (await c.query<T>(text, values)) as pg.QueryResult<T> | pg.QueryResult<T>[];
    // Several statements in one text answer one result each: the last one is wanted.
    return Array.isArray(r) ? r[r.length - 1]!.rows : r.rows;
  } finally {
    await c.end().catch(() => {});
  }
}
