-- Leases a relay can prove it still holds. Each claim writes a new lease_token, and a relay
-- settles an event (published, retry, dead) only under the token it claimed it with: a relay
-- whose lease ran out and was taken over by another can no longer mark the event done under
-- the new holder, which let the item's next event go out before the second publish of the
-- first (E1, E2, E1 on the wire).
ALTER TABLE outbox ADD COLUMN lease_token uuid;

-- Retention (messaging.retention_hours): an hourly task deletes published events and the ids
-- of applied events older than it. outbox_published_idx serves the first; this the second.
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);
