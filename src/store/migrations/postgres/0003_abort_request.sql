-- ManageTask Abort of a PROCESSING task: the request waits here until the task's worker sees it
-- at its next heartbeat (NULL: no abort requested).

ALTER TABLE tasks ADD COLUMN abort_request TEXT;
