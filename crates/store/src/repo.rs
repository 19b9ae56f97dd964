//! Repository traits: what the registrar, B2BUA, fraud engine and admin API may ask of the
//! store. Implemented by [`SqliteStore`](crate::SqliteStore), [`PgStore`](crate::PgStore) and
//! [`AnyStore`](crate::AnyStore).
//!
//! Rules every implementation keeps:
//! - Tenant data is reached only through a tenant id (or, for users and tokens, an
//!   `Option<TenantId>` scope where `None` is the platform: super admins and their tokens).
//!   An id from another scope answers `None`/[`NotFound`](crate::StoreError::NotFound) and
//!   changes nothing. The few platform-wide lookups (login by email, token by hash, SIP account
//!   by domain, inbound number routing, startup binding load) say so in their docs.
//! - Every mutation made on someone's behalf takes an [`Actor`] and appends its audit event in
//!   the same transaction: either both are stored or neither.
//! - Input is validated before anything is written; a failure changes nothing.
//! - Futures are `Send`, so they can run in spawned tasks and axum handlers.

use std::future::Future;

use time::OffsetDateTime;

use crate::error::Result;
use crate::types::*;

/// Tenants and their settings. Platform-level: callers check for the super-admin role.
pub trait TenantRepo {
    /// Creates a tenant with a fresh data key. `Conflict { what: "tenant domain" }` if the
    /// domain is taken.
    fn create_tenant(
        &self,
        new: NewTenant,
        actor: &Actor,
    ) -> impl Future<Output = Result<Tenant>> + Send;
    /// A tenant by id.
    fn get_tenant(&self, id: TenantId) -> impl Future<Output = Result<Option<Tenant>>> + Send;
    /// A tenant by SIP domain (how the registrar finds the tenant of a request).
    fn get_tenant_by_domain(
        &self,
        domain: &SipDomain,
    ) -> impl Future<Output = Result<Option<Tenant>>> + Send;
    /// All tenants, by name.
    fn list_tenants(&self) -> impl Future<Output = Result<Vec<Tenant>>> + Send;
    /// Changes the display name.
    fn rename_tenant(
        &self,
        id: TenantId,
        name: &str,
        actor: &Actor,
    ) -> impl Future<Output = Result<Tenant>> + Send;
    /// Replaces the settings (validated first).
    fn update_tenant_settings(
        &self,
        id: TenantId,
        settings: TenantSettings,
        actor: &Actor,
    ) -> impl Future<Output = Result<Tenant>> + Send;
    /// Replaces the exceptions a super admin grants the tenant (audited; `updated_at` moves,
    /// so the compiled egress policy is rebuilt on the next call).
    fn set_platform_overrides(
        &self,
        id: TenantId,
        overrides: PlatformOverrides,
        actor: &Actor,
    ) -> impl Future<Output = Result<Tenant>> + Send;
    /// Deletes the tenant and all its data (users, extensions, numbers, call records,
    /// bindings, tokens) and destroys its data key, in one transaction. Audit events stay.
    fn delete_tenant(&self, id: TenantId, actor: &Actor)
    -> impl Future<Output = Result<()>> + Send;
}

/// Users, login state and TOTP. `scope` is the user's tenant, `None` for super admins.
pub trait UserRepo {
    /// Creates a user. `Conflict { what: "user email" }` if the email is taken anywhere.
    fn create_user(&self, new: NewUser, actor: &Actor)
    -> impl Future<Output = Result<User>> + Send;
    /// A user in `scope`.
    fn get_user(
        &self,
        scope: Option<TenantId>,
        id: UserId,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    /// Platform-wide lookup by email, for login only.
    fn find_user_by_email(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    /// Users in `scope`, by email.
    fn list_users(&self, scope: Option<TenantId>)
    -> impl Future<Output = Result<Vec<User>>> + Send;
    /// Changes the role within the scope (super admin cannot be given or taken here).
    fn set_user_role(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        role: Role,
        actor: &Actor,
    ) -> impl Future<Output = Result<User>> + Send;
    /// Sets a new Argon2id password hash, `password_set_at = now`.
    fn set_user_password(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        password_hash: &str,
        must_change_password: bool,
        actor: &Actor,
    ) -> impl Future<Output = Result<User>> + Send;
    /// Deletes the user; extensions they owned lose their owner.
    fn delete_user(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        actor: &Actor,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Stores a new TOTP secret (encrypted) pending confirmation: `totp_enrolled = false`.
    fn set_totp_secret(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        secret: &TotpSecret,
        actor: &Actor,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The decrypted TOTP secret, if one is stored. `NotFound` if the user is not in scope.
    fn get_totp_secret(
        &self,
        scope: Option<TenantId>,
        id: UserId,
    ) -> impl Future<Output = Result<Option<TotpSecret>>> + Send;
    /// Marks enrollment confirmed after the caller checked a code for time step `step`, and
    /// consumes that step. False (nothing changed) if no secret is stored or the step was
    /// already used.
    fn confirm_totp(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        step: u64,
        actor: &Actor,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Removes the TOTP secret and enrollment.
    fn clear_totp(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        actor: &Actor,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Atomically consumes TOTP time step `step`: true if it is later than the last used
    /// one (the code may be accepted), false if it or a later step was already used (replay).
    fn use_totp_step(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        step: u64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Counts a failed login; returns the new consecutive-failure count.
    fn record_login_failure(
        &self,
        scope: Option<TenantId>,
        id: UserId,
    ) -> impl Future<Output = Result<u32>> + Send;
    /// Locks the account until `until` (`None` unlocks without resetting the count).
    fn set_user_lock(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        until: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Records a successful login at `at`: clears failures and lock.
    fn record_login_success(
        &self,
        scope: Option<TenantId>,
        id: UserId,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Extensions and their SIP credentials.
pub trait ExtensionRepo {
    /// Creates an extension. `Conflict { what: "extension number" }` if the number is taken in
    /// the tenant; `Invalid` if the owner is not a user of the tenant or the credentials' realm
    /// is not the tenant's domain.
    fn create_extension(
        &self,
        tenant: TenantId,
        new: NewExtension,
        actor: &Actor,
    ) -> impl Future<Output = Result<Extension>> + Send;
    /// An extension of `tenant`.
    fn get_extension(
        &self,
        tenant: TenantId,
        id: ExtensionId,
    ) -> impl Future<Output = Result<Option<Extension>>> + Send;
    /// An extension of `tenant` by number.
    fn get_extension_by_number(
        &self,
        tenant: TenantId,
        number: &ExtensionNumber,
    ) -> impl Future<Output = Result<Option<Extension>>> + Send;
    /// All extensions of `tenant`, by number.
    fn list_extensions(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<Extension>>> + Send;
    /// Changes display name, owner or enabled flag.
    fn update_extension(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        update: ExtensionUpdate,
        actor: &Actor,
    ) -> impl Future<Output = Result<Extension>> + Send;
    /// Replaces the extension's calling restrictions (audited).
    fn set_calling_restrictions(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        restrictions: &CallingRestrictions,
        actor: &Actor,
    ) -> impl Future<Output = Result<Extension>> + Send;
    /// Replaces the extension's call forwarding (audited).
    fn set_call_forwarding(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        forwarding: &CallForwarding,
        actor: &Actor,
    ) -> impl Future<Output = Result<Extension>> + Send;
    /// Replaces the SIP credentials (encrypted), `secret_set_at = now`.
    fn set_sip_credentials(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        credentials: &SipCredentials,
        actor: &Actor,
    ) -> impl Future<Output = Result<Extension>> + Send;
    /// Replaces the voicemail PIN hash (Argon2id PHC), `pin_set_at = now`.
    fn set_voicemail_pin(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        pin_hash: &str,
        actor: &Actor,
    ) -> impl Future<Output = Result<Extension>> + Send;
    /// The decrypted SIP credentials (`None` if not set). `NotFound` if not in the tenant.
    fn get_sip_credentials(
        &self,
        tenant: TenantId,
        id: ExtensionId,
    ) -> impl Future<Output = Result<Option<SipCredentials>>> + Send;
    /// Platform-wide lookup for digest authentication: the extension `number` of the tenant
    /// whose domain is `domain`, with decrypted credentials. One query.
    fn find_sip_account(
        &self,
        domain: &SipDomain,
        number: &ExtensionNumber,
    ) -> impl Future<Output = Result<Option<SipAccount>>> + Send;
    /// Deletes the extension with its bindings; numbers routed to it become unassigned.
    fn delete_extension(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        actor: &Actor,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Phone numbers (DIDs).
pub trait NumberRepo {
    /// Adds a number. `Conflict { what: "phone number" }` if any tenant has it.
    fn create_number(
        &self,
        tenant: TenantId,
        e164: &E164,
        extension_id: Option<ExtensionId>,
        actor: &Actor,
    ) -> impl Future<Output = Result<PhoneNumber>> + Send;
    /// A number of `tenant`.
    fn get_number(
        &self,
        tenant: TenantId,
        id: PhoneNumberId,
    ) -> impl Future<Output = Result<Option<PhoneNumber>>> + Send;
    /// All numbers of `tenant`, by number.
    fn list_numbers(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<PhoneNumber>>> + Send;
    /// Routes the number to an extension of the same tenant, or unassigns it.
    fn assign_number(
        &self,
        tenant: TenantId,
        id: PhoneNumberId,
        extension_id: Option<ExtensionId>,
        actor: &Actor,
    ) -> impl Future<Output = Result<PhoneNumber>> + Send;
    /// Removes a number.
    fn delete_number(
        &self,
        tenant: TenantId,
        id: PhoneNumberId,
        actor: &Actor,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Platform-wide lookup for inbound calls from a trunk: who owns `e164`.
    fn route_number(&self, e164: &E164)
    -> impl Future<Output = Result<Option<PhoneNumber>>> + Send;
}

/// Call history.
pub trait CallRecordRepo {
    /// Stores a finished call. Extension ids must belong to `tenant`.
    fn insert_call_record(
        &self,
        tenant: TenantId,
        record: NewCallRecord,
    ) -> impl Future<Output = Result<CallRecord>> + Send;
    /// Stores finished calls in ONE transaction (one sync to disk for the batch: the call
    /// record writer's group commit). One result per record: `Invalid` for a record that
    /// fails validation, whose tenant is gone or one of whose extensions is not in its
    /// tenant (that record alone is skipped). `Err` (nothing stored) only when the
    /// transaction itself fails.
    fn insert_call_records(
        &self,
        records: &[(TenantId, NewCallRecord)],
    ) -> impl Future<Output = Result<Vec<Result<()>>>> + Send;
    /// One record of `tenant`.
    fn get_call_record(
        &self,
        tenant: TenantId,
        id: CallRecordId,
    ) -> impl Future<Output = Result<Option<CallRecord>>> + Send;
    /// A page of `tenant`'s records matching `filter`, newest first (`started_at`, then id,
    /// both descending), at most `limit` (1..=[`MAX_PAGE_SIZE`]) records after `after`.
    fn list_call_records(
        &self,
        tenant: TenantId,
        filter: &CallFilter,
        limit: u32,
        after: Option<CallCursor>,
    ) -> impl Future<Output = Result<CallPage>> + Send;
}

/// Registrar bindings.
pub trait RegistrationRepo {
    /// Adds or refreshes the binding `(extension_id, contact_uri)`. `NotFound` if the
    /// extension is not in the binding's tenant.
    fn upsert_binding(
        &self,
        binding: &RegistrationBinding,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Applies `changes` in order in ONE transaction (one sync to disk for the whole batch:
    /// the registrar's group commit). Returns one result per change: `NotFound` for an
    /// upsert whose extension is not in the binding's tenant (that change alone is skipped),
    /// `Ok` otherwise (removing an absent binding is `Ok`). `Err` (nothing stored) only when
    /// the transaction itself fails.
    fn apply_binding_changes(
        &self,
        changes: &[BindingChange],
    ) -> impl Future<Output = Result<Vec<Result<()>>>> + Send;
    /// Removes one binding; false if there was none.
    fn remove_binding(
        &self,
        tenant: TenantId,
        extension: ExtensionId,
        contact_uri: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Removes every binding of the extension (`Contact: *`); returns how many.
    fn remove_bindings(
        &self,
        tenant: TenantId,
        extension: ExtensionId,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Bindings of an extension that have not expired at `now`, by contact.
    fn list_bindings(
        &self,
        tenant: TenantId,
        extension: ExtensionId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<RegistrationBinding>>> + Send;
    /// Platform-wide: every unexpired binding, for loading the registrar at startup.
    fn active_bindings(
        &self,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<RegistrationBinding>>> + Send;
    /// Platform-wide: deletes bindings expired at `now`; returns how many.
    fn purge_expired_bindings(
        &self,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// The audit log. There is no way to change or delete events.
pub trait AuditRepo {
    /// Appends a free-standing event (e.g. `login.failed`, `login.locked`).
    fn append_audit(&self, entry: AuditEntry) -> impl Future<Output = Result<AuditEvent>> + Send;
    /// Events newest first, with `seq < before` if given, at most `limit` (1..=1000).
    /// `scope = Some(t)` lists tenant `t`'s events; `None` lists all (super admins).
    fn list_audit(
        &self,
        scope: Option<TenantId>,
        before: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEvent>>> + Send;
    /// Walks the whole chain and reports the first broken link.
    fn verify_audit_chain(&self) -> impl Future<Output = Result<ChainReport>> + Send;
}

/// API tokens. `scope` as for users.
pub trait TokenRepo {
    /// Stores a token hash. The role must fit the scope (super admin: no tenant).
    fn create_token(
        &self,
        new: NewApiToken,
        actor: &Actor,
    ) -> impl Future<Output = Result<ApiToken>> + Send;
    /// Platform-wide lookup by [`token_hash`], for authentication. Revoked tokens are
    /// returned too (check [`ApiToken::is_revoked`]).
    fn find_token(&self, hash: &[u8; 32]) -> impl Future<Output = Result<Option<ApiToken>>> + Send;
    /// Records a use at `at`.
    fn touch_token(
        &self,
        id: TokenId,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Tokens in `scope`, newest first.
    fn list_tokens(
        &self,
        scope: Option<TenantId>,
    ) -> impl Future<Output = Result<Vec<ApiToken>>> + Send;
    /// Revokes a token (idempotent: revoking twice keeps the first time).
    fn revoke_token(
        &self,
        scope: Option<TenantId>,
        id: TokenId,
        actor: &Actor,
    ) -> impl Future<Output = Result<ApiToken>> + Send;
}

/// Permanent allow and deny entries of the perimeter guard. `scope` as for users: `None` is
/// the platform (global entries, super admins), `Some(t)` tenant `t`'s entries.
pub trait GuardRuleRepo {
    /// Stores an entry (validated first, see [`NewGuardRule::validated`]).
    /// `Conflict { what: "guard rule" }` if the scope already has an entry for the network;
    /// `Invalid { field: "network" }` when the scope ([`MAX_TENANT_GUARD_RULES`]) or the
    /// platform ([`MAX_GUARD_RULES`]) is full; `NotFound { what: "tenant" }` for a tenant that
    /// does not exist.
    fn create_guard_rule(
        &self,
        new: NewGuardRule,
        actor: &Actor,
    ) -> impl Future<Output = Result<GuardRule>> + Send;
    /// The entries of exactly `scope`, oldest first.
    fn list_guard_rules(
        &self,
        scope: Option<TenantId>,
    ) -> impl Future<Output = Result<Vec<GuardRule>>> + Send;
    /// Platform-wide, for loading the running guard: every entry with its tenant's SIP
    /// domain (`None` for global entries), global entries first.
    fn all_guard_rules(
        &self,
    ) -> impl Future<Output = Result<Vec<(GuardRule, Option<SipDomain>)>>> + Send;
    /// Removes an entry of `scope`. `NotFound` if it is not there.
    fn delete_guard_rule(
        &self,
        scope: Option<TenantId>,
        id: GuardRuleId,
        actor: &Actor,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Fraud events and the fraud engine's persistent state.
pub trait FraudRepo {
    /// Stores an event of `tenant` (validated first, see [`NewFraudEvent::validate`]). An
    /// extension that is not `tenant`'s is `NotFound { what: "extension" }`.
    fn insert_fraud_event(
        &self,
        tenant: TenantId,
        event: NewFraudEvent,
    ) -> impl Future<Output = Result<FraudEventRecord>> + Send;
    /// `tenant`'s events, newest first (`at`, then id), at most `limit`
    /// (1..=[`MAX_PAGE_SIZE`]), only those older than `before` when given.
    fn list_fraud_events(
        &self,
        tenant: TenantId,
        limit: u32,
        before: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<Vec<FraudEventRecord>>> + Send;
    /// Replaces the stored engine state.
    fn save_fraud_state(&self, state: &str) -> impl Future<Output = Result<()>> + Send;
    /// The stored engine state, if any.
    fn load_fraud_state(&self) -> impl Future<Output = Result<Option<FraudStateDoc>>> + Send;
}

/// A tenant's signed webhook for fraud notifications (at most one per tenant).
pub trait WebhookRepo {
    /// Sets (or replaces) `tenant`'s webhook; the secret is sealed with the tenant's key.
    /// Audited as `webhook.set` (the URL, never the secret). `Invalid { field: "url" }` for
    /// a malformed URL; `NotFound { what: "tenant" }` for a tenant that does not exist.
    fn set_webhook(
        &self,
        tenant: TenantId,
        url: &str,
        secret: &WebhookSecret,
        actor: &Actor,
    ) -> impl Future<Output = Result<Webhook>> + Send;
    /// `tenant`'s webhook with its secret opened, if one is set.
    fn get_webhook(&self, tenant: TenantId)
    -> impl Future<Output = Result<Option<Webhook>>> + Send;
    /// Removes `tenant`'s webhook (audited as `webhook.delete`). `NotFound` if none is set.
    fn delete_webhook(
        &self,
        tenant: TenantId,
        actor: &Actor,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Everything the store offers, for code that wants one bound.
pub trait Store:
    TenantRepo
    + UserRepo
    + ExtensionRepo
    + NumberRepo
    + CallRecordRepo
    + RegistrationRepo
    + AuditRepo
    + TokenRepo
    + GuardRuleRepo
    + FraudRepo
    + WebhookRepo
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: TenantRepo
        + UserRepo
        + ExtensionRepo
        + NumberRepo
        + CallRecordRepo
        + RegistrationRepo
        + AuditRepo
        + TokenRepo
        + GuardRuleRepo
        + FraudRepo
        + WebhookRepo
        + Clone
        + Send
        + Sync
        + 'static
{
}
