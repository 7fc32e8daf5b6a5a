-- A page of a tenant's items, newest first, before the cursor (created_at, id).
-- Served by items_tenant_created_idx, read backwards.
SELECT id, tenant_id, name, description_ciphertext, description_key_id, status, version,
       created_at, updated_at
FROM items
WHERE tenant_id = $1
  AND ($2::text IS NULL OR status = $2)
  AND (created_at, id) < (COALESCE($3, 'infinity'::timestamptz),
                          COALESCE($4, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $5
