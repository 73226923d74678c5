-- Uploaded files, stored once by content (their SHA-256), and the requests that hold
-- them: a file is served only through a request its reader may see.
CREATE TABLE attachments (
    id         TEXT    PRIMARY KEY,
    media_type TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    content    BLOB    NOT NULL,
    created_at TEXT    NOT NULL
);

CREATE TABLE request_files (
    instance_id INTEGER NOT NULL REFERENCES instances (id),
    file_id     TEXT    NOT NULL REFERENCES attachments (id),
    field       TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    added_by    TEXT    NOT NULL,
    added_at    TEXT    NOT NULL,
    PRIMARY KEY (instance_id, file_id, field)
);
