-- Fraud engine decisions worth recording (ringfence-fraud `FraudEvent`), with their
-- explanation, listed per tenant in the admin API.
CREATE TABLE fraud_events (
    id           BLOB PRIMARY KEY,
    tenant_id    BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at           INTEGER NOT NULL,
    extension_id BLOB REFERENCES extensions (id) ON DELETE SET NULL,
    call_id      TEXT,
    kind         TEXT NOT NULL,
    severity     TEXT NOT NULL,
    score        INTEGER NOT NULL,
    destination  TEXT,
    actions      TEXT NOT NULL,
    signals      TEXT NOT NULL,
    explanation  TEXT NOT NULL
) STRICT;
CREATE INDEX fraud_events_tenant_at ON fraud_events (tenant_id, at DESC, id DESC);

-- The fraud engine's persistent state (daily counters, baselines, containment) as one
-- JSON document, so it survives a restart.
CREATE TABLE fraud_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    state    TEXT NOT NULL,
    saved_at INTEGER NOT NULL
) STRICT;
