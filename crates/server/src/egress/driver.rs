//! The egress driver task: stores fraud events, mails alerts, ends calls the engine lists
//! (a daily cap crossed mid-call, containment), wakes at the engine's deadlines, and saves
//! the engine's state periodically and at shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ringfence_fraud::{Action, EndCall, FraudEngine, FraudEvent, FraudState, RateTable};
use ringfence_policy::NumberClassifier;
use ringfence_store::{
    Actor, ExtensionRepo, ExtensionUpdate, FraudRepo, NewFraudEvent, NumberRepo, TenantRepo,
    WebhookRepo,
};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::config::EgressConfig;
use super::gate::{EgressGate, ResolvedTrunk, Work, fraud_tenant, now};
use super::notify::Mailer;
use super::resolve::{SipResolver, keep_fresh};
use super::webhook::WebhookSender;
use crate::b2bua::{B2buaHandle, CallRef};

fn name<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The stored form of an engine event.
pub fn stored_event(e: &FraudEvent) -> NewFraudEvent {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.at.unix_millis()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut explanation = e.explanation.clone();
    if explanation.len() > ringfence_store::MAX_FRAUD_EXPLANATION {
        let mut cut = ringfence_store::MAX_FRAUD_EXPLANATION;
        while !explanation.is_char_boundary(cut) {
            cut -= 1;
        }
        explanation.truncate(cut);
    }
    NewFraudEvent {
        at: ringfence_store::truncate_time(at),
        extension_id: e.extension.map(|x| ringfence_store::ExtensionId(uuid::Uuid::from_u128(x.0))),
        call_id: e.call.map(|c| CallRef(c.0).to_string()),
        kind: e.kind.as_str().to_owned(),
        severity: name(e.severity),
        score: e.score,
        destination: e.destination.map(|d| d.to_string()),
        actions: e.actions.iter().map(|a| name(*a)).collect(),
        signals: serde_json::to_value(&e.signals).unwrap_or_default(),
        explanation,
    }
}

/// Errors setting egress up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EgressError {
    /// A trunk host did not resolve.
    #[error("trunk {name}: {source}")]
    Trunk {
        /// The trunk.
        name: String,
        /// Why.
        source: std::io::Error,
    },
    /// A trunk's TLS settings are unusable (its `tls_ca_file`, or no trust anchors).
    #[error("trunk {name}: TLS: {reason}")]
    TrunkTls {
        /// The trunk.
        name: String,
        /// Why.
        reason: String,
    },
    /// A setting is wrong (the message names it).
    #[error("{0}")]
    Config(String),
    /// The DNS resolver could not be set up.
    #[error("dns: {0}")]
    Dns(String),
    /// The rate table could not be read.
    #[error("rate table: {0}")]
    Rates(String),
    /// The SMTP settings are wrong.
    #[error("smtp: {0}")]
    Smtp(String),
    /// The webhook settings are wrong.
    #[error("webhooks: {0}")]
    Webhooks(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] ringfence_store::StoreError),
}

/// The egress gate's driver, to run beside the B2BUA.
pub struct EgressDriver<S> {
    gate: Arc<EgressGate>,
    rx: mpsc::UnboundedReceiver<Work>,
    store: S,
    mailer: Option<Mailer>,
    webhooks: WebhookSender,
    resolver: SipResolver,
    snapshot_every: Duration,
}

impl<S> std::fmt::Debug for EgressDriver<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressDriver").field("mailer", &self.mailer).finish_non_exhaustive()
    }
}

/// Builds the gate (also the B2BUA's observer) and its driver: resolves the trunks, loads
/// the rate table, and restores the fraud engine's saved state from `store`.
///
/// # Errors
/// [`EgressError`] naming what is wrong.
pub async fn build<S>(
    config: &EgressConfig,
    store: S,
) -> Result<(Arc<EgressGate>, EgressDriver<S>), EgressError>
where
    S: FraudRepo
        + NumberRepo
        + TenantRepo
        + ExtensionRepo
        + WebhookRepo
        + Clone
        + Send
        + Sync
        + 'static,
{
    let rates = match &config.rates_file {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| EgressError::Rates(format!("{}: {e}", p.display())))?;
            RateTable::parse(&text).map_err(|e| EgressError::Rates(e.to_string()))?
        }
        None => RateTable::sample(),
    };
    let mut engine = FraudEngine::new(Arc::new(rates));
    if let Some(doc) = store.load_fraud_state().await? {
        match serde_json::from_str::<FraudState>(&doc.state) {
            Ok(state) => {
                tracing::info!(tenants = state.tenants.len(), "fraud state restored");
                engine.restore(state);
            }
            Err(e) => tracing::error!(error = %e, "stored fraud state unreadable; starting afresh"),
        }
    }
    let resolver = SipResolver::new(&config.dns_servers).map_err(EgressError::Dns)?;
    config.validate().map_err(EgressError::Config)?;
    let mut trunks = Vec::with_capacity(config.trunks.len());
    for t in config.effective_trunks() {
        let tls = super::gate::trunk_tls(&t)
            .map_err(|reason| EgressError::TrunkTls { name: t.name.clone(), reason })?;
        trunks.push(ResolvedTrunk::located(t, tls, &resolver).await);
    }
    let mailer = config.smtp.as_ref().map(Mailer::new).transpose().map_err(EgressError::Smtp)?;
    let webhooks = WebhookSender::new(&config.webhooks).map_err(EgressError::Webhooks)?;
    // Compile the numbering plans of the countries in use now, not on the first call.
    let mut countries = Vec::new();
    for t in store.list_tenants().await? {
        let s = &t.settings;
        for c in std::iter::once(&s.home_country).chain(&s.allowed_countries) {
            if let Ok(c) = ringfence_policy::Country::parse(c.as_str())
                && !countries.contains(&c)
            {
                countries.push(c);
            }
        }
    }
    ringfence_policy::warm_up(Some(&countries));
    let classifier = Arc::new(NumberClassifier::builtin());
    let (mut gate, rx) = EgressGate::new(engine, classifier, trunks, resolver.clone());
    gate.directory = Some(Arc::new(super::inbound::StoreDirectory(store.clone())));
    let gate = Arc::new(gate);
    let driver = EgressDriver {
        gate: gate.clone(),
        rx,
        store,
        mailer,
        webhooks,
        resolver,
        snapshot_every: config.snapshot_interval(),
    };
    Ok((gate, driver))
}

impl<S> EgressDriver<S>
where
    S: FraudRepo + ExtensionRepo + WebhookRepo + Clone + Send + Sync + 'static,
{
    /// Runs until `shutdown` completes, then saves the engine's state once more.
    pub async fn run(mut self, b2bua: B2buaHandle, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let (mut stop_refresh, mut refresher) = self.refresher();
        let mut snapshot = tokio::time::interval(self.snapshot_every);
        snapshot.tick().await;
        loop {
            let deadline = self.gate.lock().engine.poll_timeout();
            let wait = deadline.map(|d| d.since(now()));
            tokio::select! {
                () = &mut shutdown => break,
                w = self.rx.recv() => match w {
                    Some(Work::Events(events)) => self.events(events).await,
                    Some(Work::End(calls)) => end_calls(&b2bua, &calls),
                    None => break,
                },
                () = async {
                    match wait {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                } => {
                    let out = self.gate.lock().engine.poll_actions(now());
                    end_calls(&b2bua, &out.end_calls);
                    self.events(out.events).await;
                }
                () = self.gate.wake.notified() => {}
                () = self.gate.trunks_changed.notified() => {
                    // The trunks were reloaded: keep the new set's servers fresh.
                    stop_refresh.cancel();
                    let _ = refresher.await;
                    (stop_refresh, refresher) = self.refresher();
                }
                _ = snapshot.tick() => {
                    self.gate.lock().engine.maintain(now());
                    self.save().await;
                }
            }
        }
        stop_refresh.cancel();
        let _ = refresher.await;
        while let Ok(w) = self.rx.try_recv() {
            if let Work::Events(events) = w {
                self.events(events).await;
            }
        }
        self.save().await;
    }

    /// Keeps the current trunks' servers located, until the token is cancelled.
    fn refresher(&self) -> (tokio_util::sync::CancellationToken, tokio::task::JoinHandle<()>) {
        let trunks =
            self.gate.trunk_list().iter().map(|t| (t.config.clone(), t.targets.clone())).collect();
        let stop = tokio_util::sync::CancellationToken::new();
        let task =
            tokio::spawn(keep_fresh(self.resolver.clone(), trunks, stop.clone().cancelled_owned()));
        (stop, task)
    }

    /// Saves the engine's state now.
    async fn save(&self) {
        let state = self.gate.lock().engine.snapshot(now());
        match serde_json::to_string(&state) {
            Ok(json) => {
                if let Err(e) = self.store.save_fraud_state(&json).await {
                    tracing::error!(error = %e, "fraud state not saved");
                }
            }
            Err(e) => tracing::error!(error = %e, "fraud state not serialised"),
        }
    }

    async fn events(&self, events: Vec<FraudEvent>) {
        for e in events {
            let tenant = self.gate.tenant(e.tenant);
            let Some(tenant) = tenant else {
                tracing::warn!(kind = e.kind.as_str(), "fraud event of an unknown tenant");
                continue;
            };
            debug_assert_eq!(fraud_tenant(tenant.id), e.tenant);
            tracing::warn!(
                tenant = %tenant.id,
                kind = e.kind.as_str(),
                explanation = %e.explanation,
                "fraud event"
            );
            let stored = match self.store.insert_fraud_event(tenant.id, stored_event(&e)).await {
                Ok(r) => Some(r.id),
                Err(err) => {
                    tracing::error!(error = %err, "fraud event not stored");
                    None
                }
            };
            if e.actions.contains(&Action::SuspendExtension)
                && let Some(x) = e.extension
            {
                // The engine refuses the extension's calls already; disabling it in the
                // store makes the suspension visible (and audited) until an admin lifts it.
                let id = ringfence_store::ExtensionId(uuid::Uuid::from_u128(x.0));
                let update = ExtensionUpdate { enabled: Some(false), ..ExtensionUpdate::default() };
                match self
                    .store
                    .update_extension(tenant.id, id, update, &Actor::system("fraud"))
                    .await
                {
                    Ok(ext) => {
                        // A cached credential must not register or call again.
                        if let Some(l) = self.gate.suspended.get() {
                            l.extension_suspended(tenant.domain.as_str(), ext.number.as_str());
                        }
                        tracing::warn!(extension = %id, "extension suspended by fraud control")
                    }
                    Err(err) => tracing::error!(error = %err, "suspension not stored"),
                }
            }
            if e.actions.contains(&Action::Alert) {
                self.post_webhook(&tenant, stored, &e);
            }
            if e.actions.contains(&Action::Alert)
                && let Some(m) = &self.mailer
            {
                let m = m.clone();
                tokio::spawn(async move {
                    let n = m.send(&tenant, &e).await;
                    tracing::info!(sent = n, kind = e.kind.as_str(), "fraud alert mailed");
                });
            }
        }
    }
}

impl<S> EgressDriver<S>
where
    S: WebhookRepo + Clone + Send + Sync + 'static,
{
    /// POSTs `e` to the tenant's webhook, if it has one, in a task of its own.
    fn post_webhook(
        &self,
        tenant: &Arc<ringfence_store::Tenant>,
        id: Option<ringfence_store::FraudEventId>,
        e: &FraudEvent,
    ) {
        let body = bytes::Bytes::from(super::webhook::payload(tenant, id, e));
        let store = self.store.clone();
        let sender = self.webhooks.clone();
        let tenant_id = tenant.id;
        let kind = e.kind.as_str();
        tokio::spawn(async move {
            let hook = match store.get_webhook(tenant_id).await {
                Ok(Some(h)) => h,
                Ok(None) => return,
                Err(err) => {
                    tracing::error!(tenant = %tenant_id, error = %err, "webhook not loaded");
                    return;
                }
            };
            match sender.deliver(&hook.url, hook.secret.expose(), body).await {
                Ok(status) => {
                    tracing::info!(tenant = %tenant_id, kind, status, "fraud alert posted to the webhook")
                }
                Err(err) => {
                    tracing::warn!(tenant = %tenant_id, kind, error = %err, "fraud alert not posted to the webhook")
                }
            }
        });
    }
}

fn end_calls(b2bua: &B2buaHandle, calls: &[EndCall]) {
    for c in calls {
        let ended = b2bua.end_call(
            CallRef(c.call.0),
            403,
            &format!("fraud {}: {}", c.kind.as_str(), c.reason),
        );
        tracing::warn!(
            call = c.call.0,
            kind = c.kind.as_str(),
            ended,
            "fraud control ended a call"
        );
    }
}
