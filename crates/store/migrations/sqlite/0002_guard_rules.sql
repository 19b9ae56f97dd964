-- Permanent allow and deny entries of the perimeter guard (ringfence-guard `StaticRules`).
-- tenant_id NULL: a global entry (super admins); otherwise one tenant's entry (its admins).
-- One entry per network and scope, whatever its action.
CREATE TABLE guard_rules (
    id         BLOB PRIMARY KEY,
    tenant_id  BLOB REFERENCES tenants (id) ON DELETE CASCADE,
    action     TEXT NOT NULL CHECK (action IN ('allow', 'deny')),
    network    TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX guard_rules_scope_network ON guard_rules (ifnull(tenant_id, x''), network);
CREATE INDEX guard_rules_tenant ON guard_rules (tenant_id);
