-- The example resource. Rules live in the database as well as in the domain: the domain gives
-- clients clear errors, the database guarantees the rules whatever writes to it.
CREATE TABLE items (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- The description is sensitive: stored sealed (AES-256-GCM: nonce, ciphertext, tag) with
    -- the id of the key that sealed it, so keys can rotate. Both or neither; the length bound
    -- is the domain's 1000 characters of up to 4 bytes each, plus 12 + 16 bytes of overhead.
    description_ciphertext bytea CHECK (octet_length(description_ciphertext) <= 4028),
    description_key_id     text  CHECK (char_length(description_key_id) BETWEEN 1 AND 64),
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    -- Optimistic locking: every update increments it; clients send it back in If-Match.
    version     bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Names are unique per tenant; this index also serves `sort=name` lists.
    CONSTRAINT items_tenant_name_key UNIQUE (tenant_id, name),
    CONSTRAINT items_description_sealed_with_a_key
        CHECK ((description_ciphertext IS NULL) = (description_key_id IS NULL))
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
