-- Who may sign in: password hashes (argon2, PHC strings) and web sessions. A session is
-- stored by the SHA-256 of its token, so a copy of the database does not sign anyone in.

CREATE TABLE credentials (
    user_id     TEXT PRIMARY KEY,
    hash        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
