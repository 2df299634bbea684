// Applications (SubAppId), cluster store.
import type { Apps } from "../concepts.js";
import { appFromRow } from "../rows.js";
import { text, type PgDb } from "./db.js";

export function apps(d: PgDb): Apps {
  const self: Apps = {
    async ensureDefaultApp(appId, now) {
      // Several processes may start at once: the first insert wins, the others change nothing.
      await d.pool.query(
        `INSERT INTO apps (sub_app_id, name, description, status, create_time, is_default)
         VALUES ($1, 'default', 'The account''s default application', 'On', $2, TRUE)
         ON CONFLICT (sub_app_id) DO NOTHING`,
        [appId, now],
      );
    },
    async getApp(subAppId) {
      const r = await d.one("SELECT * FROM apps WHERE sub_app_id = $1", [subAppId], "getApp");
      return r && appFromRow(r);
    },
    async listApps(offset, limit) {
      const total = (await d.one("SELECT COUNT(*) AS n FROM apps", []))!.n as number;
      const rows = await d.all(
        "SELECT * FROM apps ORDER BY is_default DESC, create_time, sub_app_id LIMIT $1 OFFSET $2",
        [limit, offset],
      );
      return { total, apps: rows.map(appFromRow) };
    },
    async createApp(app) {
      const n = await d.changes(
        `INSERT INTO apps (sub_app_id, name, description, status, create_time, is_default)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sub_app_id) DO NOTHING`,
        [app.subAppId, text(app.name), text(app.description), app.status, app.createTime, app.isDefault],
      );
      return n > 0;
    },
    async updateApp(subAppId, patch) {
      const cols: [string, string | undefined][] = [
        ["name", patch.name],
        ["description", patch.description],
        ["status", patch.status],
      ];
      const sets = cols.filter(([, v]) => v !== undefined);
      if (sets.length === 0) return !!(await self.getApp(subAppId));
      const values = sets.map(([, v]) => text(v!));
      const sql = `UPDATE apps SET ${sets.map(([k], i) => `${k} = $${i + 1}`).join(", ")} WHERE sub_app_id = $${sets.length + 1}`;
      return (await d.changes(sql, [...values, subAppId])) > 0;
    },
    async nextAppId(floor) {
      const m = (await d.one("SELECT MAX(sub_app_id) AS m FROM apps WHERE is_default = FALSE", []))!.m as
        number | null;
      return Math.max(floor, (m ?? floor - 1) + 1);
    },
  };
  return self;
}
