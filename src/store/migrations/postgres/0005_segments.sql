-- Segment-parallel transcoding: the same table as SQLite's 0008 (see there).
CREATE TABLE segments (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id TEXT NOT NULL,
  app_id BIGINT NOT NULL,
  job TEXT NOT NULL,
  idx INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'WAITING',
  priority INTEGER NOT NULL DEFAULT 0,
  input JSONB NOT NULL,
  result JSONB NOT NULL DEFAULT '{}',
  progress INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until BIGINT,
  create_time BIGINT NOT NULL,
  UNIQUE (task_id, job, idx)
);
CREATE INDEX segments_runnable ON segments (priority DESC, seq) WHERE status IN ('WAITING', 'PROCESSING');
