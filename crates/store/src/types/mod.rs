//! Domain types: what the store keeps, as the rest of Ringfence sees it.

mod audit;
mod call;
mod calling;
mod extension;
mod fraud;
mod guard_rule;
mod ids;
mod number;
mod registration;
mod scalars;
mod tenant;
mod token;
mod user;
mod webhook;

pub use audit::{Actor, AuditEntry, AuditEvent, BreakKind, ChainBreak, ChainHash, ChainReport};
pub use call::{
    CallCursor, CallDirection, CallFilter, CallPage, CallRecord, Disposition, ForwardReason,
    MAX_PAGE_SIZE, NewCallRecord, Transport,
};
pub use calling::{
    CallForwarding, CallPath, CallingRestrictions, FORWARD_NO_ANSWER_SECONDS, MAX_FORWARD_TARGET,
    MAX_RESTRICTED_COUNTRIES, PlatformOverrides,
};
pub use extension::{Extension, ExtensionUpdate, NewExtension, SipAccount, SipCredentials};
pub use fraud::{
    FraudEventRecord, FraudStateDoc, MAX_FRAUD_EXPLANATION, MAX_FRAUD_SIGNALS, NewFraudEvent,
};
pub use guard_rule::{
    GuardAction, GuardRule, MAX_GUARD_NOTE, MAX_GUARD_RULES, MAX_TENANT_GUARD_RULES, NewGuardRule,
};
pub use ids::{
    CallRecordId, ExtensionId, FraudEventId, GuardRuleId, PhoneNumberId, TenantId, TokenId, UserId,
};
pub use number::PhoneNumber;
pub use registration::{BindingChange, RegistrationBinding};
pub use scalars::{CountryCode, E164, Email, ExtensionNumber, SipDomain};
pub use tenant::{
    BlockKind, BusinessHours, CallerIdBlock, CredentialPolicy, EncryptionRequirement, FraudLimits,
    MAX_DEVICE_NETWORKS, MAX_INBOUND_BLOCKS, MAX_NOTIFICATION_EMAILS, NewTenant,
    NotificationContacts, OpenPeriod, Tenant, TenantSettings,
};
pub use token::{ApiToken, NewApiToken, TOKEN_PREFIX, generate_token, token_hash};
pub use user::{NewUser, Role, TotpSecret, User};
pub use webhook::{MAX_WEBHOOK_URL, Webhook, WebhookSecret, validate_webhook_url};

pub(crate) use extension::validate_display_name;
pub(crate) use tenant::validate_tenant_name;
pub(crate) use token::validate_token_name;
pub(crate) use user::validate_password_hash;
