-- The example resource. Rules live in the database as well as in the domain: the domain gives
-- clients clear errors, the database guarantees the rules whatever writes to it.
CREATE TABLE items (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description text        CHECK (description IS NULL OR char_length(description) <= 1000),
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    -- Optimistic locking: every update increments it; clients send it back in If-Match.
    version     bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Names are unique per tenant; this index also serves `sort=name` lists.
    CONSTRAINT items_tenant_name_key UNIQUE (tenant_id, name)
);

-- Serves `sort=createdAt` (both directions) with keyset pagination on (created_at, id).
CREATE INDEX items_tenant_created_idx ON items (tenant_id, created_at, id);

-- Idempotency-Key on POST: the key and the item it created are written in one transaction,
-- so a retried request finds the first result instead of creating a second item.
CREATE TABLE item_idempotency_keys (
    tenant_id           uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    idempotency_key     text        NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    request_fingerprint text        NOT NULL,
    -- Checked at commit: the key is claimed first, so a concurrent retry waits for this
    -- transaction instead of racing it, and the item it points to is inserted afterwards.
    item_id             uuid        NOT NULL REFERENCES items (id) ON DELETE CASCADE
                                    DEFERRABLE INITIALLY DEFERRED,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key)
);

-- The foreign key to items needs its own index so deleting an item does not scan this table.
CREATE INDEX item_idempotency_keys_item_idx ON item_idempotency_keys (item_id);
