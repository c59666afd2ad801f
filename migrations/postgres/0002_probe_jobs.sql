-- The probe outbox: one row per probe to run, written in the same transaction as the asset.
-- With RabbitMQ, the catalog's relay publishes rows and deletes them once confirmed; without it,
-- this table is the queue itself: a prober claims a row by pushing `available_at` past its lease.
CREATE TABLE probe_jobs (
    job_id        TEXT PRIMARY KEY,
    asset_id      TEXT NOT NULL,
    -- Deliveries so far.
    attempts      BIGINT NOT NULL DEFAULT 0,
    -- Unix microseconds from which the job is due (retry backoff, or the end of a claim's lease).
    available_at  BIGINT NOT NULL,
    last_error    TEXT,
    request_id    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE INDEX probe_jobs_due_idx ON probe_jobs (available_at);
CREATE INDEX probe_jobs_asset_idx ON probe_jobs (asset_id);
