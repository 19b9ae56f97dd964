-- Ringfence schema, SQLite flavour. Ids are 16-byte UUID blobs; timestamps are INTEGER
-- microseconds since the Unix epoch (UTC). Ciphertexts are AES-256-GCM (see src/crypto.rs).

CREATE TABLE platform_keys (
    name        TEXT PRIMARY KEY,
    wrapped_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE tenants (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    domain      TEXT NOT NULL UNIQUE,
    settings    TEXT NOT NULL CHECK (json_valid(settings)),
    wrapped_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id                   BLOB PRIMARY KEY,
    tenant_id            BLOB REFERENCES tenants (id) ON DELETE CASCADE,
    email                TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL CHECK (role IN ('super_admin', 'tenant_admin', 'user')),
    password_hash        TEXT NOT NULL,
    password_set_at      INTEGER NOT NULL,
    must_change_password INTEGER NOT NULL,
    totp_secret          BLOB,
    totp_enrolled        INTEGER NOT NULL DEFAULT 0,
    totp_last_step       INTEGER,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER,
    last_login_at        INTEGER,
    created_at           INTEGER NOT NULL,
    CHECK ((role = 'super_admin') = (tenant_id IS NULL)),
    UNIQUE (tenant_id, id)
) STRICT;

CREATE TABLE extensions (
    id              BLOB PRIMARY KEY,
    tenant_id       BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number          TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    owner_user_id   BLOB,
    enabled         INTEGER NOT NULL,
    sip_realm       TEXT,
    sip_credentials BLOB,
    secret_set_at   INTEGER,
    pin_hash        TEXT,
    pin_set_at      INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (tenant_id, number),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_user_id) REFERENCES users (tenant_id, id)
) STRICT;
CREATE INDEX extensions_owner ON extensions (tenant_id, owner_user_id);

CREATE TABLE phone_numbers (
    id           BLOB PRIMARY KEY,
    tenant_id    BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    e164         TEXT NOT NULL UNIQUE,
    extension_id BLOB,
    created_at   INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, extension_id) REFERENCES extensions (tenant_id, id)
) STRICT;
CREATE INDEX phone_numbers_extension ON phone_numbers (tenant_id, extension_id);

CREATE TABLE call_records (
    id                BLOB PRIMARY KEY,
    tenant_id         BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id           TEXT NOT NULL,
    caller            TEXT NOT NULL,
    callee            TEXT NOT NULL,
    direction         TEXT NOT NULL,
    started_at        INTEGER NOT NULL,
    answered_at       INTEGER,
    ended_at          INTEGER,
    duration_s        INTEGER NOT NULL CHECK (duration_s >= 0),
    disposition       TEXT NOT NULL,
    sip_status        INTEGER,
    reason            TEXT,
    transport         TEXT NOT NULL,
    encrypted         INTEGER NOT NULL,
    from_extension_id BLOB,
    to_extension_id   BLOB
) STRICT;
CREATE INDEX call_records_started ON call_records (tenant_id, started_at DESC, id DESC);
CREATE INDEX call_records_from_ext ON call_records (tenant_id, from_extension_id, started_at DESC);
CREATE INDEX call_records_to_ext ON call_records (tenant_id, to_extension_id, started_at DESC);

CREATE TABLE registration_bindings (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    extension_id BLOB NOT NULL,
    contact_uri  TEXT NOT NULL,
    source       TEXT NOT NULL,
    transport    TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    call_id      TEXT NOT NULL,
    cseq         INTEGER NOT NULL,
    instance_id  TEXT,
    reg_id       INTEGER,
    user_agent   TEXT,
    path         TEXT NOT NULL CHECK (json_valid(path)),
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (extension_id, contact_uri),
    FOREIGN KEY (tenant_id, extension_id) REFERENCES extensions (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX registration_bindings_expiry ON registration_bindings (expires_at);

CREATE TABLE api_tokens (
    id           BLOB PRIMARY KEY,
    tenant_id    BLOB REFERENCES tenants (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('super_admin', 'tenant_admin', 'user')),
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    CHECK ((role = 'super_admin') = (tenant_id IS NULL))
) STRICT;
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id);

-- Audit log: append-only, hash-chained (see src/types/audit.rs). No foreign key on
-- tenant_id: events outlive the tenant they describe.
CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    tenant_id BLOB,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
) STRICT;
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- The chain head: last sequence number and hash. Only ever moves forward by one.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.seq <> OLD.seq + 1 OR NEW.id <> OLD.id
BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward by one');
END;

CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head cannot be deleted');
END;
