//! The admin API's view of the SIP trunks ([`ringfence_admin::trunks::TrunkStatus`]): the
//! egress gate's trunks with their current targets and their registrations.

use std::sync::Arc;

use ringfence_admin::trunks::{TrunkRegistrationView, TrunkStatus, TrunkView};
use ringfence_server::egress::{EgressGate, RegistrationsView, TrunkTransport};

/// The running trunks.
pub(crate) struct TrunkControl {
    pub(crate) gate: Arc<EgressGate>,
    pub(crate) registrations: RegistrationsView,
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
}
