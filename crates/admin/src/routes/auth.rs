//! Login, logout, password change, TOTP enrollment, and `GET /me`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ringfence_store::{
    Actor, AuditEntry, AuditRepo as _, ExtensionRepo as _, TenantRepo as _, User, UserRepo as _,
};
use serde_json::json;
use zeroize::Zeroizing;

use crate::api::{
    ChangePassword, ExtensionView, LoginRequest, LoginResponse, MeView, TotpCode, TotpEnrollment,
    UserView,
};
use crate::auth::principal::{ClientIp, SESSION_COOKIE, password_expired, totp_required};
use crate::auth::{Auth, AuthAny, Via, password, totp};
use crate::error::{Error, Result};
use crate::extract::ApiJson;
use crate::policy;
use crate::state::AdminState;

fn session_cookie(id: &str) -> HeaderValue {
    let v = format!("{SESSION_COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-rf_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
    )
}

/// Printable, bounded form of an attacker-supplied email for the audit log.
fn audit_email(email: &str) -> String {
    email.chars().filter(|c| !c.is_control()).take(100).collect()
}

async fn audit(state: &AdminState, entry: AuditEntry) {
    if let Err(e) = state.store().append_audit(entry).await {
        tracing::error!(error = %e, "could not append a login audit event");
    }
}

/// Counts a failed login for `user` (if known) and the source IP; locks when due; audits.
async fn login_failed(
    state: &AdminState,
    user: Option<&User>,
    email: &str,
    ip: std::net::IpAddr,
    reason: &str,
) -> Result<()> {
    let actor = Actor { id: "anonymous".into(), source_ip: Some(ip) };
    let ip_outcome = state.ip_throttle().record_failure(ip);
    let tenant_id = user.and_then(|u| u.tenant_id);
    let target = user.map_or_else(|| "user:unknown".to_owned(), |u| format!("user:{}", u.id));
    let mut locked_for = None;
    if let Some(u) = user {
        let store = state.store();
        let failures = store.record_login_failure(u.tenant_id, u.id).await?;
        if let Some(d) = state.config().account_lockout.lock_after(failures) {
            let until = ringfence_store::now() + d;
            store.set_user_lock(u.tenant_id, u.id, Some(until)).await?;
            locked_for = Some(d);
        }
    }
    audit(
        state,
        AuditEntry {
            tenant_id,
            actor: actor.clone(),
            action: "login.failed".into(),
            target: target.clone(),
            detail: json!({ "email": audit_email(email), "reason": reason,
                            "ip_failures": ip_outcome.failures }),
        },
    )
    .await;
    if let Some(d) = locked_for {
        audit(
            state,
            AuditEntry {
                tenant_id,
                actor: actor.clone(),
                action: "login.account_locked".into(),
                target,
                detail: json!({ "seconds": d.as_secs() }),
            },
        )
        .await;
    }
    if let Some(d) = ip_outcome.locked_for {
        audit(
            state,
            AuditEntry {
                tenant_id: None,
                actor,
                action: "login.ip_locked".into(),
                target: format!("ip:{ip}"),
                detail: json!({ "seconds": d.as_secs(), "failures": ip_outcome.failures }),
            },
        )
        .await;
    }
    Ok(())
}

/// Logs in with email, password and (once enrolled) a TOTP code.
///
/// Unknown email, wrong password and a locked account (or source IP) all answer 401
/// `invalid_credentials` with the same body after the same Argon2 work.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    security(()),
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = LoginResponse,
         headers(("set-cookie" = String, description = "__Host-rf_session=...; Secure; HttpOnly; SameSite=Strict"))),
        (status = 401, description = "`invalid_credentials`, `totp_required` or `invalid_totp`", body = crate::ErrorBody),
    ))]
pub(crate) async fn login(
    State(state): State<AdminState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response> {
    let store = state.store();
    let secret = Zeroizing::new(req.password);
    if secret.len() > 1024 {
        return Err(Error::InvalidCredentials);
    }
    let ip_locked = state.ip_throttle().is_locked(ip);
    let user = match ringfence_store::Email::parse(&req.email) {
        Ok(email) => store.find_user_by_email(&email).await?,
        Err(_) => None,
    };
    let now = ringfence_store::now();
    let locked = user.as_ref().is_some_and(|u| u.locked_until.is_some_and(|t| t > now));
    // The Argon2 work is done in every case, against a dummy hash for unknown emails.
    let ok = password::verify(secret, user.as_ref().map(|u| u.password_hash.clone())).await?;
    if ip_locked || locked {
        audit(
            &state,
            AuditEntry {
                tenant_id: user.as_ref().and_then(|u| u.tenant_id),
                actor: Actor { id: "anonymous".into(), source_ip: Some(ip) },
                action: "login.refused_locked".into(),
                target: user.as_ref().map_or("user:unknown".into(), |u| format!("user:{}", u.id)),
                detail: json!({ "email": audit_email(&req.email), "account_locked": locked,
                                "ip_locked": ip_locked }),
            },
        )
        .await;
        return Err(Error::InvalidCredentials);
    }
    let user = match user {
        Some(u) if ok => u,
        other => {
            login_failed(&state, other.as_ref(), &req.email, ip, "bad_password").await?;
            return Err(Error::InvalidCredentials);
        }
    };
    if user.totp_enrolled {
        let Some(code) = req.totp_code.as_deref().filter(|c| !c.is_empty()) else {
            return Err(Error::TotpRequired);
        };
        let secret = store.get_totp_secret(user.tenant_id, user.id).await?;
        let step = secret.as_ref().and_then(|s| totp::matching_step(s, code, totp::unix_now()));
        let fresh = match step {
            Some(step) => store.use_totp_step(user.tenant_id, user.id, step).await?,
            None => false,
        };
        if !fresh {
            let reason = if step.is_some() { "totp_reused" } else { "bad_totp" };
            login_failed(&state, Some(&user), &req.email, ip, reason).await?;
            return Err(Error::InvalidTotp);
        }
    }
    store.record_login_success(user.tenant_id, user.id, now).await?;
    state.ip_throttle().record_success(ip);
    let tenant = match user.tenant_id {
        Some(t) => store.get_tenant(t).await?,
        None => None,
    };
    let (sid, data) = state.sessions().create(user.id, user.tenant_id)?;
    let user = store.get_user(user.tenant_id, user.id).await?.unwrap_or(user);
    audit(
        &state,
        AuditEntry {
            tenant_id: user.tenant_id,
            actor: Actor::user(user.id, Some(ip)),
            action: "login.succeeded".into(),
            target: format!("user:{}", user.id),
            detail: json!({ "totp": user.totp_enrolled }),
        },
    )
    .await;
    let body = LoginResponse {
        password_change_required: user.must_change_password
            || password_expired(&user, tenant.as_ref(), now),
        totp_enrollment_required: !user.totp_enrolled && totp_required(&user, tenant.as_ref()),
        user: UserView::from(&user),
        csrf_token: data.csrf_token,
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie(&sid));
    Ok((StatusCode::OK, headers, axum::Json(body)).into_response())
}

/// Ends the caller's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out; the cookie is cleared")))]
pub(crate) async fn logout(State(state): State<AdminState>, AuthAny(p): AuthAny) -> Response {
    if let Via::Session { id, .. } = &p.via {
        state.sessions().remove(id);
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, clear_cookie());
    (StatusCode::NO_CONTENT, headers).into_response()
}

/// Changes the caller's own login password (also when a change is required). Other
/// sessions of the user end.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePassword,
    responses((status = 204, description = "Password changed")))]
pub(crate) async fn change_password(
    State(state): State<AdminState>,
    AuthAny(p): AuthAny,
    ApiJson(req): ApiJson<ChangePassword>,
) -> Result<StatusCode> {
    let user = p.require_user()?.clone();
    let store = state.store();
    let current = Zeroizing::new(req.current_password);
    let new = Zeroizing::new(req.new_password);
    if current.len() > 1024
        || !password::verify(current.clone(), Some(user.password_hash.clone())).await?
    {
        return Err(Error::invalid("current_password", "is not your current password"));
    }
    let tenant = match user.tenant_id {
        Some(t) => store.get_tenant(t).await?,
        None => None,
    };
    let min = tenant
        .as_ref()
        .map_or(12, |t| usize::from(t.settings.credential_policy.min_password_length));
    policy::check_login_password(
        "new_password",
        &new,
        min,
        user.email.as_str(),
        tenant.as_ref().map(|t| t.name.as_str()),
    )?;
    if *new == *current {
        return Err(Error::invalid("new_password", "must differ from the current password"));
    }
    let hash = password::hash(new).await?;
    store.set_user_password(user.tenant_id, user.id, &hash, false, &p.actor).await?;
    let keep = match &p.via {
        Via::Session { id, .. } => Some(id.as_str()),
        Via::Token(_) => None,
    };
    state.sessions().remove_user(user.id, keep);
    Ok(StatusCode::NO_CONTENT)
}

/// Starts TOTP enrollment: a new secret, pending until confirmed with a code. Refused
/// (409 `totp_already_enrolled`) once enrolled; an admin can reset it.
#[utoipa::path(post, path = "/api/v1/auth/totp/enroll", tag = "auth",
    responses((status = 200, description = "Secret (shown once)", body = TotpEnrollment)))]
pub(crate) async fn totp_enroll(
    State(state): State<AdminState>,
    AuthAny(p): AuthAny,
) -> Result<axum::Json<TotpEnrollment>> {
    let user = p.require_user()?;
    if user.totp_enrolled {
        return Err(Error::conflict(
            "totp_already_enrolled",
            "TOTP is already enrolled; ask an admin to reset it to enroll a new device",
        ));
    }
    let secret = totp::new_secret()?;
    state.store().set_totp_secret(user.tenant_id, user.id, &secret, &p.actor).await?;
    Ok(axum::Json(TotpEnrollment {
        secret_base32: totp::base32(&secret, user.email.as_str())?,
        otpauth_url: totp::otpauth_url(&secret, user.email.as_str())?,
    }))
}

/// Confirms TOTP enrollment with a current code (which is then used up).
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "auth", request_body = TotpCode,
    responses((status = 204, description = "TOTP enrolled")))]
pub(crate) async fn totp_confirm(
    State(state): State<AdminState>,
    AuthAny(p): AuthAny,
    ApiJson(req): ApiJson<TotpCode>,
) -> Result<StatusCode> {
    let user = p.require_user()?;
    let store = state.store();
    if user.totp_enrolled {
        return Err(Error::conflict("totp_already_enrolled", "TOTP is already enrolled"));
    }
    let Some(secret) = store.get_totp_secret(user.tenant_id, user.id).await? else {
        return Err(Error::conflict(
            "totp_not_started",
            "start with POST /api/v1/auth/totp/enroll",
        ));
    };
    let step = totp::matching_step(&secret, &req.code, totp::unix_now())
        .ok_or_else(|| Error::invalid("code", "wrong or expired code"))?;
    if !store.confirm_totp(user.tenant_id, user.id, step, &p.actor).await? {
        return Err(Error::invalid("code", "this code was already used; wait for the next one"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Who the caller is, with the extensions they own.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, description = "The caller", body = MeView)))]
pub(crate) async fn me(
    State(state): State<AdminState>,
    Auth(p): Auth,
) -> Result<axum::Json<MeView>> {
    let extensions = match (&p.user, p.tenant_id) {
        (Some(u), Some(t)) => state
            .store()
            .list_extensions(t)
            .await?
            .iter()
            .filter(|e| e.owner_user_id == Some(u.id))
            .map(ExtensionView::from)
            .collect(),
        _ => Vec::new(),
    };
    Ok(axum::Json(MeView {
        via: match p.via {
            Via::Session { .. } => "session".into(),
            Via::Token(_) => "token".into(),
        },
        role: p.role.into(),
        tenant_id: p.tenant_id.map(|t| t.0),
        user: p.user.as_ref().map(UserView::from),
        token_id: match &p.via {
            Via::Token(t) => Some(t.id.0),
            Via::Session { .. } => None,
        },
        extensions,
    }))
}
