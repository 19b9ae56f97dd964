-- A tenant's signed webhook for fraud notifications: where events are POSTed and the
-- secret that signs them (sealed with the tenant's data key, like other secrets).
CREATE TABLE tenant_webhooks (
    tenant_id  BLOB PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    secret     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
