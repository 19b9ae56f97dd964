//! Login sessions, kept in memory.
//!
//! A session id is 256 random bits (base64url in the cookie); the map is keyed by its SHA-256,
//! so the id itself is not kept. Each session has a CSRF token (also 256 bits) that
//! cookie-authenticated writes must echo in `X-CSRF-Token`.
//!
//! Bounds: idle and absolute timeouts ([`SessionLimits`]); at most
//! [`SessionLimits::max_per_user`] sessions per user (logging in again ends the oldest) and
//! [`SessionLimits::max_total`] in all (expired ones are swept first, then the least recently
//! used is ended). Sessions do not survive a restart, and with several nodes a client must
//! stay on the node it logged in to.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ringfence_store::{TenantId, UserId};
use subtle::ConstantTimeEq as _;

use crate::error::{Error, Result};
use crate::policy::random_bytes;

/// Session lifetime and count limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after login, however busy.
    pub absolute_timeout: Duration,
    /// Sessions per user; a new login beyond this ends the user's oldest.
    pub max_per_user: usize,
    /// Sessions in all.
    pub max_total: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            max_per_user: 10,
            max_total: 100_000,
        }
    }
}

/// What a session knows about its user (role and state are re-read from the store on every
/// request, so a role change or deletion takes effect at once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionData {
    /// The user.
    pub user_id: UserId,
    /// The user's tenant (`None`: super admin).
    pub tenant_id: Option<TenantId>,
    /// The CSRF token the client must echo on writes.
    pub csrf_token: String,
}

#[derive(Debug)]
struct Entry {
    data: SessionData,
    created: Instant,
    last_used: Instant,
}

/// The in-memory session table.
#[derive(Debug)]
pub struct SessionStore {
    limits: SessionLimits,
    map: Mutex<HashMap<[u8; 32], Entry>>,
}

fn key_of(id: &str) -> [u8; 32] {
    ringfence_store::token_hash(id)
}

fn random_token() -> Result<String> {
    let raw = random_bytes::<32>()?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_ref()))
}

impl SessionStore {
    /// An empty table with `limits`.
    pub fn new(limits: SessionLimits) -> Self {
        Self { limits, map: Mutex::new(HashMap::new()) }
    }

    /// The limits in force.
    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn expired(&self, e: &Entry, now: Instant) -> bool {
        now.duration_since(e.last_used) >= self.limits.idle_timeout
            || now.duration_since(e.created) >= self.limits.absolute_timeout
    }

    /// Starts a session; returns its id (for the cookie) and data (with the CSRF token).
    pub fn create(
        &self,
        user_id: UserId,
        tenant_id: Option<TenantId>,
    ) -> Result<(String, SessionData)> {
        let id = random_token()?;
        let data = SessionData { user_id, tenant_id, csrf_token: random_token()? };
        let now = Instant::now();
        let mut map = self.lock();
        // Per-user cap: end the user's oldest sessions.
        let mut mine: Vec<([u8; 32], Instant)> = map
            .iter()
            .filter(|(_, e)| e.data.user_id == user_id)
            .map(|(k, e)| (*k, e.created))
            .collect();
        if mine.len() >= self.limits.max_per_user {
            mine.sort_by_key(|(_, created)| *created);
            for (k, _) in mine.iter().take(mine.len() + 1 - self.limits.max_per_user) {
                map.remove(k);
            }
        }
        if map.len() >= self.limits.max_total {
            map.retain(|_, e| !self.expired(e, now));
        }
        if map.len() >= self.limits.max_total
            && let Some(k) = map.iter().min_by_key(|(_, e)| e.last_used).map(|(k, _)| *k)
        {
            map.remove(&k);
        }
        map.insert(key_of(&id), Entry { data: data.clone(), created: now, last_used: now });
        Ok((id, data))
    }

    /// The live session with this id, marking it used; expired sessions are removed.
    pub fn get(&self, id: &str) -> Option<SessionData> {
        let now = Instant::now();
        let key = key_of(id);
        let mut map = self.lock();
        let entry = map.get_mut(&key)?;
        if self.expired(entry, now) {
            map.remove(&key);
            return None;
        }
        entry.last_used = now;
        Some(entry.data.clone())
    }

    /// Ends one session.
    pub fn remove(&self, id: &str) {
        self.lock().remove(&key_of(id));
    }

    /// Ends every session of a user (password change, deletion), except `keep` if given.
    pub fn remove_user(&self, user_id: UserId, keep: Option<&str>) {
        let keep = keep.map(key_of);
        self.lock().retain(|k, e| e.data.user_id != user_id || Some(*k) == keep);
    }

    /// Ends every session of a tenant's users (tenant deleted).
    pub fn remove_tenant(&self, tenant_id: TenantId) {
        self.lock().retain(|_, e| e.data.tenant_id != Some(tenant_id));
    }

    /// Number of sessions held (live or not yet swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Constant-time comparison of a presented CSRF token with the session's.
pub fn csrf_matches(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// Checks the CSRF header of a cookie-authenticated write.
pub fn check_csrf(presented: Option<&str>, session: &SessionData) -> Result<()> {
    match presented {
        Some(p) if csrf_matches(p, &session.csrf_token) => Ok(()),
        _ => Err(Error::Forbidden {
            code: "csrf_token_invalid",
            message: "missing or wrong X-CSRF-Token header (the value returned at login)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_get_remove_and_per_user_cap() {
        let s = SessionStore::new(SessionLimits { max_per_user: 2, ..SessionLimits::default() });
        let u = UserId::random();
        let (a, da) = s.create(u, None).unwrap();
        assert_eq!(a.len(), 43);
        assert_eq!(s.get(&a).unwrap(), da);
        let (b, _) = s.create(u, None).unwrap();
        let (c, _) = s.create(u, None).unwrap();
        assert!(s.get(&a).is_none(), "oldest session of the user ended");
        assert!(s.get(&b).is_some() && s.get(&c).is_some());
        s.remove_user(u, Some(&c));
        assert!(s.get(&b).is_none() && s.get(&c).is_some());
        s.remove(&c);
        assert!(s.is_empty());
        assert!(s.get("nonsense").is_none());
    }

    #[test]
    fn timeouts_end_sessions() {
        let s = SessionStore::new(SessionLimits {
            idle_timeout: Duration::ZERO,
            ..SessionLimits::default()
        });
        let (a, _) = s.create(UserId::random(), None).unwrap();
        assert!(s.get(&a).is_none());
        let s = SessionStore::new(SessionLimits { max_total: 1, ..SessionLimits::default() });
        let (a, _) = s.create(UserId::random(), None).unwrap();
        let (b, _) = s.create(UserId::random(), None).unwrap();
        assert!(s.get(&a).is_none() && s.get(&b).is_some());
    }

    #[test]
    fn csrf_comparison() {
        let d =
            SessionData { user_id: UserId::random(), tenant_id: None, csrf_token: "abc".into() };
        assert!(check_csrf(Some("abc"), &d).is_ok());
        assert!(check_csrf(Some("abd"), &d).is_err());
        assert!(check_csrf(None, &d).is_err());
    }
}
