-- Segment-parallel transcoding (src/workers/segments.ts): a long Transcode or
-- AdaptiveDynamicStreaming sub-task is split into work items that any worker claims with a
-- lease, as it claims tasks. `job` names the sub-task of the parent task (e.g. "sub-0"), `idx`
-- the item in it; (task_id, job, idx) is unique so a parent that runs again after a crash finds
-- the items it made (and what they produced) instead of making new ones. Items whose parent is
-- not PROCESSING, or has an abort requested, are never claimed.
CREATE TABLE segments (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL,
  app_id INTEGER NOT NULL,
  job TEXT NOT NULL,
  idx INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'WAITING',
  priority INTEGER NOT NULL DEFAULT 0,
  input TEXT NOT NULL,
  result TEXT NOT NULL DEFAULT '{}',
  progress INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until INTEGER,
  create_time INTEGER NOT NULL,
  UNIQUE (task_id, job, idx)
);
CREATE INDEX segments_runnable ON segments (priority DESC, seq) WHERE status IN ('WAITING', 'PROCESSING');
