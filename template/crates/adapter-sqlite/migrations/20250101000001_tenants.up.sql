-- Tenants own every example row (SQLite twin of migrations/20250101000001_tenants.up.sql).
CREATE TABLE tenants (
    id         BLOB    PRIMARY KEY CHECK (length(id) = 16),
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Microseconds since the Unix epoch, UTC.
    created_at INTEGER NOT NULL,
    CONSTRAINT tenants_name_key UNIQUE (name)
) STRICT;
