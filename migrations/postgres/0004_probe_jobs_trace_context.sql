-- The W3C trace context a probe job was queued in (`traceparent` and `tracestate` values, empty
-- when unknown): the relay sends it as AMQP headers and the embedded queue hands it to the
-- prober, so the probe's spans and log lines join the upload's trace.
ALTER TABLE probe_jobs ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';
ALTER TABLE probe_jobs ADD COLUMN tracestate TEXT NOT NULL DEFAULT '';
