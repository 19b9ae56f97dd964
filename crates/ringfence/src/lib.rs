//! The `ringfence` binary as a library: command line, configuration and start-up, so that
//! tests can drive the same code the binary runs.
//!
//! Place in the data flow: the operator's entry point. `ringfence serve` wires the store, the
//! SIP service (transports, core, registrar, calls) and the admin API together; the provisioning commands write to the
//! store directly through the same rules as the admin API.

pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod guard;
pub mod serve;
mod trunks;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::config::Settings;

/// Parses the command line, merges the settings and runs the command.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let file = match &cli.config {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    let settings = cli.settings.clone().or(file);
    let serving = matches!(cli.command, Command::Serve(_));
    let filter =
        settings.log.clone().unwrap_or_else(|| if serving { "info" } else { "warn" }.into());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter)
                .map_err(|e| anyhow::anyhow!("log = {filter:?}: {e}"))?,
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("starting the async runtime: {e}"))?;
    rt.block_on(async move {
        match cli.command {
            Command::Serve(mut args) => {
                args.config_file = cli.config.clone();
                serve::run(&settings, &args).await
            }
            Command::Admin(c) => commands::admin(&settings, c).await,
            Command::Tenant(c) => commands::tenant(&settings, c).await,
            Command::Extension(c) => commands::extension(&settings, c).await,
            Command::Token(c) => commands::token(&settings, c).await,
        }
    })
}
