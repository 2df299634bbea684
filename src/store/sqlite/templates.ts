// Custom templates, embedded store.
import type { Templates } from "../concepts.js";
import { parseJson, templateFromRow } from "../rows.js";
import type { Raw } from "../sql.js";
import type { SqliteDb } from "./db.js";

const template = (r: Raw) => templateFromRow(r, parseJson);

export function templates(d: SqliteDb): Templates {
  const p = (sql: string) => d.db.prepare(sql);
  const s = {
    list: p("SELECT * FROM templates WHERE app_id = ? AND family = ? ORDER BY create_time, key"),
    get: p("SELECT * FROM templates WHERE app_id = ? AND family = ? AND key = ?"),
    put: p(`INSERT OR REPLACE INTO templates (app_id, family, key, body, create_time, update_time)
      VALUES (@appId, @family, @key, @body, @createTime, @updateTime)`),
    insert: p(`INSERT INTO templates (app_id, family, key, body, create_time, update_time)
      VALUES (@appId, @family, @key, @body, @createTime, @updateTime) ON CONFLICT DO NOTHING`),
    delete: p("DELETE FROM templates WHERE app_id = ? AND family = ? AND key = ?"),
    maxKey: p(
      "SELECT MAX(CAST(key AS INTEGER)) AS m FROM templates WHERE app_id = ? AND family <> 'Procedure'",
    ),
    sequence: p("SELECT value FROM sequences WHERE name = ?"),
    setSequence: p("INSERT OR REPLACE INTO sequences (name, value) VALUES (?, ?)"),
  };
  return {
    async listTemplates(appId, family) {
      return (s.list.all(appId, family) as Raw[]).map(template);
    },
    async getTemplate(appId, family, key) {
      const r = s.get.get(appId, family, key) as Raw | undefined;
      return r && template(r);
    },
    async putTemplate(row) {
      s.put.run({ ...row, body: JSON.stringify(row.body) });
    },
    async insertTemplate(row) {
      return s.insert.run({ ...row, body: JSON.stringify(row.body) }).changes > 0;
    },
    async deleteTemplate(appId, family, key) {
      return s.delete.run(appId, family, key).changes > 0;
    },
    async nextTemplateDefinition(appId, floor) {
      // A sequence, not MAX()+1: a deleted template's Definition is never handed out again, so
      // outputs made with it can never be mistaken for a new template's.
      return d.tx(() => {
        const name = `template-definition/${appId}`;
        const cur = s.sequence.get(name) as { value: number } | undefined;
        const max = (s.maxKey.get(appId) as { m: number | null }).m ?? 0;
        const next = Math.max(floor, (cur?.value ?? 0) + 1, max + 1);
        s.setSequence.run(name, next);
        return next;
      });
    },
  };
}
