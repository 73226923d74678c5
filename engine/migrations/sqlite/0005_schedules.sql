-- Recurring starts: for each process with a `schedule`, the last occurrence started (or
-- the moment the schedule was first seen). Servers sharing a database claim an
-- occurrence by moving `last_run` from the value they read, so only one starts it.

CREATE TABLE schedules (
    process_id  TEXT PRIMARY KEY,
    last_run    TEXT NOT NULL
);
