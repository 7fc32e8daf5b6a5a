-- A page of a tenant's items by name, A to Z, after the cursor name ('' sorts first).
-- Served by the unique index items_tenant_name_key.
SELECT id, tenant_id, name, description_ciphertext, description_key_id, status, version,
       created_at, updated_at
FROM items
WHERE tenant_id = $1
  AND ($2::text IS NULL OR status = $2)
  AND name > COALESCE($3, '')
ORDER BY name
LIMIT $4
