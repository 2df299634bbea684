// Which store a process uses: PostgreSQL when OPENVOD_DATABASE_URL names one (cluster mode),
// otherwise the embedded SQLite file in the data directory.
import { join } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { isPostgresUrl, PostgresStore } from "./postgres.js";
import { SqliteStore } from "./sqlite.js";
import type { Store } from "./types.js";

export async function openStore(config: Config, log?: Logger): Promise<Store> {
  if (isPostgresUrl(config.databaseUrl)) return PostgresStore.open(config.databaseUrl!, { log });
  return new SqliteStore(join(config.dataDir, "openvod.db"));
}
