// Custom templates, cluster store.
import type { Templates } from "../concepts.js";
import { parsed, templateFromRow } from "../rows.js";
import type { Raw } from "../sql.js";
import { doc, text, type PgDb } from "./db.js";

const template = (r: Raw) => templateFromRow(r, parsed);

export function templates(d: PgDb): Templates {
  return {
    async listTemplates(appId, family) {
      const rows = await d.all(
        "SELECT * FROM templates WHERE app_id = $1 AND family = $2 ORDER BY create_time, key",
        [appId, family],
      );
      return rows.map(template);
    },
    async getTemplate(appId, family, key) {
      const r = await d.one("SELECT * FROM templates WHERE app_id = $1 AND family = $2 AND key = $3", [
        appId,
        family,
        text(key),
      ]);
      return r && template(r);
    },
    async putTemplate(row) {
      await d.pool.query(
        `INSERT INTO templates (app_id, family, key, body, create_time, update_time)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6)
         ON CONFLICT (app_id, family, key)
         DO UPDATE SET body = EXCLUDED.body, create_time = EXCLUDED.create_time, update_time = EXCLUDED.update_time`,
        [row.appId, row.family, text(row.key), doc(row.body), row.createTime, row.updateTime],
      );
    },
    async insertTemplate(row) {
      // The primary key (app_id, family, key) decides between processes creating one at once.
      const n = await d.changes(
        `INSERT INTO templates (app_id, family, key, body, create_time, update_time)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6) ON CONFLICT (app_id, family, key) DO NOTHING`,
        [row.appId, row.family, text(row.key), doc(row.body), row.createTime, row.updateTime],
      );
      return n > 0;
    },
    async deleteTemplate(appId, family, key) {
      const n = await d.changes("DELETE FROM templates WHERE app_id = $1 AND family = $2 AND key = $3", [
        appId,
        family,
        text(key),
      ]);
      return n > 0;
    },
    async nextTemplateDefinition(appId, floor) {
      // A sequence, not MAX()+1: a deleted template's Definition is never handed out again. One
      // statement; concurrent callers serialize on the sequence row and each get their own value.
      const r = await d.one(
        `WITH m AS (
           SELECT COALESCE(MAX(CASE WHEN key ~ '^[0-9]{1,15}$' THEN key::bigint END), 0) AS m
           FROM templates WHERE app_id = $2 AND family <> 'Procedure')
         INSERT INTO sequences (name, value) SELECT $1, GREATEST($3::bigint, 1, m.m + 1) FROM m
         ON CONFLICT (name) DO UPDATE SET value = GREATEST($3::bigint, sequences.value + 1, EXCLUDED.value)
         RETURNING value`,
        [`template-definition/${appId}`, appId, floor],
      );
      return r!.value as number;
    },
  };
}
