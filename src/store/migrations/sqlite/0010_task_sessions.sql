-- SessionId de-duplication as a constraint. It was a check (is there a task of this app with
-- this SessionId created within the window?) then an insert, so two submissions at once could
-- both pass the check. Each app's SessionId now has one row here, claimed in the transaction
-- that inserts the task: taken when absent or older than the window, refused otherwise (see
-- src/store/sessions.ts). A database whose tasks already repeat a SessionId (from that race)
-- keeps its latest task of each.
CREATE TABLE task_sessions (
  app_id INTEGER NOT NULL,
  session_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  PRIMARY KEY (app_id, session_id)
);
-- SQLite takes the bare columns of a MAX() aggregate from the row that holds the maximum.
INSERT INTO task_sessions (app_id, session_id, task_id, create_time)
  SELECT app_id, session_id, task_id, MAX(create_time) FROM tasks WHERE session_id <> ''
  GROUP BY app_id, session_id;
