-- Fraud engine decisions worth recording (ringfence-fraud `FraudEvent`), with their
-- explanation, listed per tenant in the admin API.
CREATE TABLE fraud_events (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    extension_id uuid REFERENCES extensions (id) ON DELETE SET NULL,
    call_id      text,
    kind         text NOT NULL,
    severity     text NOT NULL,
    score        bigint NOT NULL,
    destination  text,
    actions      text NOT NULL,
    signals      text NOT NULL,
    explanation  text NOT NULL
);
CREATE INDEX fraud_events_tenant_at ON fraud_events (tenant_id, at DESC, id DESC);

-- The fraud engine's persistent state (daily counters, baselines, containment) as one
-- JSON document, so it survives a restart.
CREATE TABLE fraud_state (
    id       integer PRIMARY KEY CHECK (id = 1),
    state    text NOT NULL,
    saved_at timestamptz NOT NULL
);
