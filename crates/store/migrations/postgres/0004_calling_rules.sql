-- Calling rules beyond the tenant's settings: the exceptions a super admin grants a tenant
-- (premium rate, shared cost, high risk, non-geographic), and per extension the
-- restrictions that narrow the tenant's policy and the call forwarding. JSON documents
-- (ringfence-store `PlatformOverrides`, `CallingRestrictions`, `CallForwarding`).
ALTER TABLE tenants ADD COLUMN overrides jsonb NOT NULL DEFAULT '{}';
ALTER TABLE extensions ADD COLUMN restrictions jsonb NOT NULL DEFAULT '{}';
ALTER TABLE extensions ADD COLUMN forwarding jsonb NOT NULL DEFAULT '{}';
