//! What the engine tells the driver: decisions, actions, calls to end, and fraud events with
//! their explanation (stored, listed in the admin API, emailed and sent to webhooks).

use std::fmt::Write as _;

use ringfence_policy::E164;
use serde::{Deserialize, Serialize};

use crate::{CallId, ExtensionId, TenantId, Timestamp};

/// How serious an event is; the tenant's [`crate::ActionPolicy`] maps it to actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth recording.
    Info,
    /// Worth telling the customer.
    Warning,
    /// The call must not go ahead.
    High,
    /// The extension is probably compromised.
    Critical,
}

/// Something the driver (and, for containment, the engine itself) does about an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Store the event.
    Log,
    /// Notify the tenant's contacts (email, webhook).
    Alert,
    /// Refuse the call being attempted.
    BlockCall,
    /// Refuse the extension's international calls until an admin clears it; its running
    /// international calls are ended.
    BlockInternationalForExtension,
    /// Refuse all the extension's calls until an admin clears it; its running calls are ended.
    /// The driver should also disable the extension in the store.
    SuspendExtension,
}

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Concurrent-call limit reached.
    ConcurrentCalls,
    /// Calls-per-minute limit reached.
    CallRate,
    /// Daily international minutes used up (before or during a call).
    InternationalMinutesCap,
    /// Daily estimated spend used up (before or during a call).
    SpendCap,
    /// A daily cap is nearly used up.
    CapApproaching,
    /// Many very short answered calls.
    ShortCallBurst,
    /// Sequential numbers dialled (number scanning).
    SequentialDialling,
    /// Many attempts refused by the egress policy.
    PolicyRefusals,
    /// Behaviour far from the baseline.
    Anomaly,
    /// Repeated violations: the extension is being abused.
    SustainedAbuse,
    /// An attempt from a contained extension was refused.
    Contained,
}

/// Number of [`EventKind`]s (for per-kind tables).
pub(crate) const EVENT_KINDS: usize = 11;

impl EventKind {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConcurrentCalls => "concurrent_calls",
            Self::CallRate => "call_rate",
            Self::InternationalMinutesCap => "international_minutes_cap",
            Self::SpendCap => "spend_cap",
            Self::CapApproaching => "cap_approaching",
            Self::ShortCallBurst => "short_call_burst",
            Self::SequentialDialling => "sequential_dialling",
            Self::PolicyRefusals => "policy_refusals",
            Self::Anomaly => "anomaly",
            Self::SustainedAbuse => "sustained_abuse",
            Self::Contained => "contained",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// SIP reason phrase for a call refused or ended because of this kind (status 403). An
    /// extension contained for international calls only is answered "International Calls
    /// Suspended By Fraud Control".
    pub fn sip_reason(self) -> &'static str {
        match self {
            Self::ConcurrentCalls => "Concurrent Call Limit Reached",
            Self::CallRate => "Call Rate Limit Exceeded",
            Self::InternationalMinutesCap => "Daily International Limit Reached",
            Self::SpendCap => "Daily Spend Limit Reached",
            Self::Contained => "Calls Suspended By Fraud Control",
            _ => "Blocked By Fraud Control",
        }
    }
}

/// What a signal or limit measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Measure {
    /// Concurrent calls of the extension.
    ExtensionConcurrentCalls,
    /// Concurrent calls of the tenant.
    TenantConcurrentCalls,
    /// The extension's calls in the last minute (GCRA: the call would exceed the rate).
    ExtensionCallsPerMinute,
    /// The tenant's calls in the last minute.
    TenantCallsPerMinute,
    /// International minutes used today by the tenant.
    TenantInternationalMinutes,
    /// International minutes used today by the extension.
    ExtensionInternationalMinutes,
    /// Estimated spend today by the tenant, cents.
    TenantSpendCents,
    /// Estimated spend today by the extension, cents.
    ExtensionSpendCents,
    /// Short answered calls within the burst window.
    ShortCalls,
    /// Length of the run of sequential numbers.
    SequentialRun,
    /// Refused attempts within the window.
    Refusals,
    /// Violations within 10 minutes.
    Violations,
    /// Calls by the extension this hour vs its baseline.
    VolumeSpike,
    /// Calls by the tenant this hour vs its baseline.
    TenantVolumeSpike,
    /// First call by the extension to the destination country.
    NewCountry,
    /// First call by the tenant to the destination country.
    TenantNewCountry,
    /// Local time outside business hours (or the extension's usual hours).
    OutsideHours,
    /// Distinct international numbers called today by the extension.
    ManyDestinations,
    /// Distinct international numbers called today by the tenant.
    TenantManyDestinations,
    /// Minutes since a registration from a new network.
    NewNetwork,
    /// Destination on the high-risk table.
    HighRiskDestination,
    /// Premium-rate or shared-cost destination.
    PremiumDestination,
    /// Destination rate, cents per minute.
    ExpensiveDestination,
    /// Refused attempts in the last 10 minutes.
    RecentRefusals,
    /// The anomaly score itself.
    Score,
}

impl Measure {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExtensionConcurrentCalls => "extension_concurrent_calls",
            Self::TenantConcurrentCalls => "tenant_concurrent_calls",
            Self::ExtensionCallsPerMinute => "extension_calls_per_minute",
            Self::TenantCallsPerMinute => "tenant_calls_per_minute",
            Self::TenantInternationalMinutes => "tenant_international_minutes",
            Self::ExtensionInternationalMinutes => "extension_international_minutes",
            Self::TenantSpendCents => "tenant_spend_cents",
            Self::ExtensionSpendCents => "extension_spend_cents",
            Self::ShortCalls => "short_calls",
            Self::SequentialRun => "sequential_run",
            Self::Refusals => "refusals",
            Self::Violations => "violations",
            Self::VolumeSpike => "volume_spike",
            Self::TenantVolumeSpike => "tenant_volume_spike",
            Self::NewCountry => "new_country",
            Self::TenantNewCountry => "tenant_new_country",
            Self::OutsideHours => "outside_hours",
            Self::ManyDestinations => "many_destinations",
            Self::TenantManyDestinations => "tenant_many_destinations",
            Self::NewNetwork => "new_network",
            Self::HighRiskDestination => "high_risk_destination",
            Self::PremiumDestination => "premium_destination",
            Self::ExpensiveDestination => "expensive_destination",
            Self::RecentRefusals => "recent_refusals",
            Self::Score => "score",
        }
    }
}

/// One measured signal: what, its value, the threshold it is compared with, and the weight it
/// added to the score (0 for hard limits).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// What was measured.
    pub name: Measure,
    /// The value.
    pub value: f64,
    /// The threshold (limit, baseline-derived threshold, or 1 for yes/no signals).
    pub threshold: f64,
    /// Score points it added.
    pub weight: u32,
}

/// A fraud event: one decision worth recording, with its explanation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FraudEvent {
    /// When.
    pub at: Timestamp,
    /// Whose.
    pub tenant: TenantId,
    /// The extension, for extension events; `None` for tenant-wide ones.
    pub extension: Option<ExtensionId>,
    /// The call concerned, if any.
    pub call: Option<CallId>,
    /// What happened.
    pub kind: EventKind,
    /// How serious.
    pub severity: Severity,
    /// Anomaly score at the time (0 for pure limit events).
    pub score: u32,
    /// The signals and limits involved, with values and thresholds.
    pub signals: Vec<Signal>,
    /// The destination, if a call was involved.
    pub destination: Option<E164>,
    /// Actions taken.
    pub actions: Vec<Action>,
    /// Similar events folded into this one since the last one was reported.
    pub suppressed: u32,
    /// One paragraph for people: what happened, which values crossed which thresholds, what
    /// was done.
    pub explanation: String,
}

impl FraudEvent {
    /// Builds the explanation from the other fields.
    pub(crate) fn explain(&mut self, headline: &str) {
        let mut s = String::with_capacity(160);
        s.push_str(headline);
        if let Some(d) = self.destination {
            let _ = write!(s, " (destination {d})");
        }
        s.push('.');
        if !self.signals.is_empty() {
            s.push_str(" Signals:");
            for (i, sig) in self.signals.iter().enumerate() {
                let sep = if i == 0 { " " } else { "; " };
                let _ = write!(
                    s,
                    "{sep}{} = {} (threshold {})",
                    sig.name.as_str(),
                    fmt_num(sig.value),
                    fmt_num(sig.threshold)
                );
                if sig.weight > 0 {
                    let _ = write!(s, ", +{}", sig.weight);
                }
            }
            s.push('.');
        }
        if self.score > 0 {
            let _ = write!(s, " Score {}.", self.score);
        }
        let _ = write!(s, " Severity {:?}; actions:", self.severity);
        for a in &self.actions {
            let _ = write!(s, " {a:?}");
        }
        s.push('.');
        if self.suppressed > 0 {
            let _ = write!(s, " {} similar events since the last report.", self.suppressed);
        }
        self.explanation = s;
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v:.2}") }
}

/// A refusal status for the call being decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// SIP status (403).
    pub sip_status: u16,
    /// SIP reason phrase naming the cause.
    pub sip_reason: &'static str,
    /// The event kind that refused it.
    pub kind: EventKind,
}

/// A running call the driver must end now (send BYE on both legs with
/// `Reason: SIP ;cause=403 ;text="<reason>"`, RFC 3326).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EndCall {
    /// The call.
    pub call: CallId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its extension.
    pub extension: ExtensionId,
    /// Why.
    pub kind: EventKind,
    /// Reason text for the BYE.
    pub reason: &'static str,
}

/// The answer to [`crate::FraudEngine::call_attempt`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// Whether the call may be placed.
    pub allow: bool,
    /// When refused: the SIP status and reason to answer with.
    pub refusal: Option<Refusal>,
    /// Anomaly score of the attempt (0 if it was refused before scoring).
    pub score: u32,
    /// All actions of the events, deduplicated and sorted.
    pub actions: Vec<Action>,
    /// Events to store and notify.
    pub events: Vec<FraudEvent>,
    /// Running calls to end (containment ends the extension's calls).
    pub end_calls: Vec<EndCall>,
}

/// Events and calls to end, from anything but a call attempt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Events to store and notify.
    pub events: Vec<FraudEvent>,
    /// Running calls to end.
    pub end_calls: Vec<EndCall>,
}

impl Outcome {
    /// Whether nothing happened.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.end_calls.is_empty()
    }
}

/// What [`crate::FraudEngine::call_ended`] reports about a finished call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallSummary {
    /// Billable duration (from answer, or from local midnight for calls across it, to end).
    pub duration: std::time::Duration,
    /// Whether the call was international.
    pub international: bool,
    /// Estimated cost in millicents (1/1000 cent), from the rate table.
    pub estimated_cost_millicents: u64,
    /// Events raised by the end of the call (short-call bursts).
    pub outcome: Outcome,
}
