-- SessionId de-duplication as a constraint (SQLite's 0008, which says why). Two API processes
-- submitting the same SessionId at once both insert into task_sessions; the second waits for
-- the first's commit and then finds the row taken. A database whose tasks already repeat a
-- SessionId keeps its latest task of each.
CREATE TABLE task_sessions (
  app_id BIGINT NOT NULL,
  session_id TEXT COLLATE "C" NOT NULL,
  task_id TEXT NOT NULL,
  create_time BIGINT NOT NULL,
  PRIMARY KEY (app_id, session_id)
);
INSERT INTO task_sessions (app_id, session_id, task_id, create_time)
  SELECT DISTINCT ON (app_id, session_id) app_id, session_id, task_id, create_time FROM tasks
  WHERE session_id <> '' ORDER BY app_id, session_id, create_time DESC, seq DESC;
