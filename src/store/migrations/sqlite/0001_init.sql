-- The first schema of the embedded store: applications, the task queue and media items.
-- Versions 1-6 are the statements the store ran from an inline list (counted in PRAGMA
-- user_version) before migrations were files; a database made then is recorded as being at
-- its user_version and continues from there (src/store/migrate.ts).
-- Times are integer milliseconds; documents are JSON text (SQLite has no document type that
-- better-sqlite3 would hand back parsed).

CREATE TABLE apps (
  sub_app_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'On',
  create_time INTEGER NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tasks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL UNIQUE,
  app_id INTEGER NOT NULL,
  task_type TEXT NOT NULL,
  status TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  file_id TEXT NOT NULL DEFAULT '',
  session_id TEXT NOT NULL DEFAULT '',
  session_context TEXT NOT NULL DEFAULT '',
  input TEXT NOT NULL,
  state TEXT NOT NULL,
  err_code INTEGER NOT NULL DEFAULT 0,
  err_code_ext TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  create_time INTEGER NOT NULL,
  begin_time INTEGER,
  finish_time INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until INTEGER
);
-- The claim's predicate and order (highest priority, then oldest), and only the rows it can take.
CREATE INDEX tasks_runnable ON tasks (priority DESC, seq) WHERE status IN ('WAITING', 'PROCESSING');
CREATE INDEX tasks_app_create ON tasks (app_id, create_time);
-- findTaskBySession: a repeated SessionId (de-duplication of a request) finds its task.
CREATE INDEX tasks_session ON tasks (app_id, session_id) WHERE session_id <> '';
CREATE TABLE media (
  file_id TEXT PRIMARY KEY,
  app_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  class_id INTEGER NOT NULL DEFAULT 0,
  type TEXT NOT NULL,
  category TEXT NOT NULL,
  blob_key TEXT NOT NULL,
  cover_key TEXT NOT NULL DEFAULT '',
  meta_data TEXT NOT NULL,
  source_type TEXT NOT NULL,
  source_context TEXT NOT NULL DEFAULT '',
  storage_region TEXT NOT NULL,
  expire_time TEXT NOT NULL,
  tags TEXT NOT NULL DEFAULT '[]',
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
);
-- SearchMedia's order; ties are broken by rowid, which every SQLite index ends with.
CREATE INDEX media_app_create ON media (app_id, create_time);
