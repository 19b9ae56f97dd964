//! `ringfence serve`: first-start set-up, then every listener until SIGTERM/SIGINT.
//!
//! First start creates the data directory (mode 0700), the master key, the database, the
//! self-signed certificate (`tls-cert.pem`, `tls-key.pem` with mode 0600) and the super admin,
//! whose one-time password is printed once on stdout. Later starts reuse all of them.
//!
//! The SIP service (UDP, TCP and TLS listeners, the perimeter guard, transaction core,
//! registrar, the B2BUA with media anchoring and the egress gate for calls through trunks)
//! and the admin API run side by side. On a signal both are told at once: the B2BUA ends
//! every call (BYE on both legs) and stores the records, the media relay stops, the fraud
//! engine's state is saved; then the SIP core answers new requests 503 while its
//! transactions finish, the registrar stores what is queued, and the transports close; the
//! admin API drains its connections. The SIP digest nonce key is derived from the master
//! key, so phones keep their nonces across restarts and every node sharing the master key
//! agrees.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use ringfence_admin::{AdminState, provision, tls};
use ringfence_server::b2bua::{B2buaBuilder, B2buaHandle};
use ringfence_server::core::SipService;
use ringfence_server::media_anchor::{self, MediaAnchor};
use ringfence_server::perimeter::{Perimeter, StoreSecurityLog};
use ringfence_sip_proto::transaction::Transport;
use ringfence_store::{Actor, MasterKey};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::commands::open_store;
use crate::config::Settings;

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).with_context(|| format!("creating the data directory {}", dir.display()))
}

/// The certificate and key for HTTPS and SIP over TLS: files from the settings, or the
/// self-signed pair in the data directory (created on first start).
pub fn tls_pair(settings: &Settings) -> anyhow::Result<tls::PemPair> {
    let pair = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => tls::PemPair {
            cert_pem: std::fs::read_to_string(cert)
                .with_context(|| format!("reading tls_cert {}", cert.display()))?,
            key_pem: zeroize::Zeroizing::new(
                std::fs::read_to_string(key)
                    .with_context(|| format!("reading tls_key {}", key.display()))?,
            ),
        },
        (None, None) => {
            let dir = settings.data_dir();
            let (pair, created) = tls::load_or_create_self_signed(&dir, &settings.tls_names())?;
            if created {
                tracing::info!(dir = %dir.display(), "created a self-signed TLS certificate");
            }
            pair
        }
        _ => {
            bail!("set both tls_cert and tls_key, or neither (to use the self-signed certificate)")
        }
    };
    Ok(pair)
}

/// The TLS server configuration for HTTPS.
pub fn https_tls(settings: &Settings) -> anyhow::Result<Arc<tls::ServerConfig>> {
    Ok(tls::https_server_config(&tls_pair(settings)?)?)
}

/// SIGTERM and SIGINT (stop) and SIGHUP (reload the trunks), registered when created: a
/// signal that arrives while the services start is kept, not lost to the default action
/// (which would kill the process unclean).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
                int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
                hup: signal(SignalKind::hangup()).context("installing the SIGHUP handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the next signal.
    async fn recv(&mut self) -> Sig {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => Sig::Stop,
            _ = self.int.recv() => Sig::Stop,
            _ = self.hup.recv() => Sig::Reload,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Sig::Stop
        }
    }
}

/// What a signal asks for.
enum Sig {
    /// SIGTERM, SIGINT: stop.
    Stop,
    /// SIGHUP: read the trunks again.
    Reload,
}

async fn on_shutdown(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Runs Ringfence until a signal.
pub async fn run(settings: &Settings, args: &ServeArgs) -> anyhow::Result<()> {
    let mut signals = Signals::install()?;
    let dir = settings.data_dir();
    create_private_dir(&dir)?;
    // Settings are checked before anything is created or bound.
    let (sip_config, sip_transport) = settings.sip_config()?;
    let calls_config = settings.calls_config()?;
    let media_config = settings.media_config()?;
    let egress_config = settings.egress_config();
    egress_config.validate().map_err(|e| anyhow::anyhow!("[sip.egress]: {e}"))?;
    let perimeter = Arc::new(
        Perimeter::new(settings.guard_config()).map_err(|e| anyhow::anyhow!("[sip.guard]: {e}"))?,
    );
    let admin_config = settings.admin_config()?;
    let addr = settings.https_addr()?;
    let store = open_store(settings).await?;
    if provision::super_admins(&store).await?.is_empty() {
        let email = settings
            .admin_email
            .clone()
            .unwrap_or_else(|| provision::DEFAULT_ADMIN_EMAIL.to_owned());
        let (user, password) =
            provision::bootstrap_super_admin(&store, &email, false, &Actor::system("serve"))
                .await
                .map_err(|e| anyhow::anyhow!("creating the first super admin: {e}"))?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "First start: super admin {} created with one-time password {}\n\
             (shown only now; change it and enroll TOTP at first login)",
            user.email,
            password.as_str()
        )?;
    }
    let demo = if args.demo {
        let country = settings.default_country.as_deref().unwrap_or("US");
        Some(crate::demo::ensure(&store, country).await?)
    } else {
        None
    };
    let pair = tls_pair(settings)?;
    let https = tls::https_server_config(&pair)?;
    let sip_tls = tls::server_config(pair.cert_pem.as_bytes(), pair.key_pem.as_bytes(), &[])?;
    let listener = TcpListener::bind(addr).await.with_context(|| {
        format!("binding the HTTPS admin API to {addr} (set https / RINGFENCE_HTTPS)")
    })?;
    let master = MasterKey::resolve(Some(&dir)).context("loading the master key")?;
    let rules = crate::guard::load_rules(&store, &perimeter).await?;
    if rules > 0 {
        tracing::info!(entries = rules, "guard allow/deny entries loaded");
    }
    let media = match media_config {
        Some(c) => Some(MediaAnchor::start(c).map_err(|e| anyhow::anyhow!("[sip.media]: {e}"))?),
        None => None,
    };
    // Calls that leave (or come in from the phone network): one egress policy, the fraud
    // engine (state restored from the store), the trunks.
    let (egress, egress_driver) = ringfence_server::egress::build(&egress_config, store.clone())
        .await
        .map_err(|e| anyhow::anyhow!("[sip.egress]: {e}"))?;
    let mut calls_builder = B2buaBuilder::new(calls_config, store.clone())
        .gate(egress.clone())
        .observer(egress.clone());
    if let Some((anchor, _)) = &media {
        let observers = ringfence_server::egress::Observers(vec![anchor.clone(), egress.clone()]);
        calls_builder = calls_builder.sdp_rewriter(anchor.clone()).observer(Arc::new(observers));
    }
    let (calls, b2bua) = calls_builder.build().map_err(|e| anyhow::anyhow!("[sip.calls]: {e}"))?;
    let media = media.map(|(anchor, events)| {
        let pump = media_anchor::spawn_timeouts(events, b2bua.clone());
        (anchor, pump)
    });
    let egress_stop = CancellationToken::new();
    let egress_task =
        tokio::spawn(egress_driver.run(b2bua.clone(), egress_stop.clone().cancelled_owned()));
    let sip_stop = CancellationToken::new();
    let sip = SipService::builder(sip_config, sip_transport)
        .nonce_key(*master.derive(NONCE_KEY_LABEL))
        .tls_server(sip_tls)
        .perimeter(perimeter.clone(), Some(Arc::new(StoreSecurityLog(store.clone()))))
        // The fraud engine learns the networks extensions register from.
        .registration_observer(egress.clone())
        .call_handler(calls)
        .start(store.clone(), sip_stop.clone())
        .await
        .context("starting SIP (check sip_udp / sip_tcp / sip_tls and the [sip] table)")?;
    drop(master);
    // A suspension by fraud control takes effect on SIP at once (no cached credential).
    egress.on_suspension(sip.auth().clone());
    let state = AdminState::with_listener(
        store.clone(),
        admin_config,
        Arc::new(SipCacheInvalidator(sip.auth().clone())),
    );
    state.set_guard(Arc::new(crate::guard::PerimeterControl::new(
        perimeter.clone(),
        sip.transports().clone(),
        store.clone(),
    )));
    // Trunks with `register = true` register with their carrier (unregistered at shutdown).
    let mut registrations =
        ringfence_server::egress::Registrations::start(sip.core().clone(), &egress);
    let (reload_tx, mut reload_rx) = tokio::sync::mpsc::channel(4);
    state.set_trunks(Arc::new(crate::trunks::TrunkControl {
        gate: egress.clone(),
        registrations: registrations.watch(),
        reload: reload_tx,
    }));
    let mut trunk_reload =
        crate::trunks::Reload { file: args.config_file.clone(), running: egress_config.clone() };

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks: JoinSet<anyhow::Result<&'static str>> = JoinSet::new();
    let bound = listener.local_addr()?;
    let shutdown = on_shutdown(stop_rx.clone());
    tasks.spawn(async move {
        ringfence_admin::serve(listener, https, state, shutdown).await?;
        Ok("admin API")
    });
    tracing::info!(addr = %bound, backend = store.backend_name(), "admin API ready on https://{bound}/api/v1");
    if let Some(accounts) = demo {
        let text = crate::demo::instructions(
            accounts.as_deref(),
            sip.local_addr(Transport::Udp),
            sip.local_addr(Transport::Tls),
        );
        let mut out = std::io::stdout().lock();
        write!(out, "{text}")?;
        out.flush()?;
    }
    let sip_token = sip_stop.clone();
    tasks.spawn(async move {
        sip.stopped().await;
        if sip_token.is_cancelled() { Ok("SIP") } else { bail!("SIP stopped unexpectedly") }
    });
    tracing::info!("ready");

    // SIGHUP or the admin API: the trunks are read again from the config file.
    let ended = loop {
        tokio::select! {
            sig = signals.recv() => match sig {
                Sig::Stop => break None,
                Sig::Reload => {
                    let _ = trunk_reload.apply(&egress, &mut registrations).await;
                }
            },
            Some(reply) = reload_rx.recv() => {
                let done = trunk_reload.apply(&egress, &mut registrations).await;
                let _ = reply.send(done);
            }
            Some(done) = tasks.join_next() => break Some(done),
        }
    };
    match ended {
        None => tracing::info!("shutting down"),
        Some(done) => {
            // A service ended on its own: stop the others too, then report.
            let _ = stop_tx.send(true);
            registrations.stop().await;
            end_calls(&b2bua).await;
            stop_media(media.as_ref()).await;
            egress_stop.cancel();
            let _ = egress_task.await;
            sip_stop.cancel();
            while tasks.join_next().await.is_some() {}
            store.close().await;
            let name = done.context("service task panicked")??;
            bail!("{name} stopped unexpectedly");
        }
    }
    let _ = stop_tx.send(true);
    registrations.stop().await;
    end_calls(&b2bua).await;
    stop_media(media.as_ref()).await;
    // Saves the fraud engine's state (daily counters, baselines) before the store closes.
    egress_stop.cancel();
    let _ = egress_task.await;
    sip_stop.cancel();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(name)) => tracing::info!("{name} stopped"),
            Ok(Err(e)) => tracing::error!(error = %e, "a service failed while stopping"),
            Err(e) => tracing::error!(error = %e, "a service task panicked"),
        }
    }
    store.close().await;
    Ok(())
}

/// Ends every call (BYE on both legs) and stores the call records, before the SIP
/// service stops and drains those BYE transactions.
async fn end_calls(b2bua: &B2buaHandle) {
    let left = b2bua.shutdown().await;
    if left > 0 {
        tracing::warn!(calls = left, "calls had not ended when the shutdown grace ran out");
    }
}

/// Stops the media relay once the calls have ended (their ports are released).
async fn stop_media(media: Option<&(Arc<MediaAnchor>, tokio::task::JoinHandle<()>)>) {
    if let Some((anchor, pump)) = media {
        anchor.engine().shutdown().await;
        pump.abort();
    }
}

/// Forgets the SIP authenticator's cached credentials and tenant policy when the admin API
/// changes them, so a disabled extension or a reset password stops working at once. The
/// B2BUA's cached extensions (restrictions, forwarding) follow the same invalidations.
struct SipCacheInvalidator(Arc<ringfence_server::auth::Authenticator>);

impl ringfence_admin::ChangeListener for SipCacheInvalidator {
    fn extension_changed(&self, domain: &str, number: &str) {
        self.0.invalidate_extension(domain, number);
    }
    fn tenant_changed(&self, domain: &str) {
        self.0.invalidate_tenant(domain);
    }
}

/// Label of the SIP digest nonce key derived from the master key.
const NONCE_KEY_LABEL: &str = "ringfence/v1/sip-nonce";
