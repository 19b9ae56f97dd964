//! [`AnyStore`]: one concrete type over both backends, chosen at runtime from config.

use std::path::Path;

use time::OffsetDateTime;

use crate::backend::{PgStore, SqliteStore};
use crate::crypto::{MasterKey, TenantCipher};
use crate::error::Result;
use crate::repo::*;
use crate::types::*;

/// Either store. Implements every repository trait by delegating to the backend.
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// The embedded default.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens the SQLite store in `data_dir` (see [`SqliteStore::open`]).
    pub async fn open_sqlite(data_dir: &Path, master: MasterKey) -> Result<Self> {
        SqliteStore::open(data_dir, master).await.map(Self::Sqlite)
    }

    /// Connects to PostgreSQL at `url` (see [`PgStore::connect`]).
    pub async fn connect_postgres(url: &str, master: MasterKey) -> Result<Self> {
        PgStore::connect(url, master).await.map(Self::Postgres)
    }

    /// `"SQLite"` or `"PostgreSQL"`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }

    /// See [`SqliteStore::tenant_cipher`].
    pub async fn tenant_cipher(&self, tenant: TenantId) -> Result<TenantCipher> {
        match self {
            Self::Sqlite(s) => s.tenant_cipher(tenant).await,
            Self::Postgres(s) => s.tenant_cipher(tenant).await,
        }
    }

    /// The platform's cipher (super-admin secrets).
    pub fn platform_cipher(&self) -> &TenantCipher {
        match self {
            Self::Sqlite(s) => s.platform_cipher(),
            Self::Postgres(s) => s.platform_cipher(),
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(s) => s.close().await,
        }
    }
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(
            async fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                match self {
                    AnyStore::Sqlite(s) => s.$name($($arg),*).await,
                    AnyStore::Postgres(s) => s.$name($($arg),*).await,
                }
            }
        )*
    };
}

impl TenantRepo for AnyStore {
    delegate! {
        create_tenant(new: NewTenant, actor: &Actor) -> Tenant;
        get_tenant(id: TenantId) -> Option<Tenant>;
        get_tenant_by_domain(domain: &SipDomain) -> Option<Tenant>;
        list_tenants() -> Vec<Tenant>;
        rename_tenant(id: TenantId, name: &str, actor: &Actor) -> Tenant;
        update_tenant_settings(id: TenantId, settings: TenantSettings, actor: &Actor) -> Tenant;
        set_platform_overrides(id: TenantId, overrides: PlatformOverrides, actor: &Actor) -> Tenant;
        delete_tenant(id: TenantId, actor: &Actor) -> ();
    }
}

impl UserRepo for AnyStore {
    delegate! {
        create_user(new: NewUser, actor: &Actor) -> User;
        get_user(scope: Option<TenantId>, id: UserId) -> Option<User>;
        find_user_by_email(email: &Email) -> Option<User>;
        list_users(scope: Option<TenantId>) -> Vec<User>;
        set_user_role(scope: Option<TenantId>, id: UserId, role: Role, actor: &Actor) -> User;
        set_user_password(
            scope: Option<TenantId>,
            id: UserId,
            password_hash: &str,
            must_change_password: bool,
            actor: &Actor
        ) -> User;
        delete_user(scope: Option<TenantId>, id: UserId, actor: &Actor) -> ();
        set_totp_secret(scope: Option<TenantId>, id: UserId, secret: &TotpSecret, actor: &Actor) -> ();
        get_totp_secret(scope: Option<TenantId>, id: UserId) -> Option<TotpSecret>;
        confirm_totp(scope: Option<TenantId>, id: UserId, step: u64, actor: &Actor) -> bool;
        clear_totp(scope: Option<TenantId>, id: UserId, actor: &Actor) -> ();
        use_totp_step(scope: Option<TenantId>, id: UserId, step: u64) -> bool;
        record_login_failure(scope: Option<TenantId>, id: UserId) -> u32;
        set_user_lock(scope: Option<TenantId>, id: UserId, until: Option<OffsetDateTime>) -> ();
        record_login_success(scope: Option<TenantId>, id: UserId, at: OffsetDateTime) -> ();
    }
}

impl ExtensionRepo for AnyStore {
    delegate! {
        create_extension(tenant: TenantId, new: NewExtension, actor: &Actor) -> Extension;
        get_extension(tenant: TenantId, id: ExtensionId) -> Option<Extension>;
        get_extension_by_number(tenant: TenantId, number: &ExtensionNumber) -> Option<Extension>;
        list_extensions(tenant: TenantId) -> Vec<Extension>;
        update_extension(tenant: TenantId, id: ExtensionId, update: ExtensionUpdate, actor: &Actor) -> Extension;
        set_sip_credentials(
            tenant: TenantId,
            id: ExtensionId,
            credentials: &SipCredentials,
            actor: &Actor
        ) -> Extension;
        set_voicemail_pin(tenant: TenantId, id: ExtensionId, pin_hash: &str, actor: &Actor) -> Extension;
        set_calling_restrictions(
            tenant: TenantId,
            id: ExtensionId,
            restrictions: &CallingRestrictions,
            actor: &Actor
        ) -> Extension;
        set_call_forwarding(
            tenant: TenantId,
            id: ExtensionId,
            forwarding: &CallForwarding,
            actor: &Actor
        ) -> Extension;
        get_sip_credentials(tenant: TenantId, id: ExtensionId) -> Option<SipCredentials>;
        find_sip_account(domain: &SipDomain, number: &ExtensionNumber) -> Option<SipAccount>;
        delete_extension(tenant: TenantId, id: ExtensionId, actor: &Actor) -> ();
    }
}

impl NumberRepo for AnyStore {
    delegate! {
        create_number(
            tenant: TenantId,
            e164: &E164,
            extension_id: Option<ExtensionId>,
            actor: &Actor
        ) -> PhoneNumber;
        get_number(tenant: TenantId, id: PhoneNumberId) -> Option<PhoneNumber>;
        list_numbers(tenant: TenantId) -> Vec<PhoneNumber>;
        assign_number(
            tenant: TenantId,
            id: PhoneNumberId,
            extension_id: Option<ExtensionId>,
            actor: &Actor
        ) -> PhoneNumber;
        delete_number(tenant: TenantId, id: PhoneNumberId, actor: &Actor) -> ();
        route_number(e164: &E164) -> Option<PhoneNumber>;
    }
}

impl CallRecordRepo for AnyStore {
    delegate! {
        insert_call_record(tenant: TenantId, record: NewCallRecord) -> CallRecord;
        insert_call_records(records: &[(TenantId, NewCallRecord)]) -> Vec<Result<()>>;
        get_call_record(tenant: TenantId, id: CallRecordId) -> Option<CallRecord>;
        list_call_records(
            tenant: TenantId,
            filter: &CallFilter,
            limit: u32,
            after: Option<CallCursor>
        ) -> CallPage;
    }
}

impl RegistrationRepo for AnyStore {
    delegate! {
        upsert_binding(binding: &RegistrationBinding) -> ();
        apply_binding_changes(changes: &[BindingChange]) -> Vec<Result<()>>;
        remove_binding(tenant: TenantId, extension: ExtensionId, contact_uri: &str) -> bool;
        remove_bindings(tenant: TenantId, extension: ExtensionId) -> u64;
        list_bindings(tenant: TenantId, extension: ExtensionId, now: OffsetDateTime) -> Vec<RegistrationBinding>;
        active_bindings(now: OffsetDateTime) -> Vec<RegistrationBinding>;
        purge_expired_bindings(now: OffsetDateTime) -> u64;
    }
}

impl AuditRepo for AnyStore {
    delegate! {
        append_audit(entry: AuditEntry) -> AuditEvent;
        list_audit(scope: Option<TenantId>, before: Option<u64>, limit: u32) -> Vec<AuditEvent>;
        verify_audit_chain() -> ChainReport;
    }
}

impl TokenRepo for AnyStore {
    delegate! {
        create_token(new: NewApiToken, actor: &Actor) -> ApiToken;
        find_token(hash: &[u8; 32]) -> Option<ApiToken>;
        touch_token(id: TokenId, at: OffsetDateTime) -> ();
        list_tokens(scope: Option<TenantId>) -> Vec<ApiToken>;
        revoke_token(scope: Option<TenantId>, id: TokenId, actor: &Actor) -> ApiToken;
    }
}

impl GuardRuleRepo for AnyStore {
    delegate! {
        create_guard_rule(new: NewGuardRule, actor: &Actor) -> GuardRule;
        list_guard_rules(scope: Option<TenantId>) -> Vec<GuardRule>;
        all_guard_rules() -> Vec<(GuardRule, Option<SipDomain>)>;
        delete_guard_rule(scope: Option<TenantId>, id: GuardRuleId, actor: &Actor) -> ();
    }
}

impl FraudRepo for AnyStore {
    delegate! {
        insert_fraud_event(tenant: TenantId, event: NewFraudEvent) -> FraudEventRecord;
        list_fraud_events(tenant: TenantId, limit: u32, before: Option<OffsetDateTime>) -> Vec<FraudEventRecord>;
        save_fraud_state(state: &str) -> ();
        load_fraud_state() -> Option<FraudStateDoc>;
    }
}

impl WebhookRepo for AnyStore {
    delegate! {
        set_webhook(tenant: TenantId, url: &str, secret: &WebhookSecret, actor: &Actor) -> Webhook;
        get_webhook(tenant: TenantId) -> Option<Webhook>;
        delete_webhook(tenant: TenantId, actor: &Actor) -> ();
    }
}
