// Media items and the outputs kept with them (media parts), embedded store.
import type { Media } from "../concepts.js";
import * as abort from "../abort.js";
import { searchMediaQuery } from "../filters.js";
import { mediaFromRow, parseJson, partFromRow } from "../rows.js";
import type { Raw } from "../sql.js";
import { SQLITE, type SqliteDb } from "./db.js";

const mediaRow = (r: Raw) => mediaFromRow(r, parseJson);
const part = (r: Raw) => partFromRow(r, parseJson);

export function media(d: SqliteDb): Media {
  const p = (sql: string) => d.db.prepare(sql);
  const s = {
    get: p("SELECT * FROM media WHERE file_id = ? AND app_id = ?"),
    parts: p("SELECT * FROM media_parts WHERE app_id = ? AND file_id = ? ORDER BY kind, definition"),
    deleteKind: p("DELETE FROM media_parts WHERE app_id = ? AND file_id = ? AND kind = ? RETURNING *"),
    deletePart: p(
      "DELETE FROM media_parts WHERE app_id = ? AND file_id = ? AND kind = ? AND definition = ? RETURNING *",
    ),
  };
  return {
    async getMedia(appId, fileId) {
      const r = s.get.get(fileId, appId) as Raw | undefined;
      return r && mediaRow(r);
    },
    async updateMedia(appId, fileId, patch) {
      const cols: Record<string, unknown> = {
        name: patch.name,
        description: patch.description,
        class_id: patch.classId,
        expire_time: patch.expireTime,
        tags: patch.tags && JSON.stringify(patch.tags),
        cover_key: patch.coverKey,
        blob_key: patch.blobKey,
        update_time: patch.updateTime,
      };
      const sets = Object.entries(cols).filter(([, v]) => v !== undefined);
      if (sets.length === 0) return !!s.get.get(fileId, appId);
      const sql = `UPDATE media SET ${sets.map(([k]) => `${k} = ?`).join(", ")} WHERE file_id = ? AND app_id = ?`;
      return d.db.prepare(sql).run(...sets.map(([, v]) => v), fileId, appId).changes > 0;
    },
    async deleteMedia(appId, fileId, events, abortTasks) {
      const r = d.proc(abort.deleteMedia(appId, fileId, events, abortTasks));
      return r && mediaRow(r);
    },
    async searchMedia(q) {
      const { count, page } = searchMediaQuery(q, SQLITE);
      const total = (d.db.prepare(count.sql).get(...count.values) as { n: number }).n;
      return { total, media: (d.db.prepare(page.sql).all(...page.values) as Raw[]).map(mediaRow) };
    },
    async getMediaParts(appId, fileId) {
      return (s.parts.all(appId, fileId) as Raw[]).map(part);
    },
    async deleteMediaParts(appId, fileId, kind, definition) {
      const rows = definition
        ? s.deletePart.all(appId, fileId, kind, definition)
        : s.deleteKind.all(appId, fileId, kind);
      return (rows as Raw[]).map(part);
    },
  };
}
