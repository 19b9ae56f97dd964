//! Records as the API shows them, and request bodies for users, extensions, numbers, tokens
//! and authentication.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use ringfence_store as store;

macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident => $store:path { $($(#[$vm:meta])* $v:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl From<$name> for $store {
            fn from(v: $name) -> Self { match v { $($name::$v => <$store>::$v),+ } }
        }

        impl From<$store> for $name {
            fn from(v: $store) -> Self { match v { $(<$store>::$v => $name::$v),+ } }
        }
    };
}

api_enum!(
    /// Permission level.
    Role => store::Role {
        /// All tenants.
        SuperAdmin,
        /// One tenant.
        TenantAdmin,
        /// Own extensions only.
        User,
    }
);

api_enum!(
    /// Which way a call went.
    Direction => store::CallDirection {
        /// From outside to the tenant.
        Inbound,
        /// From the tenant to outside.
        Outbound,
        /// Between extensions.
        Internal,
    }
);

api_enum!(
    /// How a call ended.
    Disposition => store::Disposition {
        /// Answered.
        Answered,
        /// Busy.
        Busy,
        /// Not answered in time.
        NoAnswer,
        /// Callee not reachable.
        Unavailable,
        /// Caller hung up first.
        Cancelled,
        /// Declined.
        Rejected,
        /// Refused by policy or the fraud engine.
        Blocked,
        /// Media stopped.
        MediaTimeout,
        /// Other failure.
        Failed,
    }
);

api_enum!(
    /// SIP transport.
    Transport => store::Transport {
        /// UDP.
        Udp,
        /// TCP.
        Tcp,
        /// TLS.
        Tls,
        /// WebSocket.
        Ws,
        /// Secure WebSocket.
        Wss,
    }
);

/// A tenant with its settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantView {
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// SIP domain and digest realm (fixed at creation).
    pub domain: String,
    /// Settings.
    pub settings: super::TenantSettingsView,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<store::Tenant> for TenantView {
    fn from(t: store::Tenant) -> Self {
        Self {
            id: t.id.0,
            name: t.name,
            domain: t.domain.to_string(),
            settings: (&t.settings).into(),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// Creates a tenant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Display name, 1..=100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// SIP domain (a hostname), unique.
    #[schema(min_length = 1, max_length = 253, example = "pbx.acme.example")]
    pub domain: String,
    /// ISO 3166-1 alpha-2 home country (default: the server's configured default).
    #[serde(default)]
    #[schema(example = "DE")]
    pub home_country: Option<String>,
    /// Encryption requirement (default `required`).
    #[serde(default)]
    pub encryption: Option<super::Encryption>,
}

/// Renames a tenant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// New display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// A login account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: Uuid,
    /// Tenant (`null` for super admins).
    pub tenant_id: Option<Uuid>,
    /// Login email.
    pub email: String,
    /// Role.
    pub role: Role,
    /// The password must be changed at next login.
    pub must_change_password: bool,
    /// TOTP confirmed.
    pub totp_enrolled: bool,
    /// Login refused until then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    /// Last login.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    /// When the password was set.
    #[serde(with = "time::serde::rfc3339")]
    pub password_set_at: OffsetDateTime,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&store::User> for UserView {
    fn from(u: &store::User) -> Self {
        Self {
            id: u.id.0,
            tenant_id: u.tenant_id.map(|t| t.0),
            email: u.email.to_string(),
            role: u.role.into(),
            must_change_password: u.must_change_password,
            totp_enrolled: u.totp_enrolled,
            locked_until: u.locked_until,
            last_login_at: u.last_login_at,
            password_set_at: u.password_set_at,
            created_at: u.created_at,
        }
    }
}

/// Creates a user. Without `password`, a one-time password is generated and returned once.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login email, unique on the platform.
    #[schema(example = "alice@acme.example")]
    pub email: String,
    /// `tenant_admin` or `user` (super admins are created under `/super-admins`).
    pub role: Role,
    /// Initial password (checked against the password policy).
    #[serde(default)]
    pub password: Option<String>,
    /// Force a change at first login (default true).
    #[serde(default)]
    pub must_change_password: Option<bool>,
}

/// Creates a super admin. Without `password`, a one-time password is generated.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSuperAdmin {
    /// Login email.
    pub email: String,
    /// Initial password.
    #[serde(default)]
    pub password: Option<String>,
}

/// A created user and, if generated, the one-time password (shown only here).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    /// The user.
    pub user: UserView,
    /// The generated one-time password; must be changed at first login.
    pub one_time_password: Option<String>,
}

/// Changes a user's role.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// `tenant_admin` or `user`.
    pub role: Role,
}

/// Sets a user's password as an admin. Without `password`, a one-time password is generated.
/// Either way the user must change it at next login, and their sessions end.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminSetPassword {
    /// New password (checked against the policy).
    #[serde(default)]
    pub password: Option<String>,
}

/// The one-time password, if one was generated.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasswordReset {
    /// Shown only here.
    pub one_time_password: Option<String>,
}

/// An extension (SIP account).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExtensionView {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Number; also the SIP username.
    pub number: String,
    /// Caller name.
    pub display_name: String,
    /// Owning user.
    pub owner_user_id: Option<Uuid>,
    /// Disabled extensions cannot register or call.
    pub enabled: bool,
    /// SIP credentials are set.
    pub has_sip_credentials: bool,
    /// A voicemail PIN is set.
    pub has_pin: bool,
    /// When the SIP secret was set.
    #[serde(with = "time::serde::rfc3339::option")]
    pub secret_set_at: Option<OffsetDateTime>,
    /// When the PIN was set.
    #[serde(with = "time::serde::rfc3339::option")]
    pub pin_set_at: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&store::Extension> for ExtensionView {
    fn from(e: &store::Extension) -> Self {
        Self {
            id: e.id.0,
            tenant_id: e.tenant_id.0,
            number: e.number.to_string(),
            display_name: e.display_name.clone(),
            owner_user_id: e.owner_user_id.map(|u| u.0),
            enabled: e.enabled,
            has_sip_credentials: e.has_sip_credentials,
            has_pin: e.pin_hash.is_some(),
            secret_set_at: e.secret_set_at,
            pin_set_at: e.pin_set_at,
            created_at: e.created_at,
        }
    }
}

/// Creates an extension with a generated SIP password (returned once).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExtension {
    /// 2 to 8 digits, not starting with 0; unique in the tenant.
    #[schema(example = "1001")]
    pub number: String,
    /// Caller name (default empty).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Owning user of the same tenant.
    #[serde(default)]
    pub owner_user_id: Option<Uuid>,
    /// Enabled (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Voicemail PIN (checked against the PIN rules).
    #[serde(default)]
    pub pin: Option<String>,
}

/// Changes an extension; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateExtension {
    /// New caller name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// New owner; `null` removes the owner.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub owner_user_id: Option<Option<Uuid>>,
    /// Enable or disable.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// SIP credentials as a softphone needs them. The password is shown only in this response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SipSecret {
    /// Digest username (the extension number).
    pub username: String,
    /// Digest realm and SIP domain.
    pub realm: String,
    /// The SIP password.
    pub password: String,
}

/// A created extension with its SIP credentials.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedExtension {
    /// The extension.
    pub extension: ExtensionView,
    /// Its credentials (shown once).
    pub sip: SipSecret,
}

/// A user-chosen SIP password (as strong as a login password).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetSipPassword {
    /// New SIP password.
    pub password: String,
}

/// A new voicemail PIN.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPin {
    /// Digits only, at least 6 (or the tenant's minimum).
    #[schema(example = "482915")]
    pub pin: String,
}

/// A phone number (DID).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NumberView {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// The number in E.164.
    pub e164: String,
    /// Extension it rings (`null`: unassigned).
    pub extension_id: Option<Uuid>,
    /// Added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&store::PhoneNumber> for NumberView {
    fn from(n: &store::PhoneNumber) -> Self {
        Self {
            id: n.id.0,
            tenant_id: n.tenant_id.0,
            e164: n.e164.to_string(),
            extension_id: n.extension_id.map(|e| e.0),
            created_at: n.created_at,
        }
    }
}

/// Adds a phone number.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNumber {
    /// `+` and 6 to 15 digits.
    #[schema(example = "+4930123456")]
    pub e164: String,
    /// Extension of the same tenant to ring.
    #[serde(default)]
    pub extension_id: Option<Uuid>,
}

/// Routes a number to an extension, or unassigns it (`null`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignNumber {
    /// Extension of the same tenant, or `null`.
    pub extension_id: Option<Uuid>,
}

/// An API token (without the secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    /// Id.
    pub id: Uuid,
    /// Tenant (`null` for super-admin tokens).
    pub tenant_id: Option<Uuid>,
    /// Powers.
    pub role: Role,
    /// Label.
    pub name: String,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last use (updated at most once a minute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// Revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<&store::ApiToken> for TokenView {
    fn from(t: &store::ApiToken) -> Self {
        Self {
            id: t.id.0,
            tenant_id: t.tenant_id.map(|x| x.0),
            role: t.role.into(),
            name: t.name.clone(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// Creates an API token.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Label, 1..=100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// A created token: the secret is shown only here.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// The token's record.
    pub info: TokenView,
}

/// Password login.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Current TOTP code, once enrolled.
    #[serde(default)]
    pub totp_code: Option<String>,
}

/// A started session. The session id is in the `Set-Cookie` header; send `csrf_token` as
/// `X-CSRF-Token` on every write.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// The user.
    pub user: UserView,
    /// CSRF token for writes.
    pub csrf_token: String,
    /// Change the password before anything else.
    pub password_change_required: bool,
    /// Enroll TOTP before anything else.
    pub totp_enrollment_required: bool,
}

/// Changes the caller's own login password.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password.
    pub current_password: String,
    /// The new one (checked against the policy).
    pub new_password: String,
}

/// A new TOTP secret, pending confirmation. Shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrollment {
    /// Base32 secret for manual entry.
    pub secret_base32: String,
    /// `otpauth://totp/...` URL for a QR code.
    pub otpauth_url: String,
}

/// A TOTP code.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// Six digits.
    #[schema(example = "123456")]
    pub code: String,
}

/// Who the caller is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeView {
    /// `session` or `token`.
    pub via: String,
    /// Powers.
    pub role: Role,
    /// Tenant scope (`null`: all tenants).
    pub tenant_id: Option<Uuid>,
    /// The user, for sessions.
    pub user: Option<UserView>,
    /// The token id, for API tokens.
    pub token_id: Option<Uuid>,
    /// Extensions owned by the user.
    pub extensions: Vec<ExtensionView>,
}

/// One event of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEventView {
    /// Position in the chain.
    pub seq: u64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Tenant concerned.
    pub tenant_id: Option<Uuid>,
    /// Who (`user:<id>`, `token:<id>`, `system:<component>`).
    pub actor: String,
    /// What, e.g. `extension.create`.
    pub action: String,
    /// To what, e.g. `extension:<id>`.
    pub target: String,
    /// Extra facts (never secrets).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// Hash of the previous event (hex).
    pub prev_hash: String,
    /// Hash of this event (hex).
    pub hash: String,
}

impl From<store::AuditEvent> for AuditEventView {
    fn from(e: store::AuditEvent) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            tenant_id: e.tenant_id.map(|t| t.0),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
            prev_hash: e.prev_hash.to_hex(),
            hash: e.hash.to_hex(),
        }
    }
}

/// A page of audit events, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// Events.
    pub events: Vec<AuditEventView>,
    /// Pass as `before` for the next page; `null` on the last page.
    pub next_before: Option<u64>,
}

/// Result of checking the audit hash chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChainReportView {
    /// The whole chain verified.
    pub intact: bool,
    /// Events read.
    pub events_checked: u64,
    /// Sequence number of the first broken link.
    pub first_break_seq: Option<u64>,
    /// What is wrong there: `content_changed`, `missing`, `link_broken`, `head_mismatch`.
    pub first_break_kind: Option<String>,
}

/// One call.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallRecordView {
    /// Id.
    pub id: Uuid,
    /// SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Caller.
    pub caller: String,
    /// Callee.
    pub callee: String,
    /// Direction.
    pub direction: Direction,
    /// First INVITE.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Answered.
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    /// Ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Talk time in seconds.
    pub duration_s: u32,
    /// How it ended.
    pub disposition: Disposition,
    /// Final SIP status.
    pub sip_status: Option<u16>,
    /// Reason (policy refusals say which rule).
    pub reason: Option<String>,
    /// Transport of the caller's leg.
    pub transport: Transport,
    /// TLS + SRTP.
    pub encrypted: bool,
    /// Calling extension.
    pub from_extension_id: Option<Uuid>,
    /// Called extension.
    pub to_extension_id: Option<Uuid>,
    /// The extension whose call forwarding sent the call on (its number): a forwarded
    /// call to the phone network left on its behalf.
    pub forwarded_by: Option<String>,
    /// That extension's id.
    pub forwarded_by_extension_id: Option<Uuid>,
    /// Which forward applied: `always`, `busy`, `no_answer` or `unavailable`.
    pub forward_reason: Option<String>,
}

impl From<store::CallRecord> for CallRecordView {
    fn from(r: store::CallRecord) -> Self {
        let c = r.call;
        Self {
            id: r.id.0,
            call_id: c.call_id,
            caller: c.caller,
            callee: c.callee,
            direction: c.direction.into(),
            started_at: c.started_at,
            answered_at: c.answered_at,
            ended_at: c.ended_at,
            duration_s: c.duration_s,
            disposition: c.disposition.into(),
            sip_status: c.sip_status,
            reason: c.reason,
            transport: c.transport.into(),
            encrypted: c.encrypted,
            from_extension_id: c.from_extension_id.map(|e| e.0),
            to_extension_id: c.to_extension_id.map(|e| e.0),
            forwarded_by: c.forwarded_by,
            forwarded_by_extension_id: c.forwarded_by_extension_id.map(|e| e.0),
            forward_reason: c.forward_reason.map(|f| f.as_str().to_owned()),
        }
    }
}

/// A page of call history, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallPageView {
    /// Records.
    pub records: Vec<CallRecordView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// An extension whose SIP secret or PIN is older than the tenant's rotation period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExpiredSecret {
    /// Extension id.
    pub extension_id: Uuid,
    /// Extension number.
    pub number: String,
    /// The SIP secret is due for rotation.
    pub sip_secret_expired: bool,
    /// When it was set.
    #[serde(with = "time::serde::rfc3339::option")]
    pub secret_set_at: Option<OffsetDateTime>,
    /// The PIN is due for rotation.
    pub pin_expired: bool,
    /// When it was set.
    #[serde(with = "time::serde::rfc3339::option")]
    pub pin_set_at: Option<OffsetDateTime>,
}
