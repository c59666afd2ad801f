-- Webhooks: each account's endpoints, the events written with the changes they report, and one
-- delivery per (event, endpoint), which is both the delivery outbox and the delivery log.

CREATE TABLE webhook_endpoints (
    webhook_id        TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    url               TEXT NOT NULL,
    -- The event types sent, as ',asset.ready,asset.deleted,'; '' sends every type.
    events            TEXT NOT NULL,
    description       TEXT NOT NULL,
    -- The signing secret, 'whsec_' + base64 of 32 random bytes.
    secret            TEXT NOT NULL,
    -- After a rotation, the secret before it, which also signs until previous_until.
    previous_secret   TEXT,
    previous_until    BIGINT,
    -- Set when the endpoint answered 410 Gone (or was disabled otherwise): nothing is sent to it.
    disabled_at       BIGINT,
    disabled_reason   TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_account_idx ON webhook_endpoints (account_id, created_at DESC, webhook_id DESC);

-- An event as written, in the transaction of the change it reports: its type, its time and the
-- asset as it was then (protobuf, base64). Only written when some endpoint takes it.
CREATE TABLE webhook_events (
    event_id    TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    type        TEXT NOT NULL,
    asset       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    delivery_id     TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES webhook_events (event_id) ON DELETE CASCADE,
    webhook_id      TEXT NOT NULL REFERENCES webhook_endpoints (webhook_id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    -- Attempts so far (numbering the attempt log) and since the last replay (the retry schedule).
    attempts        BIGINT NOT NULL DEFAULT 0,
    round_attempts  BIGINT NOT NULL DEFAULT 0,
    -- Unix microseconds from which a pending delivery is due (its next attempt, or the end of a
    -- claim's lease, or of its time on RabbitMQ).
    available_at    BIGINT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CONSTRAINT webhook_deliveries_event_key UNIQUE (event_id, webhook_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, available_at);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (webhook_id, created_at DESC, delivery_id DESC);

-- The delivery log: one row per HTTP attempt.
CREATE TABLE webhook_attempts (
    delivery_id     TEXT NOT NULL REFERENCES webhook_deliveries (delivery_id) ON DELETE CASCADE,
    attempt         BIGINT NOT NULL,
    started_at      BIGINT NOT NULL,
    -- The HTTP status answered; 0 when there was no answer (refused, timed out, unreachable).
    status_code     BIGINT NOT NULL,
    latency_micros  BIGINT NOT NULL,
    error           TEXT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- A new delivery wakes the relays and waiting claims like a new probe job (migration 0005).
CREATE TRIGGER webhook_deliveries_notify AFTER INSERT ON webhook_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION assetd_probe_jobs_notify();
