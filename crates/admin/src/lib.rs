//! Ringfence admin API: the HTTPS REST interface through which operators and customers
//! control the platform, and the provisioning logic the operator CLI shares with it.
//!
//! Place in the data flow: people and automation -> HTTPS (rustls) -> this crate
//! (authentication, RBAC, validation, credential policy) -> the store (every change with its
//! audit event in one transaction). The SIP side reads what is written here: tenants,
//! extensions with their HA1s, policies and limits.
//!
//! - [`serve`] runs the API on a listener with a rustls config until a shutdown future fires.
//! - [`router`] builds the axum router (REST under `/api/v1`, OpenAPI at
//!   `/api/v1/openapi.json`, see [`openapi`]).
//! - [`auth`]: sessions (cookie + CSRF token), API tokens, TOTP, login throttling.
//! - [`policy`]: password, SIP password and PIN rules; generated secrets.
//! - [`provision`]: bootstrap of the first super admin, tenant, extension and token creation
//!   (also used by the `ringfence` CLI).
//! - [`guard`]: the running perimeter guard behind the ban, allow/deny and metrics
//!   endpoints ([`guard::GuardControl`], implemented by the binary).
//! - [`tls`]: self-signed certificate on first start; rustls server configs (ring provider,
//!   TLS 1.2+), for HTTPS and SIP over TLS alike.

pub mod api;
pub mod auth;
mod error;
pub mod extract;
pub mod guard;
pub mod openapi;
pub mod policy;
pub mod provision;
mod routes;
mod server;
mod state;
pub mod tls;
pub mod trunks;

pub use error::{Error, ErrorBody, Result};
pub use routes::router;
pub use server::{
    DRAIN_TIMEOUT, HANDSHAKE_TIMEOUT, HEADER_TIMEOUT, MAX_CONNECTIONS, serve, serve_router,
};
pub use state::{AdminConfig, AdminState, ChangeListener};
