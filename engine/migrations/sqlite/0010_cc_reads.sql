-- Read marks (已阅) of the requests a person is copied on.
CREATE TABLE cc_reads (
    user_id     TEXT    NOT NULL,
    instance_id INTEGER NOT NULL REFERENCES instances (id),
    read_at     TEXT    NOT NULL,
    PRIMARY KEY (user_id, instance_id)
);
