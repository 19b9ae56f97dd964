//! Ringfence store: domain types, repository traits, the SQLite and PostgreSQL stores, and
//! encryption at rest.
//!
//! Place in the data flow: the admin API writes tenants, users, extensions, numbers, policy,
//! tokens and the perimeter guard's permanent allow/deny entries here; the registrar reads SIP accounts and writes registration bindings; the
//! B2BUA and the fraud engine read tenant policy and write call records; every change made on
//! someone's behalf lands in the hash-chained audit log in the same transaction.
//!
//! - [`types`] — what is stored ([`Tenant`], [`User`], [`Extension`], ...).
//! - [`repo`] — narrow async traits ([`TenantRepo`], [`ExtensionRepo`], ...) and [`Store`],
//!   which bundles them. Every query that touches tenant data takes the tenant id.
//! - [`crypto`] — master key, per-tenant data keys, AES-256-GCM field encryption.
//!
//! Timestamps are stored in UTC with microsecond precision; use [`now`] for values that must
//! compare equal after a round trip.
//!
//! Backends: [`SqliteStore`] (one file, `ringfence.db`, in the data directory) and
//! [`PgStore`] (a URL), both [`SqlStore`]s over native sqlx pools with embedded migrations;
//! [`AnyStore`] picks one at runtime and implements every trait too.
//!
//! ```no_run
//! use ringfence_store::*;
//!
//! # async fn demo() -> Result<()> {
//! let dir = std::path::Path::new("./ringfence-data");
//! let store = AnyStore::open_sqlite(dir, MasterKey::resolve(Some(dir))?).await?;
//! let actor = Actor::system("cli");
//! let tenant = store
//!     .create_tenant(
//!         NewTenant {
//!             name: "Acme".into(),
//!             domain: SipDomain::parse("acme.example.com")?,
//!             settings: TenantSettings::new(CountryCode::parse("DE")?),
//!         },
//!         &actor,
//!     )
//!     .await?;
//! let md5_ha1 = [0u8; 16]; // MD5("1001:acme.example.com:secret"), computed by the caller
//! let sha256_ha1 = [0u8; 32]; // SHA-256 of the same string
//! let ext = store
//!     .create_extension(
//!         tenant.id,
//!         NewExtension {
//!             number: ExtensionNumber::parse("1001")?,
//!             display_name: "Reception".into(),
//!             owner_user_id: None,
//!             enabled: true,
//!             sip_credentials: Some(SipCredentials::new(&tenant.domain, md5_ha1, sha256_ha1)),
//!             pin_hash: None,
//!         },
//!         &actor,
//!     )
//!     .await?;
//! // The registrar's lookup: tenant by domain, extension by number, credentials decrypted.
//! let account = store.find_sip_account(&tenant.domain, &ext.number).await?;
//! assert!(account.is_some());
//! # Ok(())
//! # }
//! ```

mod any;
mod backend;
pub mod crypto;
mod error;
pub mod repo;
mod time_util;
pub mod types;

pub use any::AnyStore;
pub use backend::{PgStore, SqlStore, SqliteStore};
pub use crypto::{Aad, MasterKey, TenantCipher};
pub use error::{Result, StoreError};
pub use repo::{
    AuditRepo, CallRecordRepo, ExtensionRepo, FraudRepo, GuardRuleRepo, NumberRepo,
    RegistrationRepo, Store, TenantRepo, TokenRepo, UserRepo, WebhookRepo,
};
pub use time_util::{now, truncate as truncate_time};
pub use types::*;
