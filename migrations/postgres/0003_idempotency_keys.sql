-- Idempotency keys of project creation: the first completed response per (account, key) is
-- replayed to a retry of the same request; a different request with the same key is refused.
-- `request_hash` is the lowercase hex SHA-256 of the canonical request, `response` the JSON of
-- the project as first returned (its editor state excepted: the request carries it again).
CREATE TABLE idempotency_keys (
    account_id    TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    project_id    TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, idem_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
