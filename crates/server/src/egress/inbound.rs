//! Calls from a trunk to the platform's numbers (DIDs): accepted only from a trunk's
//! address, routed to the extension the number is assigned to, and answered without
//! ringing anyone when the tenant blocks the caller ID (counted).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ringfence_policy::{BlockRule, CallerId, Country, InboundBlockList};
use ringfence_sip_proto::transaction::Peer;
use ringfence_sip_types::{Request, Uri};
use ringfence_store::{E164, Extension, ExtensionRepo, NumberRepo, StoreError, Tenant, TenantRepo};

use super::gate::EgressGate;
use crate::auth::BoxFuture;
use crate::b2bua::InboundDecision;

/// Who owns a number: the store, behind an object-safe trait.
pub(crate) trait Directory: Send + Sync + 'static {
    /// The tenant and extension `e164` is routed to (`None` if nobody's or unassigned).
    fn route(&self, e164: E164) -> BoxFuture<'_, Result<Option<(Tenant, Extension)>, StoreError>>;
}

/// [`Directory`] over the store.
pub(crate) struct StoreDirectory<S>(pub S);

impl<S> Directory for StoreDirectory<S>
where
    S: NumberRepo + TenantRepo + ExtensionRepo + Send + Sync + 'static,
{
    fn route(&self, e164: E164) -> BoxFuture<'_, Result<Option<(Tenant, Extension)>, StoreError>> {
        Box::pin(async move {
            let Some(n) = self.0.route_number(&e164).await? else { return Ok(None) };
            let Some(ext) = n.extension_id else { return Ok(None) };
            let Some(tenant) = self.0.get_tenant(n.tenant_id).await? else { return Ok(None) };
            let Some(extension) = self.0.get_extension(tenant.id, ext).await? else {
                return Ok(None);
            };
            Ok(Some((tenant, extension)))
        })
    }
}

fn user_of(uri: &Uri) -> Option<String> {
    uri.as_sip().and_then(|u| u.user_unescaped()).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// `user` as E.164: `+` and digits, or digits alone (taken as E.164 without the `+`, as
/// many carriers send it).
fn number_of(user: &str) -> Option<E164> {
    let user = user.split(';').next().unwrap_or("");
    let digits = user.strip_prefix('+').unwrap_or(user);
    E164::parse(&format!("+{digits}")).ok()
}

/// The number called: the Request-URI's user, or, for a call to the Contact a trunk
/// registered (its user is one of `registered`), the To header's user.
fn called_number(invite: &Request, registered: &[&str]) -> Option<E164> {
    let user = user_of(&invite.uri)?;
    if registered.contains(&user.as_str()) {
        let to = invite.to().ok()?.to_owned();
        return number_of(&user_of(&to.uri)?);
    }
    number_of(&user)
}

/// The caller's identity: P-Asserted-Identity from the trunk if present, else From.
fn caller_parts(invite: &Request) -> (Option<String>, Option<String>, Option<String>) {
    let pai = invite
        .headers
        .get("P-Asserted-Identity")
        .and_then(|v| ringfence_sip_types::header::NameAddr::parse(v).ok());
    let from = invite.from().ok().map(|f| f.to_owned());
    let id = pai.or(from);
    let Some(id) = id else { return (None, None, None) };
    let number = user_of(&id.uri);
    let host = id.uri.as_sip().map(|u| u.host.to_string());
    let display = id.display_name.clone();
    (number, host, display)
}

impl EgressGate {
    /// Whether `addr` is one of the trunks' addresses.
    pub(crate) fn is_trunk_address(&self, addr: IpAddr) -> bool {
        self.trunk_list().iter().any(|t| t.targets.contains_ip(addr))
    }

    /// Callers answered without ringing anyone because of a caller-ID block.
    pub fn inbound_blocked(&self) -> u64 {
        self.inbound_blocked.load(Ordering::Relaxed)
    }

    pub(crate) fn decide_inbound<'a>(
        &'a self,
        invite: &'a Request,
        source: Peer,
    ) -> Option<BoxFuture<'a, InboundDecision>> {
        if !self.is_trunk_address(source.addr.ip()) {
            return None;
        }
        let directory = self.directory.clone()?;
        Some(Box::pin(async move { self.route_inbound(directory, invite).await }))
    }

    async fn route_inbound(
        &self,
        directory: Arc<dyn Directory>,
        invite: &Request,
    ) -> InboundDecision {
        let (number, host, display) = caller_parts(invite);
        let caller = number.clone().unwrap_or_default();
        let refuse = |owner, number: String, status: u16, phrase: &str, reason: String| {
            InboundDecision::Refuse {
                owner,
                number,
                caller: caller.clone(),
                status,
                phrase: phrase.to_owned(),
                reason,
            }
        };
        let trunks = self.trunk_list();
        let registered: Vec<&str> = trunks
            .iter()
            .filter(|t| t.config.register)
            .map(|t| match &t.config.auth {
                super::config::TrunkAuth::Digest { username, .. } => username.as_str(),
                super::config::TrunkAuth::Ip => t.config.name.as_str(),
            })
            .collect();
        let Some(did) = called_number(invite, &registered) else {
            let dialled = user_of(&invite.uri).unwrap_or_default();
            return refuse(None, dialled, 404, "Not Found", "not a number".into());
        };
        let routed = match directory.route(did.clone()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "number lookup failed");
                let reason = "store unavailable".to_owned();
                return refuse(None, did.as_str().to_owned(), 500, "Server Internal Error", reason);
            }
        };
        let Some((tenant, extension)) = routed else {
            let reason = "no extension for the number".to_owned();
            return refuse(None, did.as_str().to_owned(), 404, "Not Found", reason);
        };
        let tenant = Arc::new(tenant);
        let rules: Vec<BlockRule> = tenant
            .settings
            .inbound_blocks
            .iter()
            .map(|b| BlockRule {
                kind: match b.kind {
                    ringfence_store::BlockKind::Exact => ringfence_policy::BlockKind::Exact,
                    ringfence_store::BlockKind::Prefix => ringfence_policy::BlockKind::Prefix,
                    ringfence_store::BlockKind::Anonymous => ringfence_policy::BlockKind::Anonymous,
                },
                value: b.value.clone(),
            })
            .collect();
        let privacy = invite.headers.get("Privacy").map(str::to_owned);
        let blocked = Country::parse(tenant.settings.home_country.as_str())
            .ok()
            .and_then(|home| InboundBlockList::new(home, rules).ok())
            .and_then(|list| {
                list.check(&CallerId {
                    number: number.as_deref(),
                    host: host.as_deref(),
                    display_name: display.as_deref(),
                    privacy: privacy.as_deref(),
                })
            });
        if let Some(m) = blocked {
            self.inbound_blocked.fetch_add(1, Ordering::Relaxed);
            let (status, phrase) = m.sip();
            let reason =
                format!("inbound caller-ID block: {} rule {}", m.kind.as_str(), m.rule + 1);
            tracing::info!(tenant = %tenant.id, caller = %caller, reason = %reason, "caller blocked");
            return refuse(
                Some((tenant, extension)),
                did.as_str().to_owned(),
                status,
                phrase,
                reason,
            );
        }
        InboundDecision::Ring { tenant, extension, number: did.as_str().to_owned(), caller }
    }
}
