//! Ringfence's fraud engine: decides in microseconds, before a call leaves, whether it may go,
//! and watches it while it runs. Sans-IO: no threads, no clock, no database; the driver passes
//! the time in and acts on what comes out.
//!
//! Place in the data flow of an outbound call:
//!
//! ```text
//! B2BUA -> ringfence_policy::EgressPolicy::decide ----Deny----> 403/404/484 + policy_refusal()
//!               | Allow { destination }
//!               v
//!          FraudEngine::call_attempt(now, &CallContext) --refused--> 403 + store events
//!               | allowed
//!               v
//!          route to trunk; call_answered(now, id) ... call_ended(now, id)
//! timer:   FraudEngine::poll_timeout() -> sleep until -> poll_actions(now) -> BYE the calls listed
//! ```
//!
//! # What it checks
//! - **Hard limits** (always refuse): concurrent calls per extension and tenant; calls per
//!   minute per extension and tenant (GCRA); international minutes and estimated spend per
//!   local day for the tenant and, optionally, each extension. Spend comes from a
//!   [`RateTable`] (longest destination prefix, CSV; `data/sample_rates.csv`).
//! - **Running calls**: the engine knows each answered call's start and rate, so it computes
//!   the exact instant the running calls cross a daily cap; [`FraudEngine::poll_timeout`]
//!   returns it and [`FraudEngine::poll_actions`] lists the calls to end then.
//! - **Number scanning**: consecutive attempts to numbers differing only in their last digits,
//!   in increasing order ([`ScanConfig`]); **short-call bursts** ([`BurstConfig`]).
//! - **Behavioural anomaly score** per extension and tenant against their own baselines
//!   (moving averages of hourly volume and daily distinct international destinations,
//!   countries called, usual hours, networks registered from): volume spike (after a warm-up,
//!   above a floor), first call to a country, outside business hours, many distinct
//!   international destinations, call soon after a registration from a new network, and the
//!   destination itself (high-risk, premium, expensive) when a platform override let it
//!   through the policy. Each signal has a weight ([`SignalWeights`]); the score picks a
//!   [`Severity`].
//!
//! # What it does
//! Each severity maps to [`Action`]s per tenant ([`ActionPolicy`]): log, alert, block the
//! call, block the extension's international calls, suspend the extension. Containment is
//! automatic and sticky: later attempts are refused by the engine itself until
//! [`FraudEngine::clear_containment`], and the extension's running calls are listed to end.
//! Repeated violations within ten minutes escalate to a critical "sustained abuse" event.
//! Every decision worth recording is a [`FraudEvent`] with its signals (value, threshold,
//! weight) and a human explanation: the driver stores it, lists it in the admin API, and
//! emails or posts it (`actions` contains [`Action::Alert`]). Alerts of one kind are folded for
//! a cooldown so an attack does not flood the customer's mailbox.
//!
//! # Driving it
//! ```
//! use std::sync::Arc;
//! use ringfence_fraud::*;
//! use ringfence_policy::{E164, NumberClassifier};
//!
//! let mut engine = FraudEngine::new(Arc::new(RateTable::sample()));
//! let tenant = TenantId(1);
//! engine.set_tenant_config(tenant, TenantConfig::default()).unwrap();
//! let destination = NumberClassifier::builtin().classify(E164::parse("+442079460958").unwrap());
//! let now = Timestamp::from_unix_secs(1_700_000_000);
//! let ctx = CallContext {
//!     call: CallId(1),
//!     tenant,
//!     extension: ExtensionId(7),
//!     destination,
//!     international: false,
//!     source: None,
//! };
//! let decision = engine.call_attempt(now, &ctx);
//! assert!(decision.allow);
//! engine.call_answered(now, CallId(1));
//! let summary = engine.call_ended(Timestamp::from_unix_secs(1_700_000_060), CallId(1)).unwrap();
//! assert_eq!(summary.duration.as_secs(), 60);
//! ```
//! The driver keeps one engine (behind a mutex; a decision takes microseconds), sets each
//! tenant's [`TenantConfig`] from the stored settings, reports registrations and policy
//! refusals, sleeps until [`FraudEngine::poll_timeout`], and persists
//! [`FraudEngine::snapshot`] periodically and at shutdown ([`FraudEngine::restore`] at start).
//!
//! # From the stored settings
//! The engine takes plain values; the driver maps the tenant's stored settings:
//!
//! | stored (tenant settings) | engine |
//! |---|---|
//! | `fraud_limits.*` | [`Limits`] fields of the same names |
//! | `business_hours.utc_offset_minutes` | [`TenantConfig::utc_offset_minutes`] (keep it even without hours: days roll over at local midnight) |
//! | `business_hours.periods` | [`BusinessHours::periods`] |
//! | extension and tenant UUIDs | [`ExtensionId`], [`TenantId`] (`Uuid::as_u128`) |
//! | the rate table file in the operator's config | [`RateTable::parse`] |
//!
//! For every outbound attempt the egress policy allowed, the driver builds a [`CallContext`]
//! from the [`ringfence_policy::ClassifiedNumber`] (dialled calls, forwards, transfers and
//! call-backs alike, with the extension on whose behalf the call leaves); internal calls never
//! reach the engine. A refusal is answered with [`Refusal::sip_status`] and
//! [`Refusal::sip_reason`] and recorded as a blocked call. Actions are carried out by the
//! driver: `Alert` sends the event's explanation to the tenant's notification contacts,
//! `SuspendExtension` and `BlockInternationalForExtension` should also be written to the store
//! (the engine enforces them itself meanwhile), and every [`EndCall`] gets a BYE.
//!
//! # Bounded memory
//! Per extension: about 400 bytes of baselines and counters when idle, plus short-term windows
//! (GCRA, the last 16 dialled numbers, recent short calls, violations, refusals, alert
//! cooldowns; about 400 bytes more) that are dropped after an hour idle; sets are capped (32
//! countries, 8 networks, 64 destinations a day). Extensions idle for 60 days are forgotten.
//! [`FraudEngine::memory`] reports the totals; the `decision_latency` example measures them.
//!
//! # Precision
//! Daily caps hold to the millisecond: a crossing instant is rounded up to the next
//! millisecond and a call's cost to the next millicent, so running calls can overshoot a cap
//! by less than a millisecond and a millicent each.

mod config;
mod engine;
mod error;
mod event;
mod meters;
mod rates;
mod running;
mod score;
mod snapshot;
mod state;
mod tenant;
mod time;

pub use config::{
    ActionPolicy, AnomalyConfig, BurstConfig, BusinessHours, Limits, OpenPeriod, ScanConfig,
    SignalWeights, TenantConfig,
};
pub use engine::{CallContext, CallId, ExtensionId, FraudEngine, MemoryReport, TenantId};
pub use error::Error;
pub use event::{
    Action, CallSummary, Decision, EndCall, EventKind, FraudEvent, Measure, Outcome, Refusal,
    Severity, Signal,
};
pub use rates::{DEFAULT_UNKNOWN_RATE_MILLICENTS, MAX_RATE_ENTRIES, RateTable, SAMPLE_RATE_TABLE};
pub use snapshot::{ExtensionSnapshot, FraudState, SNAPSHOT_VERSION, TenantSnapshot};
pub use state::Containment;
pub use time::Timestamp;
