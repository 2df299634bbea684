// Applications (SubAppId), embedded store.
import type { Apps } from "../concepts.js";
import { appFromRow } from "../rows.js";
import type { Raw } from "../sql.js";
import type { AppRow } from "../types.js";
import type { SqliteDb } from "./db.js";

export function apps({ db }: SqliteDb): Apps {
  const get = db.prepare("SELECT * FROM apps WHERE sub_app_id = ?");
  const count = db.prepare("SELECT COUNT(*) AS n FROM apps");
  const list = db.prepare(
    "SELECT * FROM apps ORDER BY is_default DESC, create_time, sub_app_id LIMIT ? OFFSET ?",
  );
  const insert = db.prepare(`INSERT INTO apps (sub_app_id, name, description, status, create_time, is_default)
    VALUES (@subAppId, @name, @description, @status, @createTime, @isDefault)`);
  const maxId = db.prepare("SELECT MAX(sub_app_id) AS m FROM apps WHERE is_default = 0");
  return {
    async ensureDefaultApp(appId, now) {
      if (get.get(appId)) return;
      insert.run({
        subAppId: appId,
        name: "default",
        description: "The account's default application",
        status: "On",
        createTime: now,
        isDefault: 1,
      });
    },
    async getApp(subAppId) {
      const r = get.get(subAppId) as Raw | undefined;
      return r && appFromRow(r);
    },
    async listApps(offset, limit) {
      const total = (count.get() as { n: number }).n;
      return { total, apps: (list.all(limit, offset) as Raw[]).map(appFromRow) };
    },
    async createApp(app: AppRow) {
      if (get.get(app.subAppId)) return false;
      insert.run({ ...app, isDefault: app.isDefault ? 1 : 0 });
      return true;
    },
    async updateApp(subAppId, patch) {
      const cols = { name: patch.name, description: patch.description, status: patch.status };
      const sets = Object.entries(cols).filter(([, v]) => v !== undefined);
      if (sets.length === 0) return !!get.get(subAppId);
      const sql = `UPDATE apps SET ${sets.map(([k]) => `${k} = ?`).join(", ")} WHERE sub_app_id = ?`;
      return db.prepare(sql).run(...sets.map(([, v]) => v), subAppId).changes > 0;
    },
    async nextAppId(floor) {
      const m = (maxId.get() as { m: number | null }).m;
      return Math.max(floor, (m ?? floor - 1) + 1);
    },
  };
}
