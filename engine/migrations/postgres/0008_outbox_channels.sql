-- Messages go to a channel: mail (to `address`), or a webhook of a kind (posted to the
-- URL in `address`, `body_text` holding the JSON).
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'mail';
