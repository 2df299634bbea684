-- ApplyUpload sessions and the COS-compatible multipart uploads made inside them; a session's
-- uploads and parts go with it (ON DELETE CASCADE, which needs PRAGMA foreign_keys = ON).

CREATE TABLE upload_sessions (
  id TEXT PRIMARY KEY,
  session_key TEXT NOT NULL UNIQUE,
  app_id INTEGER NOT NULL,
  secret_id TEXT NOT NULL UNIQUE,
  secret_key TEXT NOT NULL,
  token TEXT NOT NULL,
  media_key TEXT NOT NULL,
  cover_key TEXT NOT NULL DEFAULT '',
  params TEXT NOT NULL,
  media TEXT,
  cover TEXT,
  status TEXT NOT NULL DEFAULT 'OPEN',
  file_id TEXT NOT NULL DEFAULT '',
  commit_time INTEGER,
  create_time INTEGER NOT NULL,
  expire_time INTEGER NOT NULL
);
CREATE INDEX upload_sessions_expire ON upload_sessions (expire_time);
CREATE TABLE upload_multiparts (
  upload_id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES upload_sessions (id) ON DELETE CASCADE,
  target TEXT NOT NULL,
  content_type TEXT NOT NULL DEFAULT '',
  create_time INTEGER NOT NULL
);
CREATE INDEX upload_multiparts_session ON upload_multiparts (session_id);
CREATE TABLE upload_parts (
  upload_id TEXT NOT NULL REFERENCES upload_multiparts (upload_id) ON DELETE CASCADE,
  part_number INTEGER NOT NULL,
  file TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  last_modified INTEGER NOT NULL,
  PRIMARY KEY (upload_id, part_number)
);
