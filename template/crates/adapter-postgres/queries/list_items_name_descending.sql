-- A page of a tenant's items by name, Z to A, before the cursor name.
-- Served by items_tenant_name_key, read backwards. Text has no greatest value to stand in for
-- "no cursor", so the first page has a query of its own (list_items_name_descending_first.sql).
SELECT id, tenant_id, name, description_ciphertext, description_key_id, status, version,
       created_at, updated_at
FROM items
WHERE tenant_id = $1
  AND ($2::text IS NULL OR status = $2)
  AND name < $3
ORDER BY name DESC
LIMIT $4
