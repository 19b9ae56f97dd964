//! Who is calling: authentication of each request (API token or session cookie), CSRF and the
//! enrollment gates, and the role checks handlers use.
//!
//! - `Authorization: Bearer rft_...`: an API token (looked up by SHA-256); not subject to CSRF
//!   (browsers never add this header on their own) nor to the TOTP and password gates.
//! - Cookie [`SESSION_COOKIE`]: a login session. Writes (POST, PUT, PATCH, DELETE) must carry
//!   the session's CSRF token in `X-CSRF-Token` (double submit: the token was returned in the
//!   login response body). The user is re-read from the store on every request.
//!
//! Gates for sessions ([`Auth`]): a user whose password must change gets 403
//! `password_change_required`; an admin (or a user of a tenant that requires it) without
//! confirmed TOTP gets 403 `totp_enrollment_required`. [`AuthAny`] skips the gates, for the
//! handful of endpoints that resolve them (password change, TOTP enrollment, logout).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::Method;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use ringfence_store::{
    Actor, ApiToken, Role, Tenant, TenantId, TenantRepo as _, TokenRepo as _, User, UserRepo as _,
};
use time::OffsetDateTime;

use crate::auth::session::{SessionData, check_csrf};
use crate::error::{Error, Result};
use crate::state::AdminState;

/// Name of the session cookie (`__Host-` prefix: Secure, Path=/, no Domain).
pub const SESSION_COOKIE: &str = "__Host-rf_session";
/// Header carrying the CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    /// A login session.
    Session {
        /// The session id from the cookie.
        id: String,
        /// The session.
        data: SessionData,
    },
    /// An API token.
    Token(ApiToken),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Powers.
    pub role: Role,
    /// Tenant scope (`None`: super admin, all tenants).
    pub tenant_id: Option<TenantId>,
    /// The user, for sessions.
    pub user: Option<User>,
    /// How the caller authenticated.
    pub via: Via,
    /// For audit events.
    pub actor: Actor,
    /// Client address.
    pub source_ip: IpAddr,
    /// The login password must be changed first (one-time or expired).
    pub password_change_required: bool,
    /// TOTP must be enrolled first.
    pub totp_enrollment_required: bool,
}

/// An authenticated caller who passed the gates.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

/// An authenticated caller, gates not applied.
#[derive(Debug, Clone)]
pub struct AuthAny(pub Principal);

/// The client address of a request, as an extractor that never fails.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(source_ip(parts)))
    }
}

/// The client address of a request (from the connection).
pub fn source_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(a)| a.ip())
}

/// The value of cookie `name` in the request, if any.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts.headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        line.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.trim_matches('"').to_owned())
        })
    })
}

/// Whether `user`'s password is past the tenant's rotation period.
pub fn password_expired(user: &User, tenant: Option<&Tenant>, now: OffsetDateTime) -> bool {
    let days = tenant.and_then(|t| t.settings.credential_policy.password_rotation_days);
    days.is_some_and(|d| user.password_set_at + time::Duration::days(i64::from(d)) <= now)
}

/// Whether `user` must have TOTP: always for admins, for users when the tenant says so.
pub fn totp_required(user: &User, tenant: Option<&Tenant>) -> bool {
    match user.role {
        Role::SuperAdmin | Role::TenantAdmin => true,
        Role::User => tenant.is_some_and(|t| t.settings.credential_policy.require_user_totp),
    }
}

async fn authenticate(parts: &Parts, state: &AdminState) -> Result<Principal> {
    let source_ip = source_ip(parts);
    let store = state.store();
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| Error::Unauthenticated)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(Error::Unauthenticated)?
            .trim();
        if token.is_empty() || token.len() > 200 {
            return Err(Error::Unauthenticated);
        }
        let hash = ringfence_store::token_hash(token);
        let found = store.find_token(&hash).await?.ok_or(Error::Unauthenticated)?;
        if found.is_revoked() {
            return Err(Error::Unauthenticated);
        }
        let now = ringfence_store::now();
        // Record use at most once a minute: a busy automation should not write on every call.
        if found.last_used_at.is_none_or(|t| now - t >= time::Duration::minutes(1)) {
            store.touch_token(found.id, now).await?;
        }
        return Ok(Principal {
            role: found.role,
            tenant_id: found.tenant_id,
            user: None,
            actor: Actor::token(found.id, Some(source_ip)),
            via: Via::Token(found),
            source_ip,
            password_change_required: false,
            totp_enrollment_required: false,
        });
    }
    let id = cookie(parts, SESSION_COOKIE).ok_or(Error::Unauthenticated)?;
    let data = state.sessions().get(&id).ok_or(Error::Unauthenticated)?;
    let Some(user) = store.get_user(data.tenant_id, data.user_id).await? else {
        state.sessions().remove(&id);
        return Err(Error::Unauthenticated);
    };
    if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        check_csrf(presented, &data)?;
    }
    let tenant = match user.tenant_id {
        Some(t) => store.get_tenant(t).await?,
        None => None,
    };
    let now = ringfence_store::now();
    Ok(Principal {
        role: user.role,
        tenant_id: user.tenant_id,
        actor: Actor::user(user.id, Some(source_ip)),
        password_change_required: user.must_change_password
            || password_expired(&user, tenant.as_ref(), now),
        totp_enrollment_required: !user.totp_enrolled && totp_required(&user, tenant.as_ref()),
        user: Some(user),
        via: Via::Session { id, data },
        source_ip,
    })
}

impl FromRequestParts<AdminState> for AuthAny {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self> {
        authenticate(parts, state).await.map(AuthAny)
    }
}

impl FromRequestParts<AdminState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self> {
        let p = authenticate(parts, state).await?;
        if p.password_change_required {
            return Err(Error::Forbidden {
                code: "password_change_required",
                message: "change your password first (POST /api/v1/auth/password)".into(),
            });
        }
        if p.totp_enrollment_required {
            return Err(Error::Forbidden {
                code: "totp_enrollment_required",
                message: "enroll TOTP first (POST /api/v1/auth/totp/enroll, then /confirm)".into(),
            });
        }
        Ok(Auth(p))
    }
}

impl Principal {
    /// True for super admins.
    pub fn is_super(&self) -> bool {
        self.role == Role::SuperAdmin
    }

    /// Requires the super-admin role (403 otherwise).
    pub fn require_super(&self) -> Result<()> {
        if self.is_super() {
            Ok(())
        } else {
            Err(Error::forbidden("only super admins may do this"))
        }
    }

    /// Requires that `tenant` is in the caller's scope: another tenant answers 404, exactly
    /// like a tenant that does not exist.
    pub fn require_tenant(&self, tenant: TenantId) -> Result<()> {
        if self.is_super() || self.tenant_id == Some(tenant) {
            Ok(())
        } else {
            Err(Error::not_found("tenant"))
        }
    }

    /// Requires admin powers over `tenant` (404 for another tenant, 403 for plain users).
    pub fn require_admin_of(&self, tenant: TenantId) -> Result<()> {
        self.require_tenant(tenant)?;
        match self.role {
            Role::SuperAdmin | Role::TenantAdmin => Ok(()),
            Role::User => Err(Error::forbidden("only admins of this tenant may do this")),
        }
    }

    /// The user behind a session (403 for API tokens, which act for no user).
    pub fn require_user(&self) -> Result<&User> {
        self.user.as_ref().ok_or_else(|| {
            Error::forbidden("this endpoint needs a login session; API tokens act for no user")
        })
    }
}
