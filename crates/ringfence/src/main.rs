//! The `ringfence` binary: command line, configuration and start-up.

use clap::Parser;

/// Ringfence: a secure, multi-tenant cloud PBX.
#[derive(Debug, Parser)]
#[command(name = "ringfence", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
