-- Ringfence schema, PostgreSQL flavour. Same tables and rules as the SQLite flavour;
-- timestamps are timestamptz (microsecond precision), integers bigint.

CREATE TABLE platform_keys (
    name        text PRIMARY KEY,
    wrapped_key bytea NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    domain      text NOT NULL UNIQUE,
    settings    jsonb NOT NULL,
    wrapped_key bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE users (
    id                   uuid PRIMARY KEY,
    tenant_id            uuid REFERENCES tenants (id) ON DELETE CASCADE,
    email                text NOT NULL UNIQUE,
    role                 text NOT NULL CHECK (role IN ('super_admin', 'tenant_admin', 'user')),
    password_hash        text NOT NULL,
    password_set_at      timestamptz NOT NULL,
    must_change_password boolean NOT NULL,
    totp_secret          bytea,
    totp_enrolled        boolean NOT NULL DEFAULT false,
    totp_last_step       bigint,
    failed_logins        bigint NOT NULL DEFAULT 0,
    locked_until         timestamptz,
    last_login_at        timestamptz,
    created_at           timestamptz NOT NULL,
    CHECK ((role = 'super_admin') = (tenant_id IS NULL)),
    UNIQUE (tenant_id, id)
);

CREATE TABLE extensions (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number          text NOT NULL,
    display_name    text NOT NULL,
    owner_user_id   uuid,
    enabled         boolean NOT NULL,
    sip_realm       text,
    sip_credentials bytea,
    secret_set_at   timestamptz,
    pin_hash        text,
    pin_set_at      timestamptz,
    created_at      timestamptz NOT NULL,
    UNIQUE (tenant_id, number),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX extensions_owner ON extensions (tenant_id, owner_user_id);

CREATE TABLE phone_numbers (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    e164         text NOT NULL UNIQUE,
    extension_id uuid,
    created_at   timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, extension_id) REFERENCES extensions (tenant_id, id)
);
CREATE INDEX phone_numbers_extension ON phone_numbers (tenant_id, extension_id);

CREATE TABLE call_records (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id           text NOT NULL,
    caller            text NOT NULL,
    callee            text NOT NULL,
    direction         text NOT NULL,
    started_at        timestamptz NOT NULL,
    answered_at       timestamptz,
    ended_at          timestamptz,
    duration_s        bigint NOT NULL CHECK (duration_s >= 0),
    disposition       text NOT NULL,
    sip_status        bigint,
    reason            text,
    transport         text NOT NULL,
    encrypted         boolean NOT NULL,
    from_extension_id uuid,
    to_extension_id   uuid
);
CREATE INDEX call_records_started ON call_records (tenant_id, started_at DESC, id DESC);
CREATE INDEX call_records_from_ext ON call_records (tenant_id, from_extension_id, started_at DESC);
CREATE INDEX call_records_to_ext ON call_records (tenant_id, to_extension_id, started_at DESC);

CREATE TABLE registration_bindings (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    extension_id uuid NOT NULL,
    contact_uri  text NOT NULL,
    source       text NOT NULL,
    transport    text NOT NULL,
    expires_at   timestamptz NOT NULL,
    call_id      text NOT NULL,
    cseq         bigint NOT NULL,
    instance_id  text,
    reg_id       bigint,
    user_agent   text,
    path         text NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (extension_id, contact_uri),
    FOREIGN KEY (tenant_id, extension_id) REFERENCES extensions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX registration_bindings_expiry ON registration_bindings (expires_at);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    tenant_id    uuid REFERENCES tenants (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('super_admin', 'tenant_admin', 'user')),
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK ((role = 'super_admin') = (tenant_id IS NULL))
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id);

-- Audit log: append-only, hash-chained (see src/types/audit.rs). No foreign key on
-- tenant_id: events outlive the tenant they describe. detail is text, not jsonb: the hash
-- covers the exact stored text.
CREATE TABLE audit_events (
    seq       bigint PRIMARY KEY,
    at        timestamptz NOT NULL,
    tenant_id uuid,
    actor     text NOT NULL,
    action    text NOT NULL,
    target    text NOT NULL,
    detail    text NOT NULL,
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, seq);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The chain head: last sequence number and hash. Appends lock it (SELECT ... FOR UPDATE),
-- which serializes them. It only ever moves forward by one.
CREATE TABLE audit_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1 THEN
        RAISE EXCEPTION 'audit_head only moves forward by one';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
