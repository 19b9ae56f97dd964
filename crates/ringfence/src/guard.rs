//! The running perimeter guard behind the admin API ([`ringfence_admin::guard::GuardControl`]):
//! bans are listed and lifted on the SIP service's [`Perimeter`], allow/deny entries are
//! reloaded from the store after every change, metrics cover the guard, the SIP transports
//! and the process.

use std::sync::Arc;

use anyhow::Context as _;
use ringfence_admin::guard::{BanInfo, BanKey, BoxFuture, GuardControl, GuardError};
use ringfence_server::perimeter::{self, Perimeter};
use ringfence_server::transport::Transports;
use ringfence_store::{AnyStore, GuardRuleRepo as _};

/// Loads the stored permanent allow/deny entries into the running guard.
pub async fn load_rules(store: &AnyStore, perimeter: &Perimeter) -> anyhow::Result<usize> {
    let entries =
        store.all_guard_rules().await.context("loading the guard's allow/deny entries")?;
    let n = entries.len();
    perimeter
        .set_static_rules(perimeter::static_rules(entries))
        .map_err(|e| anyhow::anyhow!("loading the guard's allow/deny entries: {e}"))?;
    Ok(n)
}

/// [`GuardControl`] over the SIP service's guard.
#[derive(Debug)]
pub struct PerimeterControl {
    perimeter: Arc<Perimeter>,
    transports: Transports,
    store: AnyStore,
    /// One reload at a time: each reads the store after the change that caused it, so the
    /// last one to run has seen every change.
    reload: tokio::sync::Mutex<()>,
}

impl PerimeterControl {
    /// Control over `perimeter`, with the metrics of `transports`, reloading from `store`.
    pub fn new(perimeter: Arc<Perimeter>, transports: Transports, store: AnyStore) -> Self {
        Self { perimeter, transports, store, reload: tokio::sync::Mutex::new(()) }
    }
}

impl GuardControl for PerimeterControl {
    fn list_bans(&self) -> Vec<BanInfo> {
        self.perimeter.list_bans()
    }

    fn lift_ban(&self, key: &BanKey) -> Result<(), GuardError> {
        self.perimeter.lift_ban(key)
    }

    fn rules_changed(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let _one = self.reload.lock().await;
            let n = load_rules(&self.store, &self.perimeter).await.map_err(|e| format!("{e:#}"))?;
            tracing::info!(entries = n, "guard allow/deny entries reloaded");
            Ok(())
        })
    }

    fn render_metrics(&self) -> String {
        self.perimeter.render_metrics(Some(&self.transports.stats()))
    }
}
