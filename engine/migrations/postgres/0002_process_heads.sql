-- Which version of each process new requests start on (see the SQLite migration 0008).
CREATE TABLE process_heads (
    process_id  TEXT    PRIMARY KEY,
    version     BIGINT  NOT NULL,
    changed_at  TEXT    NOT NULL
);
