-- Indexes for the statements that found their rows by scanning a large table, found by
-- the index audit (tests/index_audit.rs) on a database of 100,000 requests.

-- A request's tasks: its open, returned and cancelled tasks, on every action.
CREATE INDEX tasks_instance ON tasks (instance_id, status);
-- The branches of a parallel step, and the foreign-key check when a run is written.
CREATE INDEX step_runs_parent ON step_runs (parent_run) WHERE parent_run IS NOT NULL;
-- A run's timers are cancelled or moved when the run ends or its deadline moves.
CREATE INDEX timers_run ON timers (run_id, status);

-- The inbox: a person's tasks of a status in due order, so a page of it is read from the
-- index without sorting the whole inbox. Replaces `tasks_assignee`, its prefix.
DROP INDEX tasks_assignee;
CREATE INDEX tasks_inbox ON tasks (assignee, status, COALESCE(due_at, '9999'), id);
