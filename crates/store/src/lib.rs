//! Ringfence store: domain types, repository traits, the SQLite and PostgreSQL stores, and
//! encryption at rest.
//!
//! Place in the data flow: the admin API writes tenants, users, extensions, numbers, policy
//! and tokens here; the registrar reads SIP accounts and writes registration bindings; the
//! B2BUA and the fraud engine read tenant policy and write call records; every change made on
//! someone's behalf lands in the hash-chained audit log in the same transaction.
//!
//! - [`types`](crate::types) — what is stored ([`Tenant`], [`User`], [`Extension`], ...).
//! - [`repo`] — narrow async traits ([`TenantRepo`], [`ExtensionRepo`], ...) and [`Store`],
//!   which bundles them. Every query that touches tenant data takes the tenant id.
//! - [`crypto`] — master key, per-tenant data keys, AES-256-GCM field encryption.
//!
//! Timestamps are stored in UTC with microsecond precision; use [`now`] for values that must
//! compare equal after a round trip.

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
    AuditRepo, CallRecordRepo, ExtensionRepo, NumberRepo, RegistrationRepo, Store, TenantRepo,
    TokenRepo, UserRepo,
};
pub use time_util::{now, truncate as truncate_time};
pub use types::*;
