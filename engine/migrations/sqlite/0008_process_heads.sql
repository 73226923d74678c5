-- Which version of each process new requests start on, in the database rather than in
-- each server's folder: a version published on one server is what every server starts,
-- and a server restarted with an older file in its folder does not go back to it.
CREATE TABLE process_heads (
    process_id  TEXT    PRIMARY KEY,
    version     INTEGER NOT NULL,
    changed_at  TEXT    NOT NULL
);
INSERT INTO process_heads (process_id, version, changed_at)
    SELECT process_id, MAX(version), MAX(created_at) FROM definitions GROUP BY process_id;
