DROP TABLE item_idempotency_keys;
DROP TABLE items;
