// Upload sessions (ApplyUpload, the COS endpoint, CommitUpload) and their multipart uploads,
// cluster store: the COS endpoint of any process may take the next request of an upload, so
// each read-then-write holds the row it depends on.
import type { Uploads } from "../concepts.js";
import * as effects from "../effects.js";
import { multipartFromRow, parsed, uploadPartFromRow, uploadSessionFromRow } from "../rows.js";
import type { Raw } from "../sql.js";
import { doc, text, type PgDb } from "./db.js";

const session = (r: Raw) => uploadSessionFromRow(r, parsed);

export function uploads(d: PgDb): Uploads {
  return {
    async insertUploadSession(s) {
      await d.pool.query(
        `INSERT INTO upload_sessions (id, session_key, app_id, secret_id, secret_key, token, media_key, cover_key,
           params, media, cover, status, file_id, commit_time, create_time, expire_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb, $12, $13, $14, $15, $16)`,
        [
          s.id,
          s.sessionKey,
          s.appId,
          s.secretId,
          s.secretKey,
          s.token,
          text(s.mediaKey),
          text(s.coverKey),
          doc(s.params),
          s.media && doc(s.media),
          s.cover && doc(s.cover),
          s.status,
          s.fileId,
          s.commitTime,
          s.createTime,
          s.expireTime,
        ],
      );
    },
    async getUploadSession(sessionKey) {
      const r = await d.one("SELECT * FROM upload_sessions WHERE session_key = $1", [text(sessionKey)]);
      return r && session(r);
    },
    async getUploadSessionBySecretId(secretId) {
      const r = await d.one(
        "SELECT * FROM upload_sessions WHERE secret_id = $1",
        [text(secretId)],
        "uploadBySecretId",
      );
      return r && session(r);
    },
    async setUploadObject(sessionId, target, obj) {
      return d.tx(async (c) => {
        const { rows } = await c.query("SELECT * FROM upload_sessions WHERE id = $1 FOR UPDATE", [sessionId]);
        const cur = rows[0];
        if (!cur || cur.status !== "OPEN") return undefined;
        const col = target === "media" ? "media" : "cover";
        await c.query(`UPDATE upload_sessions SET ${col} = $1::jsonb WHERE id = $2`, [
          obj && doc(obj),
          sessionId,
        ]);
        return { replaced: session(cur)[target] };
      });
    },
    async claimUploadCommit(sessionId, fileId, now, staleBefore) {
      const r = await d.one(
        `UPDATE upload_sessions SET status = 'COMMITTING', commit_time = $3,
           file_id = CASE WHEN file_id = '' THEN $2 ELSE file_id END
         WHERE id = $1 AND (status = 'OPEN' OR (status = 'COMMITTING' AND commit_time < $4)) RETURNING *`,
        [sessionId, fileId, now, staleBefore],
      );
      return r && session(r);
    },
    async releaseUploadCommit(sessionId, clear) {
      await d.pool.query(
        `UPDATE upload_sessions SET
           media = CASE WHEN $2 THEN NULL ELSE media END,
           cover = CASE WHEN $3 THEN NULL ELSE cover END,
           commit_time = CASE WHEN status = 'COMMITTING' THEN NULL ELSE commit_time END,
           status = CASE WHEN status = 'COMMITTING' THEN 'OPEN' ELSE status END
         WHERE id = $1`,
        [sessionId, clear.includes("media"), clear.includes("cover")],
      );
    },
    async finishUploadCommit(sessionId, media, tasks, events) {
      return d.proc(effects.finishUploadCommit(sessionId, media, tasks, events));
    },
    async deleteExpiredUploadSessions(now, limit) {
      // Multipart uploads and their parts go with the session (ON DELETE CASCADE).
      const rows = await d.all(
        `DELETE FROM upload_sessions WHERE id IN (SELECT id FROM upload_sessions WHERE expire_time < $1
           ORDER BY expire_time LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id, expire_time`,
        [now, limit],
      );
      return rows.sort((a, b) => a.expire_time - b.expire_time).map((r) => r.id as string);
    },
    async insertMultipart(m) {
      await d.pool.query(
        `INSERT INTO upload_multiparts (upload_id, session_id, target, content_type, create_time)
         VALUES ($1, $2, $3, $4, $5)`,
        [m.uploadId, m.sessionId, m.target, text(m.contentType), m.createTime],
      );
    },
    async getMultipart(uploadId) {
      const r = await d.one("SELECT * FROM upload_multiparts WHERE upload_id = $1", [text(uploadId)]);
      return r && multipartFromRow(r);
    },
    async listMultiparts(sessionId) {
      const rows = await d.all(
        'SELECT * FROM upload_multiparts WHERE session_id = $1 ORDER BY create_time, upload_id COLLATE "C"',
        [sessionId],
      );
      return rows.map(multipartFromRow);
    },
    async deleteMultipart(uploadId) {
      return d.tx(async (c) => {
        // Locked first, so a part being put right now is either among those returned or refused.
        const up = await c.query("SELECT 1 FROM upload_multiparts WHERE upload_id = $1 FOR UPDATE", [
          text(uploadId),
        ]);
        if (!up.rows[0]) return undefined;
        const { rows } = await c.query(
          "SELECT * FROM upload_parts WHERE upload_id = $1 ORDER BY part_number",
          [text(uploadId)],
        );
        // Its parts go with it (ON DELETE CASCADE).
        await c.query("DELETE FROM upload_multiparts WHERE upload_id = $1", [text(uploadId)]);
        return rows.map(uploadPartFromRow);
      });
    },
    async putUploadPart(p) {
      return d.tx(async (c) => {
        // Locks the upload against a concurrent delete (which would cascade over this part).
        const up = await c.query("SELECT 1 FROM upload_multiparts WHERE upload_id = $1 FOR SHARE", [
          p.uploadId,
        ]);
        if (!up.rows[0]) return undefined;
        const { rows } = await c.query(
          "SELECT * FROM upload_parts WHERE upload_id = $1 AND part_number = $2 FOR UPDATE",
          [p.uploadId, p.partNumber],
        );
        await c.query(
          `INSERT INTO upload_parts (upload_id, part_number, file, size, etag, last_modified)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (upload_id, part_number) DO UPDATE SET file = EXCLUDED.file, size = EXCLUDED.size,
             etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified`,
          [p.uploadId, p.partNumber, p.file, p.size, p.etag, p.lastModified],
        );
        return { replaced: rows[0] && uploadPartFromRow(rows[0]) };
      });
    },
    async listUploadParts(uploadId) {
      const rows = await d.all("SELECT * FROM upload_parts WHERE upload_id = $1 ORDER BY part_number", [
        text(uploadId),
      ]);
      return rows.map(uploadPartFromRow);
    },
  };
}
