-- Personal API tokens: long random secrets, stored by their SHA-256 (a fast hash is
-- enough for a secret with 256 random bits), listed and revoked by their owner.

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
