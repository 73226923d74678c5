-- Requests that name other requests in a `request` field: a deferred payment names its
-- sale, a monthly statement its sales. Rewritten whenever the form's references change.
CREATE TABLE request_links (
    instance_id INTEGER NOT NULL REFERENCES instances (id),
    field       TEXT    NOT NULL,   -- the field's path: `sale`, `sales[2].sale`
    target_id   INTEGER NOT NULL REFERENCES instances (id),
    PRIMARY KEY (instance_id, field)
);
CREATE INDEX request_links_target ON request_links (target_id);
