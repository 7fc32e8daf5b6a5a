-- The first page of a tenant's items by name, Z to A.
SELECT id, tenant_id, name, description_ciphertext, description_key_id, status, version,
       created_at, updated_at
FROM items
WHERE tenant_id = $1
  AND ($2::text IS NULL OR status = $2)
ORDER BY name DESC
LIMIT $3
