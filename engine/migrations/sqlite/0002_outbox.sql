-- The transactional outbox: a message row is written in the transaction of the state
-- change that causes it, and a sender delivers it afterwards (at least once).

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT    NOT NULL UNIQUE, -- the mail's Message-ID, stable across retries
    instance_id     INTEGER NOT NULL REFERENCES instances (id),
    event_id        INTEGER NOT NULL REFERENCES events (id),
    kind            TEXT    NOT NULL,        -- task_assigned | reminder | ... (model::Event)
    recipient       TEXT    NOT NULL,        -- user id
    address         TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,                    -- NULL: as soon as possible
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at);
CREATE INDEX outbox_instance ON outbox (instance_id);

-- "Requests I am copied on" reads the history's cc events by watcher.
CREATE INDEX events_by_action ON events (action, detail);
