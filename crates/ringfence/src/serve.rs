//! `ringfence serve`: first-start set-up, then every listener until SIGTERM/SIGINT.
//!
//! First start creates the data directory (mode 0700), the master key, the database, the
//! self-signed certificate (`tls-cert.pem`, `tls-key.pem` with mode 0600) and the super admin,
//! whose one-time password is printed once on stdout. Later starts reuse all of them.
//!
//! Each listener runs as a task that takes a shutdown future; on a signal every task is told
//! at once and the command waits for all of them to drain. Adding the SIP listeners means
//! spawning more tasks in [`run`].

use std::io::Write as _;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use ringfence_admin::{AdminState, provision, tls};
use ringfence_store::Actor;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

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

/// The TLS server configuration for HTTPS: files from the settings, or the self-signed pair
/// in the data directory (created on first start).
pub fn https_tls(settings: &Settings) -> anyhow::Result<Arc<tls::ServerConfig>> {
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
    Ok(tls::https_server_config(&pair)?)
}

/// Waits for SIGTERM or SIGINT.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn on_shutdown(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Runs Ringfence until a signal.
pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let dir = settings.data_dir();
    create_private_dir(&dir)?;
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
    let tls = https_tls(settings)?;
    let addr = settings.https_addr()?;
    let listener = TcpListener::bind(addr).await.with_context(|| {
        format!("binding the HTTPS admin API to {addr} (set https / RINGFENCE_HTTPS)")
    })?;
    let state = AdminState::new(store.clone(), settings.admin_config()?);

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks: JoinSet<anyhow::Result<&'static str>> = JoinSet::new();
    let bound = listener.local_addr()?;
    let shutdown = on_shutdown(stop_rx.clone());
    tasks.spawn(async move {
        ringfence_admin::serve(listener, tls, state, shutdown).await?;
        Ok("admin API")
    });
    tracing::info!(addr = %bound, backend = store.backend_name(), "admin API ready on https://{bound}/api/v1");

    tokio::select! {
        () = signal() => tracing::info!("shutting down"),
        Some(done) = tasks.join_next() => {
            // A listener ended on its own: stop the others too, then report.
            let _ = stop_tx.send(true);
            while tasks.join_next().await.is_some() {}
            store.close().await;
            let name = done.context("listener task panicked")??;
            bail!("{name} stopped unexpectedly");
        }
    }
    let _ = stop_tx.send(true);
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(name)) => tracing::info!("{name} stopped"),
            Ok(Err(e)) => tracing::error!(error = %e, "listener failed while stopping"),
            Err(e) => tracing::error!(error = %e, "listener task panicked"),
        }
    }
    store.close().await;
    Ok(())
}
