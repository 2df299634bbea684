-- Event notification: per-application delivery settings and the event log (PULL and PUSH).
-- events_due serves both the pull of one application and the scan for due callbacks.

CREATE TABLE event_configs (
  app_id INTEGER PRIMARY KEY,
  mode TEXT NOT NULL,
  notification_url TEXT NOT NULL,
  sign_key TEXT NOT NULL,
  upload_switch TEXT NOT NULL,
  delete_switch TEXT NOT NULL,
  persistence_switch TEXT NOT NULL
);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  content TEXT NOT NULL,
  delivery TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  available_at INTEGER NOT NULL,
  handle TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_due ON events (delivery, app_id, available_at, seq);
CREATE INDEX events_handle ON events (handle) WHERE handle <> '';
CREATE INDEX events_created ON events (create_time);
