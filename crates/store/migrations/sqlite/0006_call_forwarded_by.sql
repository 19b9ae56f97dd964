-- A forwarded call's record names the extension whose call forwarding sent it on and which
-- forward applied, so the customer sees why an extension placed an external call.
ALTER TABLE call_records ADD COLUMN forwarded_by TEXT;
ALTER TABLE call_records ADD COLUMN forwarded_by_extension_id BLOB;
ALTER TABLE call_records ADD COLUMN forward_reason TEXT
    CHECK (forward_reason IN ('always', 'busy', 'no_answer', 'unavailable'));
CREATE INDEX call_records_forwarded_by ON call_records (tenant_id, forwarded_by_extension_id, started_at DESC);
