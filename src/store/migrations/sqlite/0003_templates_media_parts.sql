-- Custom templates, and the outputs kept with a media item (one row per kind and definition,
-- so a new transcode of the same definition replaces the old one).

CREATE TABLE templates (
  app_id INTEGER NOT NULL,
  family TEXT NOT NULL,
  key TEXT NOT NULL,
  body TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  PRIMARY KEY (app_id, family, key)
);
CREATE TABLE media_parts (
  app_id INTEGER NOT NULL,
  file_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  definition INTEGER NOT NULL,
  item TEXT NOT NULL,
  blobs TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  PRIMARY KEY (app_id, file_id, kind, definition)
);
