//! The admin API's view of the SIP trunks ([`ringfence_admin::trunks::TrunkStatus`]): the
//! egress gate's trunks with their current targets and their registrations; and their
//! reload from the config file (SIGHUP or `POST /api/v1/trunks/reload`).

use std::path::PathBuf;
use std::sync::Arc;

use ringfence_admin::trunks::{
    ReloadFuture, TrunkRegistrationView, TrunkReloadView, TrunkStatus, TrunkView,
};
use ringfence_server::egress::{
    EgressConfig, EgressGate, Registrations, RegistrationsView, TrunkTransport,
};
use tokio::sync::{mpsc, oneshot};

use crate::config::Settings;

/// A reload asked for through the admin API, answered by the serve loop.
pub(crate) type ReloadRequest = oneshot::Sender<Result<TrunkReloadView, String>>;

/// The running trunks.
pub(crate) struct TrunkControl {
    pub(crate) gate: Arc<EgressGate>,
    pub(crate) registrations: RegistrationsView,
    /// To the serve loop, which owns the registrations.
    pub(crate) reload: mpsc::Sender<ReloadRequest>,
}

/// Reading the trunks again from the config file.
pub(crate) struct Reload {
    /// The config file (none: started without one, nothing to reload).
    pub(crate) file: Option<PathBuf>,
    /// The `[sip.egress]` table in force.
    pub(crate) running: EgressConfig,
}

impl Reload {
    /// The new `[sip.egress]` table from the file, checked.
    fn read(&self) -> Result<EgressConfig, String> {
        let Some(path) = &self.file else {
            return Err("no config file to read (start with --config or RINGFENCE_CONFIG)".into());
        };
        let settings = Settings::from_file(path).map_err(|e| format!("{e:#}"))?;
        let egress = settings.egress_config();
        egress.validate().map_err(|e| format!("[sip.egress]: {e}"))?;
        // TLS settings are checked as at start-up: a trunk whose CA file is unusable is not
        // half-installed.
        for t in egress.effective_trunks() {
            ringfence_server::egress::trunk_tls(&t)
                .map_err(|e| format!("[sip.egress] trunk {}: TLS: {e}", t.name))?;
        }
        Ok(egress)
    }

    /// Replaces the trunks with the file's: added trunks are used (and register), removed
    /// ones stop being used (and unregister), changed ones are replaced; calls in progress
    /// keep their route. A file that cannot be read or is invalid changes nothing. Logs
    /// one line either way.
    pub(crate) async fn apply(
        &mut self,
        gate: &EgressGate,
        registrations: &mut Registrations,
    ) -> Result<TrunkReloadView, String> {
        let next = match self.read() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "trunks not reloaded; the running trunks are unchanged");
                return Err(e);
            }
        };
        let rest = |c: &EgressConfig| EgressConfig {
            trunks: Vec::new(),
            advertised_address: None,
            ..c.clone()
        };
        if rest(&next) != rest(&self.running) {
            tracing::warn!(
                "[sip.egress] settings other than the trunks and advertised_address changed; \
                 they take effect at the next start"
            );
        }
        let changes = gate.replace_trunks(next.effective_trunks()).await;
        registrations.apply(gate).await;
        self.running.trunks = next.trunks;
        self.running.advertised_address = next.advertised_address;
        tracing::info!(%changes, "trunks reloaded");
        Ok(TrunkReloadView {
            added: changes.added,
            removed: changes.removed,
            changed: changes.changed,
            unchanged: changes.unchanged,
        })
    }
}

impl TrunkStatus for TrunkControl {
    fn trunks(&self) -> Vec<TrunkView> {
        let regs = self.registrations.status();
        self.gate
            .trunk_list()
            .iter()
            .map(|t| {
                let now = t.targets.get();
                let registration =
                    regs.iter().find(|r| r.trunk == t.config.name).map(|r| TrunkRegistrationView {
                        state: serde_json::to_value(r.state)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        registrar: r.registrar.clone(),
                        contact: r.contact.clone(),
                        expires_at: r.expires_at,
                        last_status: r.last_status,
                        last_error: r.last_error.clone(),
                        failures: r.failures,
                    });
                TrunkView {
                    name: t.config.name.clone(),
                    host: t.config.host.clone(),
                    targets: now
                        .targets
                        .iter()
                        .map(|x| {
                            let tr = match x.transport {
                                TrunkTransport::Udp => "udp",
                                TrunkTransport::Tcp => "tcp",
                                TrunkTransport::Tls => "tls",
                            };
                            format!("{}/{tr}", x.addr)
                        })
                        .collect(),
                    error: now.error.clone(),
                    registration,
                }
            })
            .collect()
    }

    fn reload(&self) -> ReloadFuture {
        let tx = self.reload.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            tx.send(reply).await.map_err(|_| "the server is stopping".to_owned())?;
            answer.await.map_err(|_| "the server is stopping".to_owned())?
        })
    }
}
