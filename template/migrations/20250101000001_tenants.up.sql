-- Tenants own every example row. Deleting a tenant is refused while it still owns items
-- (ON DELETE RESTRICT below): removing a customer's data must be a deliberate act.
CREATE TABLE tenants (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_name_key UNIQUE (name)
);
