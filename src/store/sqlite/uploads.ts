// Upload sessions (ApplyUpload, the COS endpoint, CommitUpload) and their multipart uploads,
// embedded store. Statements are prepared on first use: most processes never upload.
import type { Uploads } from "../concepts.js";
import type Database from "better-sqlite3";
import * as effects from "../effects.js";
import { multipartFromRow, parseJson, uploadPartFromRow, uploadSessionFromRow } from "../rows.js";
import type { Raw } from "../sql.js";
import type { SqliteDb } from "./db.js";

const session = (r: Raw) => uploadSessionFromRow(r, parseJson);

function statements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    insert: p(`INSERT INTO upload_sessions (id, session_key, app_id, secret_id, secret_key, token, media_key,
      cover_key, params, media, cover, status, file_id, commit_time, create_time, expire_time) VALUES (@id,
      @sessionKey, @appId, @secretId, @secretKey, @token, @mediaKey, @coverKey, @params, @media, @cover, @status,
      @fileId, @commitTime, @createTime, @expireTime)`),
    byKey: p("SELECT * FROM upload_sessions WHERE session_key = ?"),
    bySecretId: p("SELECT * FROM upload_sessions WHERE secret_id = ?"),
    byId: p("SELECT * FROM upload_sessions WHERE id = ?"),
    setMedia: p("UPDATE upload_sessions SET media = ? WHERE id = ? AND status = 'OPEN'"),
    setCover: p("UPDATE upload_sessions SET cover = ? WHERE id = ? AND status = 'OPEN'"),
    claim: p(`UPDATE upload_sessions SET status = 'COMMITTING', commit_time = @now,
      file_id = CASE WHEN file_id = '' THEN @fileId ELSE file_id END
      WHERE id = @id AND (status = 'OPEN' OR (status = 'COMMITTING' AND commit_time < @staleBefore)) RETURNING *`),
    release: p(
      "UPDATE upload_sessions SET status = 'OPEN', commit_time = NULL WHERE id = ? AND status = 'COMMITTING'",
    ),
    clearMedia: p("UPDATE upload_sessions SET media = NULL WHERE id = ?"),
    clearCover: p("UPDATE upload_sessions SET cover = NULL WHERE id = ?"),
    expired: p("SELECT id FROM upload_sessions WHERE expire_time < ? ORDER BY expire_time LIMIT ?"),
    deleteSession: p("DELETE FROM upload_sessions WHERE id = ?"),
    insertMultipart:
      p(`INSERT INTO upload_multiparts (upload_id, session_id, target, content_type, create_time)
      VALUES (@uploadId, @sessionId, @target, @contentType, @createTime)`),
    getMultipart: p("SELECT * FROM upload_multiparts WHERE upload_id = ?"),
    listMultiparts: p("SELECT * FROM upload_multiparts WHERE session_id = ? ORDER BY create_time, upload_id"),
    deleteMultipart: p("DELETE FROM upload_multiparts WHERE upload_id = ?"),
    getPart: p("SELECT * FROM upload_parts WHERE upload_id = ? AND part_number = ?"),
    putPart: p(`INSERT OR REPLACE INTO upload_parts (upload_id, part_number, file, size, etag, last_modified)
      VALUES (@uploadId, @partNumber, @file, @size, @etag, @lastModified)`),
    listParts: p("SELECT * FROM upload_parts WHERE upload_id = ? ORDER BY part_number"),
  };
}

export function uploads(d: SqliteDb): Uploads {
  let prepared: ReturnType<typeof statements> | undefined;
  const s = () => (prepared ??= statements(d.db));
  return {
    async insertUploadSession(u) {
      s().insert.run({
        ...u,
        params: JSON.stringify(u.params),
        media: u.media && JSON.stringify(u.media),
        cover: u.cover && JSON.stringify(u.cover),
      });
    },
    async getUploadSession(sessionKey) {
      const r = s().byKey.get(sessionKey) as Raw | undefined;
      return r && session(r);
    },
    async getUploadSessionBySecretId(secretId) {
      const r = s().bySecretId.get(secretId) as Raw | undefined;
      return r && session(r);
    },
    async setUploadObject(sessionId, target, obj) {
      return d.tx(() => {
        const cur = s().byId.get(sessionId) as Raw | undefined;
        if (!cur || cur.status !== "OPEN") return undefined;
        (target === "media" ? s().setMedia : s().setCover).run(obj && JSON.stringify(obj), sessionId);
        return { replaced: session(cur)[target] };
      });
    },
    async claimUploadCommit(sessionId, fileId, now, staleBefore) {
      const r = s().claim.get({ id: sessionId, fileId, now, staleBefore }) as Raw | undefined;
      return r && session(r);
    },
    async releaseUploadCommit(sessionId, clear) {
      d.tx(() => {
        if (clear.includes("media")) s().clearMedia.run(sessionId);
        if (clear.includes("cover")) s().clearCover.run(sessionId);
        s().release.run(sessionId);
      });
    },
    async finishUploadCommit(sessionId, media, tasks, events) {
      return d.proc(effects.finishUploadCommit(sessionId, media, tasks, events));
    },
    async deleteExpiredUploadSessions(now, limit) {
      return d.tx(() => {
        const ids = (s().expired.all(now, limit) as { id: string }[]).map((r) => r.id);
        // Multipart uploads and their parts go with the session (ON DELETE CASCADE).
        for (const id of ids) s().deleteSession.run(id);
        return ids;
      });
    },
    async insertMultipart(m) {
      s().insertMultipart.run(m);
    },
    async getMultipart(uploadId) {
      const r = s().getMultipart.get(uploadId) as Raw | undefined;
      return r && multipartFromRow(r);
    },
    async listMultiparts(sessionId) {
      return (s().listMultiparts.all(sessionId) as Raw[]).map(multipartFromRow);
    },
    async deleteMultipart(uploadId) {
      return d.tx(() => {
        const parts = (s().listParts.all(uploadId) as Raw[]).map(uploadPartFromRow);
        if (s().deleteMultipart.run(uploadId).changes === 0) return undefined;
        return parts;
      });
    },
    async putUploadPart(part) {
      return d.tx(() => {
        if (!s().getMultipart.get(part.uploadId)) return undefined;
        const old = s().getPart.get(part.uploadId, part.partNumber) as Raw | undefined;
        s().putPart.run(part);
        return { replaced: old && uploadPartFromRow(old) };
      });
    },
    async listUploadParts(uploadId) {
      return (s().listParts.all(uploadId) as Raw[]).map(uploadPartFromRow);
    },
  };
}
