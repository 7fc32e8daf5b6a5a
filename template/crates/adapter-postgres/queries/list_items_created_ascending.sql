-- A page of a tenant's items, oldest first, after the cursor (created_at, id).
-- Served by items_tenant_created_idx; the first page passes no cursor (NULLs).
SELECT id, tenant_id, name, description_ciphertext, description_key_id, status, version,
       created_at, updated_at
FROM items
WHERE tenant_id = $1
  AND ($2::text IS NULL OR status = $2)
  AND (created_at, id) > (COALESCE($3, '-infinity'::timestamptz),
                          COALESCE($4, '00000000-0000-0000-0000-000000000000'::uuid))
ORDER BY created_at, id
LIMIT $5
