//! The offline provisioning commands: they open the store directly (SQLite in the data
//! directory, or PostgreSQL), apply the same rules as the admin API, print the result (JSON
//! with `--json`, in the documented stable shape) and change nothing on error.

use std::io::Write as _;

use anyhow::{Context as _, anyhow, bail};
use ringfence_admin::provision;
use ringfence_store::{Actor, AnyStore, EncryptionRequirement, Role, SipDomain, TenantRepo as _};
use serde_json::json;

use crate::cli::{
    AdminCommand, Encryption, ExtensionCommand, TenantCommand, TokenCommand, TokenRole,
};
use crate::config::Settings;

/// Opens the store the settings point at, creating the data directory and master key on
/// first use (or taking the key from `RINGFENCE_MASTER_KEY`).
pub async fn open_store(settings: &Settings) -> anyhow::Result<AnyStore> {
    let dir = settings.data_dir();
    let master = ringfence_store::MasterKey::resolve(Some(&dir))
        .with_context(|| format!("loading the master key for data directory {}", dir.display()))?;
    match &settings.database_url {
        Some(url) => AnyStore::connect_postgres(url, master)
            .await
            .context("connecting to PostgreSQL (check --database-url / RINGFENCE_DATABASE_URL)"),
        None => AnyStore::open_sqlite(&dir, master)
            .await
            .with_context(|| format!("opening the database in {}", dir.display())),
    }
}

/// `admin bootstrap --json`: `{"id": ..., "email": ..., "password": ...}`.
#[derive(serde::Serialize)]
struct BootstrapOut<'a> {
    id: String,
    email: String,
    password: &'a str,
}

/// `tenant create --json`: `{"id": ..., "name": ..., "domain": ...}`.
#[derive(serde::Serialize)]
struct TenantOut<'a> {
    id: String,
    name: &'a str,
    domain: &'a str,
}

/// `extension create --json`: `{"tenant": ..., "number": ..., "username": ..., "password": ...}`.
#[derive(serde::Serialize)]
struct ExtensionOut<'a> {
    tenant: &'a str,
    number: &'a str,
    username: &'a str,
    password: &'a str,
}

fn actor() -> Actor {
    Actor::system("cli")
}

/// Turns an admin-crate error into a message that says what to do.
fn explain(e: ringfence_admin::Error) -> anyhow::Error {
    let b = e.body();
    match b.field {
        Some(f) => anyhow!("invalid --{}: {}", f.replace('_', "-"), e),
        None => anyhow!("{}", b.message),
    }
}

fn print(json_out: bool, value: serde_json::Value, human: String) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json_out {
        writeln!(out, "{value}")?;
    } else {
        writeln!(out, "{human}")?;
    }
    Ok(())
}

async fn tenant_by_domain(
    store: &AnyStore,
    domain: &str,
) -> anyhow::Result<ringfence_store::Tenant> {
    let d = SipDomain::parse(domain).map_err(|e| anyhow!("invalid --tenant: {e}"))?;
    store.get_tenant_by_domain(&d).await?.ok_or_else(|| {
        anyhow!("no tenant with domain {d}; create it first with `ringfence tenant create --name NAME --domain {d}`")
    })
}

/// `ringfence admin bootstrap`.
pub async fn admin(settings: &Settings, cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Bootstrap { email, force_new, json } => {
            let store = open_store(settings).await?;
            let email = email
                .or_else(|| settings.admin_email.clone())
                .unwrap_or_else(|| provision::DEFAULT_ADMIN_EMAIL.to_owned());
            let r = provision::bootstrap_super_admin(&store, &email, force_new, &actor()).await;
            store.close().await;
            let (user, password) = r.map_err(explain)?;
            print(
                json,
                json!(BootstrapOut {
                    id: user.id.to_string(),
                    email: user.email.to_string(),
                    password: password.as_str()
                }),
                format!(
                    "Super admin created.\n  email:    {}\n  password: {}\n\
                     This one-time password is shown only now. At first login you must change it \
                     and enroll TOTP.",
                    user.email,
                    password.as_str()
                ),
            )
        }
    }
}

/// `ringfence tenant create`.
pub async fn tenant(settings: &Settings, cmd: TenantCommand) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Create { name, domain, encryption, country, json } => {
            let encryption = match encryption {
                Encryption::Required => EncryptionRequirement::Required,
                Encryption::Preferred => EncryptionRequirement::Preferred,
                Encryption::Optional => EncryptionRequirement::Optional,
            };
            let country = country
                .or_else(|| settings.default_country.clone())
                .unwrap_or_else(|| "US".to_owned());
            let store = open_store(settings).await?;
            let r =
                provision::create_tenant(&store, &name, &domain, &country, encryption, &actor())
                    .await;
            store.close().await;
            let t = r.map_err(|e| match e {
                ringfence_admin::Error::Store(ringfence_store::StoreError::Conflict { .. }) => {
                    anyhow!("a tenant with domain {domain} already exists; pick another domain")
                }
                ringfence_admin::Error::Store(ringfence_store::StoreError::Invalid {
                    field: "name",
                    ..
                }) => {
                    anyhow!("invalid --name: {e}")
                }
                ringfence_admin::Error::Invalid { ref field, ref message }
                    if field == "home_country" =>
                {
                    anyhow!("invalid --country: {message}")
                }
                other => explain(other),
            })?;
            print(
                json,
                json!(TenantOut { id: t.id.to_string(), name: &t.name, domain: t.domain.as_str() }),
                format!(
                    "Tenant created.\n  id:         {}\n  name:       {}\n  domain:     {}\n  \
                     encryption: {}",
                    t.id,
                    t.name,
                    t.domain,
                    t.settings.encryption.as_str()
                ),
            )
        }
    }
}

/// `ringfence extension create`.
pub async fn extension(settings: &Settings, cmd: ExtensionCommand) -> anyhow::Result<()> {
    match cmd {
        ExtensionCommand::Create { tenant, number, display_name, json } => {
            let store = open_store(settings).await?;
            let r = async {
                let t = tenant_by_domain(&store, &tenant).await?;
                let input = provision::ExtensionInput {
                    number: number.clone(),
                    display_name,
                    owner: None,
                    enabled: true,
                    pin: None,
                };
                let (ext, pw) = provision::create_extension(&store, &t, input, &actor())
                    .await
                    .map_err(|e| match e {
                        ringfence_admin::Error::Store(ringfence_store::StoreError::Conflict {
                            ..
                        }) => {
                            anyhow!("extension {number} already exists in {}", t.domain)
                        }
                        other => explain(other),
                    })?;
                anyhow::Ok((t, ext, pw))
            }
            .await;
            store.close().await;
            let (t, ext, pw) = r?;
            print(
                json,
                json!(ExtensionOut {
                    tenant: t.domain.as_str(),
                    number: ext.number.as_str(),
                    username: ext.number.as_str(),
                    password: pw.as_str(),
                }),
                format!(
                    "Extension created.\n  tenant:   {}\n  number:   {}\n  username: {}\n  \
                     password: {}\nThe password is shown only now.",
                    t.domain,
                    ext.number,
                    ext.number,
                    pw.as_str()
                ),
            )
        }
    }
}

/// `ringfence token create`.
pub async fn token(settings: &Settings, cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create { role, tenant, name, json } => {
            let role = match role {
                TokenRole::SuperAdmin => Role::SuperAdmin,
                TokenRole::TenantAdmin => Role::TenantAdmin,
            };
            match (role, &tenant) {
                (Role::SuperAdmin, Some(_)) => {
                    bail!("super_admin tokens belong to no tenant; leave out --tenant")
                }
                (Role::TenantAdmin, None) => {
                    bail!("tenant_admin tokens need --tenant DOMAIN")
                }
                _ => {}
            }
            let store = open_store(settings).await?;
            let r = async {
                let scope = match &tenant {
                    Some(d) => Some(tenant_by_domain(&store, d).await?.id),
                    None => None,
                };
                provision::create_token(&store, scope, role, &name, &actor()).await.map_err(explain)
            }
            .await;
            store.close().await;
            let (t, secret) = r?;
            print(
                json,
                json!({"token": secret.as_str()}),
                format!(
                    "API token created.\n  id:    {}\n  role:  {}\n  token: {}\nThe token is \
                     shown only now; send it as `Authorization: Bearer <token>`.",
                    t.id,
                    t.role.as_str(),
                    secret.as_str()
                ),
            )
        }
    }
}
