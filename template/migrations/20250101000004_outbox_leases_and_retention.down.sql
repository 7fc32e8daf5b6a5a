DROP INDEX processed_events_processed_at_idx;
ALTER TABLE outbox DROP COLUMN lease_token;
