-- The example resource. Constraints live in the database as well as in the domain: the domain
-- gives clients clear errors, the database guarantees the rules hold whatever writes to it.
CREATE TABLE items (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description text        CHECK (description IS NULL OR char_length(description) <= 1000),
    version     bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT items_name_key UNIQUE (name)
);

COMMENT ON TABLE items IS 'Example resource of the service template; delete with its migration pair.';
