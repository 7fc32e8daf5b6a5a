-- The example resource (SQLite twin of migrations/20250101000002_items.up.sql): the same
-- rules, in SQLite's types.
CREATE TABLE items (
    id          BLOB    PRIMARY KEY CHECK (length(id) = 16),
    tenant_id   BLOB    NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Sealed with the field cipher, as on PostgreSQL: nonce, ciphertext, tag; both or neither.
    description_ciphertext BLOB CHECK (length(description_ciphertext) <= 4028),
    description_key_id     TEXT CHECK (length(description_key_id) BETWEEN 1 AND 64),
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    -- Names are unique per tenant; this index also serves `sort=name` lists.
    CONSTRAINT items_tenant_name_key UNIQUE (tenant_id, name),
    CONSTRAINT items_description_sealed_with_a_key
        CHECK ((description_ciphertext IS NULL) = (description_key_id IS NULL))
) STRICT;

-- Serves `sort=createdAt` (both directions) with keyset pagination on (created_at, id).
CREATE INDEX items_tenant_created_idx ON items (tenant_id, created_at, id);

-- Idempotency-Key on POST: claimed in the same transaction as the item it creates.
CREATE TABLE item_idempotency_keys (
    tenant_id           BLOB    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    idempotency_key     TEXT    NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_fingerprint TEXT    NOT NULL,
    -- Checked at commit: the key is claimed before the item it points to is inserted.
    item_id             BLOB    NOT NULL REFERENCES items (id) ON DELETE CASCADE
                                DEFERRABLE INITIALLY DEFERRED,
    created_at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
) STRICT;

CREATE INDEX item_idempotency_keys_item_idx ON item_idempotency_keys (item_id);
