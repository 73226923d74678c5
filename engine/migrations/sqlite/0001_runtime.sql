-- Signoff runtime schema. Portable SQL (SQLite and PostgreSQL): no engine-specific types
-- or functions; times are RFC 3339 UTC text, JSON is text.

CREATE TABLE definitions (
    process_id  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    hash        TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (process_id, version),
    UNIQUE (process_id, hash)
);

CREATE TABLE instances (
    id          INTEGER PRIMARY KEY,
    process_id  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    status      TEXT    NOT NULL,   -- running | completed | withdrawn | incident
    outcome     TEXT,               -- approved | rejected | completed | withdrawn | cancelled
    submitter   TEXT    NOT NULL,
    form        TEXT    NOT NULL,
    vars        TEXT    NOT NULL,
    incident    TEXT,               -- JSON {run, outcome, reason} while status = incident
    decided     INTEGER NOT NULL DEFAULT 0, -- someone has approved, rejected or completed
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    ended_at    TEXT
);
CREATE INDEX instances_submitter ON instances (submitter, status);
CREATE INDEX instances_status ON instances (status);

-- One row each time a step is entered; parallel branches have parent_run set.
CREATE TABLE step_runs (
    id          INTEGER PRIMARY KEY,
    instance_id INTEGER NOT NULL REFERENCES instances (id),
    step_id     TEXT    NOT NULL,
    parent_run  INTEGER REFERENCES step_runs (id),
    branch_id   TEXT,
    status      TEXT    NOT NULL,   -- active | done | cancelled
    outcome     TEXT,
    joined      INTEGER NOT NULL DEFAULT 0, -- this run ended its branch
    entered_at  TEXT    NOT NULL,
    left_at     TEXT,
    due_at      TEXT
);
CREATE INDEX step_runs_instance ON step_runs (instance_id, status);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    instance_id INTEGER NOT NULL REFERENCES instances (id),
    run_id      INTEGER NOT NULL REFERENCES step_runs (id),
    step_id     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,   -- step | resubmit
    assignee    TEXT    NOT NULL,
    delegate    TEXT,               -- acts on behalf of the assignee
    pool        INTEGER NOT NULL DEFAULT 0, -- offered to a role: claim to take it
    seq         INTEGER NOT NULL DEFAULT 0,
    status      TEXT    NOT NULL,   -- waiting | open | done | cancelled | skipped
    decision    TEXT,
    inputs      TEXT,
    acted_by    TEXT,
    created_at  TEXT    NOT NULL,
    acted_at    TEXT,
    due_at      TEXT
);
CREATE INDEX tasks_assignee ON tasks (assignee, status);
CREATE INDEX tasks_delegate ON tasks (delegate, status);
CREATE INDEX tasks_run ON tasks (run_id, status);

-- The history. Append-only: the engine never updates or deletes a row.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    instance_id  INTEGER NOT NULL REFERENCES instances (id),
    at           TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    on_behalf_of TEXT,
    action       TEXT    NOT NULL,
    step_id      TEXT,
    task_id      INTEGER,
    comment      TEXT,
    changes      TEXT,              -- JSON {field: {old, new}}
    detail       TEXT
);
CREATE INDEX events_instance ON events (instance_id, id);

CREATE TABLE timers (
    id          INTEGER PRIMARY KEY,
    instance_id INTEGER NOT NULL REFERENCES instances (id),
    run_id      INTEGER NOT NULL REFERENCES step_runs (id),
    kind        TEXT    NOT NULL,   -- deadline | reminder | wait
    due_at      TEXT    NOT NULL,
    status      TEXT    NOT NULL,   -- pending | fired | cancelled
    fired_at    TEXT
);
CREATE INDEX timers_due ON timers (status, due_at);

-- Out-of-office rules: new tasks of `user` go to `deputy` between the dates (inclusive).
CREATE TABLE absences (
    id          INTEGER PRIMARY KEY,
    user_id     TEXT NOT NULL,
    deputy      TEXT NOT NULL,
    from_date   TEXT NOT NULL,
    to_date     TEXT NOT NULL
);
