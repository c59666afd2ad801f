-- Wakes every catalog replica's outbox relay and waiting embedded-queue claims as soon as a probe
-- job commits: `NOTIFY assetd_probe_jobs` once per inserting statement (Postgres folds repeats in
-- one transaction), delivered at commit, so a listener never sees a job that rolled back.
CREATE FUNCTION assetd_probe_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('assetd_probe_jobs', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER probe_jobs_notify AFTER INSERT ON probe_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION assetd_probe_jobs_notify();
