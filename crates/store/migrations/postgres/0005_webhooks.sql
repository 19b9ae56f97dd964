-- A tenant's signed webhook for fraud notifications: where events are POSTed and the
-- secret that signs them (sealed with the tenant's data key, like other secrets).
CREATE TABLE tenant_webhooks (
    tenant_id  uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    url        text NOT NULL,
    secret     bytea NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
