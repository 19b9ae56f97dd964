//! The command line: global settings (see [`crate::config`]) and the subcommands.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Settings;

/// Ringfence: a secure, multi-tenant cloud PBX.
///
/// Every setting can be given as a flag, as a RINGFENCE_* environment variable, or in the
/// config file; a flag wins over the environment, which wins over the file.
#[derive(Debug, Parser)]
#[command(name = "ringfence", version, about, long_about)]
pub struct Cli {
    /// TOML config file (keys as the long flags below, with `_` for `-`)
    #[arg(long, env = "RINGFENCE_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Settings
    #[command(flatten)]
    pub settings: Settings,
    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Ringfence: on first start create the data directory, master key, self-signed
    /// certificate and the super admin (its one-time password is printed once); then serve
    /// SIP (UDP, TCP, TLS) and the HTTPS admin API until SIGTERM or SIGINT
    Serve(ServeArgs),
    /// Platform administration
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Tenants
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Extensions
    #[command(subcommand)]
    Extension(ExtensionCommand),
    /// API tokens
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `ringfence serve` options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Also create (once) a demo tenant with two extensions and print their SIP credentials
    /// and the settings a softphone needs
    #[arg(long)]
    pub demo: bool,
    /// The config file, read again on SIGHUP for the trunks (set from `--config`)
    #[arg(skip)]
    pub config_file: Option<PathBuf>,
}

/// `ringfence admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the super admin with a one-time password, printed once; it must be changed and
    /// TOTP enrolled at first login. Refuses if a super admin exists (see --force-new)
    Bootstrap {
        /// Login email of the super admin [default: the admin_email setting]
        #[arg(long)]
        email: Option<String>,
        /// Create another super admin even though one exists
        #[arg(long)]
        force_new: bool,
        /// Print JSON: {"id": ..., "email": ..., "password": ...}
        #[arg(long)]
        json: bool,
    },
}

/// Encryption requirement of a tenant.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Encryption {
    /// TLS + SRTP only
    Required,
    /// Encrypted when offered
    Preferred,
    /// No requirement
    Optional,
}

/// Roles a token can have.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum TokenRole {
    /// All tenants
    SuperAdmin,
    /// One tenant (needs --tenant)
    TenantAdmin,
}

/// `ringfence tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant. JSON: {"id": ..., "name": ..., "domain": ...}
    Create {
        /// Display name
        #[arg(long)]
        name: String,
        /// SIP domain, also the digest realm (fixed once created)
        #[arg(long)]
        domain: String,
        /// TLS + SRTP requirement
        #[arg(long, value_enum, default_value = "required")]
        encryption: Encryption,
        /// Home country, ISO 3166-1 alpha-2 [default: the default_country setting]
        #[arg(long)]
        country: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

/// `ringfence extension ...`
#[derive(Debug, Subcommand)]
pub enum ExtensionCommand {
    /// Create an extension with a generated SIP password, printed once.
    /// JSON: {"tenant": DOMAIN, "number": N, "username": ..., "password": ...}
    Create {
        /// The tenant's SIP domain
        #[arg(long)]
        tenant: String,
        /// Extension number (2 to 8 digits, not starting with 0)
        #[arg(long)]
        number: String,
        /// Caller name
        #[arg(long, default_value = "")]
        display_name: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

/// `ringfence token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token, printed once. JSON: {"token": ...}
    Create {
        /// Powers of the token
        #[arg(long, value_enum)]
        role: TokenRole,
        /// The tenant's SIP domain (for tenant_admin tokens)
        #[arg(long)]
        tenant: Option<String>,
        /// Label shown in token lists
        #[arg(long, default_value = "cli")]
        name: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}
