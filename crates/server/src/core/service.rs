//! [`SipService`]: transports, core, authenticator, registrar and call handler, started
//! together and stopped in the right order.
//!
//! Shutdown order: the core stops taking requests and drains its transactions (the
//! transports keep carrying their messages meanwhile); then the registrar's writer
//! stores what is queued and the sweeper stops; then the transports close.

use std::sync::Arc;

use rand::RngCore as _;
use ringfence_sip_proto::transaction::Transport;
use ringfence_store::{ExtensionRepo, RegistrationRepo, TenantRepo};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::call::{AuthOnlyCallHandler, CallHandler};
use super::checks::REGISTRAR_SUPPORTED;
use super::{Core, CoreError, CoreHandle, Routes};
use crate::auth::{
    AuthEvent, AuthObserver, Authenticator, FailureReason, NoObserver, StoreAccounts,
};
use crate::config::ServerConfig;
use crate::options::OptionsResponder;
use crate::perimeter::{self, Perimeter, SecurityLog};
use crate::registrar::{NoRegistrationObserver, Registrar, RegistrationObserver, StoreBindings};
use crate::transport::{Guard, TransportConfig, Transports, TransportsBuilder};

/// What a call handler is built from.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The core.
    pub core: CoreHandle,
    /// The authenticator (407 challenges for INVITE and friends).
    pub auth: Arc<Authenticator>,
    /// The registrar ([`Registrar::locate`]).
    pub registrar: Registrar,
}

/// Builds the call handler once the core, authenticator and registrar exist.
pub type CallFactory = Box<dyn FnOnce(&CallContext) -> Box<dyn CallHandler> + Send>;
type TransportHook = Box<dyn FnOnce(TransportsBuilder) -> TransportsBuilder + Send>;

/// Configures a [`SipService`].
pub struct SipServiceBuilder {
    config: ServerConfig,
    transport: TransportConfig,
    nonce_key: [u8; 32],
    observer: Arc<dyn AuthObserver>,
    calls: Option<CallFactory>,
    transports: Vec<TransportHook>,
    perimeter: Option<Arc<Perimeter>>,
    security_log: Option<Arc<dyn SecurityLog>>,
    registration_observers: Vec<Arc<dyn RegistrationObserver>>,
}

impl std::fmt::Debug for SipServiceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipServiceBuilder")
            .field("config", &self.config)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl SipServiceBuilder {
    /// The key signing digest nonces (default: random per start, which re-challenges
    /// every phone after a restart). Keep one across restarts in production.
    pub fn nonce_key(mut self, key: [u8; 32]) -> Self {
        self.nonce_key = key;
        self
    }

    /// Also hears about registrations (the egress gate: the fraud engine learns the
    /// networks each extension registers from). The perimeter guard hears them anyway.
    pub fn registration_observer(mut self, observer: Arc<dyn RegistrationObserver>) -> Self {
        self.registration_observers.push(observer);
        self
    }

    /// Who hears about authentication outcomes (the perimeter guard). Default: nobody.
    pub fn auth_observer(mut self, observer: Arc<dyn AuthObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Builds the call handler (the B2BUA). Default: [`AuthOnlyCallHandler`].
    pub fn call_handler(
        mut self,
        factory: impl FnOnce(&CallContext) -> Box<dyn CallHandler> + Send + 'static,
    ) -> Self {
        self.calls = Some(Box::new(factory));
        self
    }

    /// The TLS server configuration (required when TLS listeners are configured).
    pub fn tls_server(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.transports.push(Box::new(move |b| b.tls_server(config)));
        self
    }

    /// The TLS client configuration for outgoing TLS connections.
    pub fn tls_client(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.transports.push(Box::new(move |b| b.tls_client(config)));
        self
    }

    /// The transports' pre-parse guard (a bare hook; [`SipServiceBuilder::perimeter`] wires
    /// the whole perimeter guard and replaces it).
    pub fn guard(mut self, guard: impl Guard) -> Self {
        self.transports.push(Box::new(move |b| b.guard(guard)));
        self
    }

    /// The perimeter guard, wired in front of everything: the transports' hook, the
    /// authenticator (besides the [`SipServiceBuilder::auth_observer`]), the registrar's
    /// known devices (the stored UDP bindings seed it at start), and a once-a-second task
    /// for housekeeping and security events (to `log`, the audit log, when given).
    pub fn perimeter(
        mut self,
        perimeter: Arc<Perimeter>,
        log: Option<Arc<dyn SecurityLog>>,
    ) -> Self {
        self.perimeter = Some(perimeter);
        self.security_log = log;
        self
    }

    /// Binds the transports, loads the registrar's bindings from `store` and starts
    /// everything. It runs until `shutdown` fires (see [`SipService::stopped`]).
    ///
    /// # Errors
    /// Invalid configuration, a listener that cannot be bound, or a store that cannot be
    /// read.
    pub async fn start<S>(
        self,
        store: S,
        shutdown: CancellationToken,
    ) -> Result<SipService, CoreError>
    where
        S: TenantRepo + ExtensionRepo + RegistrationRepo + Clone + Send + Sync + 'static,
    {
        self.config.validate().map_err(CoreError::Config)?;
        let transport_stop = CancellationToken::new();
        let mut tb = Transports::builder(self.transport);
        for hook in self.transports {
            tb = hook(tb);
        }
        if let Some(p) = &self.perimeter {
            tb = tb.guard(p.transport_hook());
        }
        let shards = self.config.core.shard_count();
        let (transports, inbound) = tb.bind_sharded(transport_stop.clone(), shards).await?;
        let (core, handle) = Core::new(&self.config.core, transports.clone());
        let observer: Arc<dyn AuthObserver> = match &self.perimeter {
            Some(p) => Arc::new(Both(p.clone(), self.observer)),
            None => self.observer,
        };
        let mut observers = self.registration_observers;
        if let Some(p) = &self.perimeter {
            observers.insert(0, p.clone());
        }
        let registrations: Arc<dyn RegistrationObserver> = match observers.len() {
            0 => Arc::new(NoRegistrationObserver),
            1 => observers.remove(0),
            _ => Arc::new(crate::registrar::RegistrationObservers(observers)),
        };
        let auth = Arc::new(Authenticator::new(
            &self.config.auth,
            &self.nonce_key,
            Arc::new(StoreAccounts(store.clone())),
            observer,
        ));
        let tracker = TaskTracker::new();
        let registrar_stop = CancellationToken::new();
        let registrar = match Registrar::start(
            self.config.registrar.clone(),
            Arc::new(StoreBindings(store)),
            auth.clone(),
            handle.clone(),
            &tracker,
            registrar_stop.clone(),
            registrations,
        )
        .await
        {
            Ok(r) => r,
            Err(e) => {
                transport_stop.cancel();
                transports.closed().await;
                return Err(e);
            }
        };
        if let Some(p) = &self.perimeter {
            // Stopped with the registrar, after the core: the events of the drain are written.
            tracker.spawn(perimeter::driver::run(
                p.clone(),
                self.security_log,
                registrar_stop.clone(),
            ));
        }
        let ctx =
            CallContext { core: handle.clone(), auth: auth.clone(), registrar: registrar.clone() };
        let calls = match self.calls {
            Some(factory) => factory(&ctx),
            None => Box::new(AuthOnlyCallHandler::new(auth.clone())),
        };
        let mut supported: Vec<&str> = REGISTRAR_SUPPORTED.to_vec();
        supported
            .extend(calls.supported().iter().copied().filter(|t| !REGISTRAR_SUPPORTED.contains(t)));
        let routes = Routes {
            register: Arc::new(registrar.clone()),
            options: OptionsResponder::new(&supported),
            calls,
        };
        let t = transports.clone();
        let task = tokio::spawn(async move {
            core.run(inbound, routes, shutdown).await;
            registrar_stop.cancel();
            tracker.close();
            tracker.wait().await;
            transport_stop.cancel();
            t.closed().await;
        });
        Ok(SipService {
            core: handle,
            auth,
            registrar,
            transports,
            perimeter: self.perimeter,
            task,
        })
    }
}

/// The running SIP side of Ringfence.
#[derive(Debug)]
pub struct SipService {
    core: CoreHandle,
    auth: Arc<Authenticator>,
    registrar: Registrar,
    transports: Transports,
    perimeter: Option<Arc<Perimeter>>,
    task: JoinHandle<()>,
}

impl SipService {
    /// Starts configuring: server settings and listeners.
    pub fn builder(config: ServerConfig, transport: TransportConfig) -> SipServiceBuilder {
        let mut nonce_key = [0u8; 32];
        rand::rng().fill_bytes(&mut nonce_key);
        SipServiceBuilder {
            config,
            transport,
            nonce_key,
            observer: Arc::new(NoObserver),
            calls: None,
            transports: Vec::new(),
            perimeter: None,
            security_log: None,
            registration_observers: Vec::new(),
        }
    }

    /// The core.
    pub fn core(&self) -> &CoreHandle {
        &self.core
    }

    /// The authenticator (cache invalidation for the admin API).
    pub fn auth(&self) -> &Arc<Authenticator> {
        &self.auth
    }

    /// The registrar.
    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    /// The transports (bound addresses, counters).
    pub fn transports(&self) -> &Transports {
        &self.transports
    }

    /// The perimeter guard, when one was configured.
    pub fn perimeter(&self) -> Option<&Arc<Perimeter>> {
        self.perimeter.as_ref()
    }

    /// The guard's (when configured), the transports' and the process's metrics in the
    /// Prometheus text format ([`perimeter::METRICS_CONTENT_TYPE`]).
    pub fn render_metrics(&self) -> String {
        perimeter::render_metrics(self.perimeter.as_deref(), Some(&self.transports.stats()))
    }

    /// The first bound address for `transport`.
    pub fn local_addr(&self, transport: Transport) -> Option<std::net::SocketAddr> {
        self.core.local_addr(transport)
    }

    /// Waits until shutdown has completed (the token given to
    /// [`SipServiceBuilder::start`] fired, transactions drained, bindings stored,
    /// transports closed).
    pub async fn stopped(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the SIP service task failed");
        }
    }
}

/// Two authentication observers: the perimeter guard first (its word on `admit` is final),
/// then the one configured.
struct Both(Arc<Perimeter>, Arc<dyn AuthObserver>);

impl AuthObserver for Both {
    fn admit(
        &self,
        realm: &str,
        username: &str,
        source: &ringfence_sip_proto::transaction::Peer,
    ) -> bool {
        self.0.admit(realm, username, source) && self.1.admit(realm, username, source)
    }

    fn auth_failed(&self, event: &AuthEvent<'_>, reason: FailureReason) {
        self.0.auth_failed(event, reason);
        self.1.auth_failed(event, reason);
    }

    fn auth_succeeded(&self, event: &AuthEvent<'_>) {
        self.0.auth_succeeded(event);
        self.1.auth_succeeded(event);
    }
}
