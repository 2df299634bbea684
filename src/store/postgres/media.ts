// Media items and the outputs kept with them (media parts), cluster store.
import type { Media } from "../concepts.js";
import * as abort from "../abort.js";
import { searchMediaQuery } from "../filters.js";
import { mediaFromRow, parsed, partFromRow } from "../rows.js";
import type { Raw } from "../sql.js";
import { doc, POSTGRES, text, type PgDb } from "./db.js";

const mediaRow = (r: Raw) => mediaFromRow(r, parsed);
const part = (r: Raw) => partFromRow(r, parsed);

export function media(d: PgDb): Media {
  const self: Media = {
    async getMedia(appId, fileId) {
      const r = await d.one(
        "SELECT * FROM media WHERE file_id = $1 AND app_id = $2",
        [text(fileId), appId],
        "getMedia",
      );
      return r && mediaRow(r);
    },
    async updateMedia(appId, fileId, patch) {
      const p = POSTGRES.params();
      const cols: [string, unknown][] = [
        ["name", patch.name === undefined ? undefined : text(patch.name)],
        ["description", patch.description === undefined ? undefined : text(patch.description)],
        ["class_id", patch.classId],
        ["expire_time", patch.expireTime === undefined ? undefined : text(patch.expireTime)],
        ["tags", patch.tags === undefined ? undefined : doc(patch.tags)],
        ["cover_key", patch.coverKey],
        ["blob_key", patch.blobKey],
        ["update_time", patch.updateTime],
      ];
      const sets = cols
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k} = ${p.add(v)}${k === "tags" ? "::jsonb" : ""}`);
      if (sets.length === 0) return !!(await self.getMedia(appId, fileId));
      const sql = `UPDATE media SET ${sets.join(", ")} WHERE file_id = ${p.add(text(fileId))} AND app_id = ${p.add(appId)}`;
      return (await d.changes(sql, p.values)) > 0;
    },
    async deleteMedia(appId, fileId, events, abortTasks) {
      const r = await d.proc(abort.deleteMedia(appId, fileId, events, abortTasks));
      return r && mediaRow(r);
    },
    async searchMedia(q) {
      const { count, page } = searchMediaQuery(q, POSTGRES);
      const total = (await d.one(count.sql, count.values))!.n as number;
      return { total, media: (await d.all(page.sql, page.values)).map(mediaRow) };
    },
    async getMediaParts(appId, fileId) {
      const rows = await d.all(
        "SELECT * FROM media_parts WHERE app_id = $1 AND file_id = $2 ORDER BY kind, definition",
        [appId, text(fileId)],
      );
      return rows.map(part);
    },
    async deleteMediaParts(appId, fileId, kind, definition) {
      const rows = definition
        ? await d.all(
            "DELETE FROM media_parts WHERE app_id = $1 AND file_id = $2 AND kind = $3 AND definition = $4 RETURNING *",
            [appId, text(fileId), kind, definition],
          )
        : await d.all(
            "DELETE FROM media_parts WHERE app_id = $1 AND file_id = $2 AND kind = $3 RETURNING *",
            [appId, text(fileId), kind],
          );
      return rows.map(part);
    },
  };
  return self;
}
