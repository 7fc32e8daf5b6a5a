DROP INDEX outbox_dead_idx;
DROP INDEX outbox_waiting_order_idx;
DROP INDEX outbox_waiting_idx;
CREATE INDEX outbox_waiting_idx ON outbox (aggregate_id, id)
    WHERE published_at IS NULL AND dead_at IS NULL;
ALTER TABLE outbox DROP COLUMN position;
