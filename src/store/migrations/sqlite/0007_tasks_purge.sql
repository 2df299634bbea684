-- The retention sweep deletes finished tasks by age across all applications, which no other
-- index serves (tasks_app_create leads with app_id): without this each batch scanned the whole
-- table. PostgreSQL has had the same index since its 0001. Partial, so runnable tasks (the
-- hot rows) never pay for it until they end.
CREATE INDEX tasks_purge ON tasks (create_time) WHERE status IN ('FINISH', 'ABORTED');
