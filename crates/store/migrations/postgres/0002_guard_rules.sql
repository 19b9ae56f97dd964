-- Permanent allow and deny entries of the perimeter guard (ringfence-guard `StaticRules`).
-- tenant_id NULL: a global entry (super admins); otherwise one tenant's entry (its admins).
-- One entry per network and scope, whatever its action.
CREATE TABLE guard_rules (
    id         uuid PRIMARY KEY,
    tenant_id  uuid REFERENCES tenants (id) ON DELETE CASCADE,
    action     text NOT NULL CHECK (action IN ('allow', 'deny')),
    network    text NOT NULL,
    note       text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX guard_rules_scope_network
    ON guard_rules (COALESCE(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), network);
CREATE INDEX guard_rules_tenant ON guard_rules (tenant_id);
