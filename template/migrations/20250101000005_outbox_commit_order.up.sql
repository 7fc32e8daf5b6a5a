-- Per-item order by the database, not by a replica's clock. Event ids are UUID v7, stamped by
-- the writing replica's clock: with two replicas whose clocks disagree, an item's second event
-- can get a smaller id than its first, and ordering by id published it first. `position` is
-- taken from one sequence when the event is written, inside the transaction that changed the
-- item; an item's next change waits for that transaction (its row lock and version check), so
-- within an item, position follows commit order whatever the clocks say.
--
-- Rows already here are numbered in id order, the order the relay used until now: adding an
-- identity column straight away would number them in the table's physical order, where an
-- item's first waiting event, rewritten by every claim, can sit after its later ones.
-- Numbering rewrites the table: on a large outbox, prune it first or run this in a quiet hour.
ALTER TABLE outbox ADD COLUMN position bigint;
UPDATE outbox SET position = numbered.position
FROM (SELECT id, row_number() OVER (ORDER BY id) AS position FROM outbox) AS numbered
WHERE outbox.id = numbered.id;
ALTER TABLE outbox ALTER COLUMN position SET NOT NULL;
ALTER TABLE outbox ALTER COLUMN position ADD GENERATED ALWAYS AS IDENTITY;
SELECT setval(pg_get_serial_sequence('outbox', 'position'),
              COALESCE((SELECT max(position) FROM outbox), 0) + 1, false);

-- The relay's two questions, both answered from waiting rows only, however many published
-- rows the table holds: "the oldest waiting event of this item" (the NOT EXISTS) and "the
-- waiting events in order" (ORDER BY position LIMIT n walks this index and stops, instead of
-- sorting every waiting row).
DROP INDEX outbox_waiting_idx;
CREATE INDEX outbox_waiting_idx ON outbox (aggregate_id, position)
    WHERE published_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_waiting_order_idx ON outbox (position)
    WHERE published_at IS NULL AND dead_at IS NULL;

-- Dead events, for the gauge, the alert and `outbox dead-letters`.
CREATE INDEX outbox_dead_idx ON outbox (dead_at) WHERE dead_at IS NOT NULL;
