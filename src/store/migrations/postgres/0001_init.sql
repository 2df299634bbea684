-- The first schema of the cluster store (PostgreSQL), the same tables as SQLite's 0001-0004.
-- Versions 1-3 are the statements the store ran from an inline list before migrations were
-- files; it recorded them in schema_migrations as now, so such a database simply continues.
-- Times are BIGINT milliseconds; documents are JSONB, except events.content, which is JSON so a
-- callback body keeps the member order the spec gives it. Text that SQLite compares or sorts as
-- bytes (template keys, part kinds, expire times) is COLLATE "C" here too.
--
-- Differences from SQLite that are meant:
-- - media.seq: SearchMedia breaks ties of create_time by insertion order. SQLite's rowid is that
--   order; PostgreSQL rows have no stable order of their own, so it gets a column.
-- - tasks_purge was here from the start; SQLite gained it in its 0007.

CREATE TABLE apps (
  sub_app_id BIGINT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'On',
  create_time BIGINT NOT NULL,
  is_default BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE tasks (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id TEXT NOT NULL UNIQUE,
  app_id BIGINT NOT NULL,
  task_type TEXT NOT NULL,
  status TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  file_id TEXT NOT NULL DEFAULT '',
  session_id TEXT NOT NULL DEFAULT '',
  session_context TEXT NOT NULL DEFAULT '',
  input JSONB NOT NULL,
  state JSONB NOT NULL,
  err_code INTEGER NOT NULL DEFAULT 0,
  err_code_ext TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  create_time BIGINT NOT NULL,
  begin_time BIGINT,
  finish_time BIGINT,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until BIGINT
);
-- The claim's predicate and order (highest priority, then oldest), and only the rows it can take.
CREATE INDEX tasks_runnable ON tasks (priority DESC, seq) WHERE status IN ('WAITING', 'PROCESSING');
CREATE INDEX tasks_app_create ON tasks (app_id, create_time);
-- findTaskBySession: a repeated SessionId (de-duplication of a request) finds its task.
CREATE INDEX tasks_session ON tasks (app_id, session_id) WHERE session_id <> '';
CREATE INDEX tasks_purge ON tasks (create_time) WHERE status IN ('FINISH', 'ABORTED');
CREATE TABLE media (
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  file_id TEXT PRIMARY KEY,
  app_id BIGINT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  class_id BIGINT NOT NULL DEFAULT 0,
  type TEXT NOT NULL,
  category TEXT NOT NULL,
  blob_key TEXT NOT NULL,
  cover_key TEXT NOT NULL DEFAULT '',
  meta_data JSONB NOT NULL,
  source_type TEXT NOT NULL,
  source_context TEXT NOT NULL DEFAULT '',
  storage_region TEXT NOT NULL,
  expire_time TEXT COLLATE "C" NOT NULL,
  tags JSONB NOT NULL DEFAULT '[]',
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL
);
-- SearchMedia's order, ties broken by seq (SQLite: rowid).
CREATE INDEX media_app_create ON media (app_id, create_time, seq);
CREATE TABLE event_configs (
  app_id BIGINT PRIMARY KEY,
  mode TEXT NOT NULL,
  notification_url TEXT NOT NULL,
  sign_key TEXT NOT NULL,
  upload_switch TEXT NOT NULL,
  delete_switch TEXT NOT NULL,
  persistence_switch TEXT NOT NULL
);
CREATE TABLE events (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  app_id BIGINT NOT NULL,
  event_type TEXT NOT NULL,
  content JSON NOT NULL,
  delivery TEXT NOT NULL,
  create_time BIGINT NOT NULL,
  available_at BIGINT NOT NULL,
  handle TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_due ON events (delivery, app_id, available_at, seq);
CREATE INDEX events_handle ON events (handle) WHERE handle <> '';
CREATE INDEX events_created ON events (create_time);
CREATE TABLE templates (
  app_id BIGINT NOT NULL,
  family TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  body JSONB NOT NULL,
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL,
  PRIMARY KEY (app_id, family, key)
);
CREATE TABLE media_parts (
  app_id BIGINT NOT NULL,
  file_id TEXT NOT NULL,
  kind TEXT COLLATE "C" NOT NULL,
  definition BIGINT NOT NULL,
  item JSONB NOT NULL,
  blobs JSONB NOT NULL,
  create_time BIGINT NOT NULL,
  PRIMARY KEY (app_id, file_id, kind, definition)
);
CREATE TABLE sequences (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
