//! Calls that leave the system, and the fraud control around them.
//!
//! Place in the data flow of an outbound call:
//!
//! ```text
//! B2BUA (authenticated caller, destination not an extension)
//!   -> EgressGate::check: ringfence_policy::EgressPolicy::decide   (the one egress policy)
//!        Deny -> 403/404/484 with the policy's reason phrase, record "policy <rule>: ..."
//!   -> FraudEngine::call_attempt (limits, scanning, anomaly score)
//!        refused -> 403 with the engine's reason phrase, record "fraud <kind>: ..."
//!   -> GateDecision::Route: INVITE to the tenant's trunk (digest answered if challenged)
//! B2BUA observer: answered / ended -> FraudEngine running counters
//! driver task: engine deadlines -> end calls crossing a daily cap (B2buaHandle::end_call);
//!              events -> store (FraudRepo) + mail (SMTP) + signed webhook (HTTP POST);
//!              state snapshots -> store
//! ```
//!
//! Calls from a trunk (an INVITE from a trunk's address) are not authenticated by digest:
//! the number called (E.164, from the Request-URI) picks the tenant and extension it is
//! assigned to, and the tenant's caller-ID blocks (exact, prefix, anonymous or withheld,
//! [`ringfence_policy::InboundBlockList`]) answer a blocked caller (603, or 433 for
//! anonymous) without ringing anyone; [`EgressGate::inbound_blocked`] counts them.
//!
//! Every way a call can leave goes through [`EgressGate`]: the B2BUA asks it for dialled
//! calls, and forwards, transfers and call-backs are to name their [`crate::b2bua::CallOrigin`]
//! when they exist. Tenant settings are read from the [`ringfence_store::Tenant`] the B2BUA
//! passes in; the compiled policy and the engine's configuration are rebuilt when the
//! tenant's `updated_at` changes.

mod config;
mod driver;
mod gate;
mod inbound;
mod notify;
mod register;
mod resolve;
mod webhook;

pub use config::{EgressConfig, SmtpConfig, TrunkAuth, TrunkConfig, TrunkTransport};
pub use driver::{EgressDriver, EgressError, build, stored_event};
pub use gate::{
    EgressGate, Observers, ResolvedTrunk, SuspensionListener, TrunkChanges, fraud_config, trunk_tls,
};
pub use notify::{Mailer, alert_text};
pub use register::{
    RegistrationState, RegistrationStatus, Registrations, RegistrationsView, refresh_after,
    retry_after,
};
pub use resolve::{
    Resolution, ResolveError, SipResolver, SipTarget, TargetsNow, TrunkTargets, order_srv,
};
pub use webhook::{
    SIGNATURE_HEADER, WebhookConfig, WebhookError, WebhookSender, is_public, payload, signature,
};
