-- The transactional outbox: an item's change and the event describing it are written in one
-- transaction, so an event exists exactly when its change committed. The relay publishes
-- from here (see domain::messaging and adapter-postgres/src/outbox.rs).
CREATE TABLE outbox (
    id              uuid        PRIMARY KEY,             -- the event id, UUID v7 (time-ordered)
    aggregate_id    uuid        NOT NULL,                -- the item: its events go out in order
    event_type      text        NOT NULL CHECK (event_type <> ''),
    payload         jsonb       NOT NULL,
    traceparent     text,                                -- W3C trace context of the writer
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,                         -- a relay's lease
    last_error      text,
    published_at    timestamptz,
    dead_at         timestamptz,
    CHECK (published_at IS NULL OR dead_at IS NULL)
);
-- The relay's question: the oldest waiting event of each item.
CREATE INDEX outbox_waiting_idx ON outbox (aggregate_id, id)
    WHERE published_at IS NULL AND dead_at IS NULL;
-- Pruning published events by age.
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- The consumer's memory of what it applied: an event delivered twice is applied once.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- The example consumer's projection: what happened to each tenant's items.
CREATE TABLE item_event_counts (
    tenant_id uuid   PRIMARY KEY,
    created   bigint NOT NULL DEFAULT 0,
    updated   bigint NOT NULL DEFAULT 0,
    deleted   bigint NOT NULL DEFAULT 0
);
