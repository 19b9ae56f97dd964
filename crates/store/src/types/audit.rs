//! The audit log: append-only and hash-chained.
//!
//! One global chain for the platform. Event `n` stores `prev_hash` = hash of event `n-1`
//! (32 zero bytes for the first) and `hash = SHA-256(prev_hash || canonical(event))`, where
//! `canonical` is the length-prefixed encoding in [`AuditEvent::canonical_bytes`]. A chain-head
//! row holds the last sequence number and hash, so cutting events off the end shows too.
//! A global chain (rather than one per tenant) keeps the ordering of platform and tenant
//! events provable; tenant views filter it.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{TenantId, TokenId, UserId};
use crate::error::{Result, StoreError};

/// Who made a change: recorded in the audit event of every mutation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `user:<uuid>`, `token:<uuid>` or `system:<component>`.
    pub id: String,
    /// Client address, when the change came over the network.
    pub source_ip: Option<IpAddr>,
}

impl Actor {
    /// A logged-in user.
    pub fn user(id: UserId, source_ip: Option<IpAddr>) -> Self {
        Self { id: format!("user:{id}"), source_ip }
    }

    /// An API token.
    pub fn token(id: TokenId, source_ip: Option<IpAddr>) -> Self {
        Self { id: format!("token:{id}"), source_ip }
    }

    /// A component of the platform acting on its own (`cli`, `registrar`, `fraud`, ...).
    pub fn system(component: &str) -> Self {
        Self { id: format!("system:{component}"), source_ip: None }
    }
}

/// A free-standing audit event to append (for things that are not a store mutation, e.g. a
/// failed login or a lockout). Mutating store methods write their own event from the
/// [`Actor`] they are given, in the same transaction as the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Tenant concerned; `None` for platform events.
    pub tenant_id: Option<TenantId>,
    /// Who did it.
    pub actor: Actor,
    /// Dotted verb, e.g. `login.failed` (1..=100 bytes).
    pub action: String,
    /// What it was done to, e.g. `user:<uuid>` (at most 200 bytes).
    pub target: String,
    /// Extra facts (a JSON object; at most 16 KiB serialized).
    pub detail: serde_json::Value,
}

impl AuditEntry {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.action.is_empty()
            || self.action.len() > 100
            || self.action.chars().any(char::is_control)
        {
            return Err(StoreError::invalid("action", "1 to 100 bytes, no control characters"));
        }
        if self.target.len() > 200 || self.target.chars().any(char::is_control) {
            return Err(StoreError::invalid("target", "at most 200 bytes"));
        }
        if self.actor.id.is_empty() || self.actor.id.len() > 200 {
            return Err(StoreError::invalid("actor", "1 to 200 bytes"));
        }
        if !self.detail.is_object() {
            return Err(StoreError::invalid("detail", "must be a JSON object"));
        }
        Ok(())
    }
}

/// A 32-byte SHA-256 chain hash; shown as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for ChainHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

/// One stored audit event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// When it was appended (microsecond precision).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Tenant concerned; `None` for platform events.
    pub tenant_id: Option<TenantId>,
    /// Who did it (see [`Actor::id`]).
    pub actor: String,
    /// Dotted verb, e.g. `extension.create`.
    pub action: String,
    /// What it was done to, e.g. `extension:<uuid>`.
    pub target: String,
    /// Extra facts, as stored (serialized JSON text is what the hash covers).
    pub detail: serde_json::Value,
    /// Hash of the previous event.
    pub prev_hash: ChainHash,
    /// Hash of this event.
    pub hash: ChainHash,
}

impl AuditEvent {
    /// The bytes the chain hash covers (besides `prev_hash`): a domain label, then each field
    /// length-prefixed (u32 big-endian) so no two events encode alike.
    pub fn canonical_bytes(
        seq: u64,
        at: OffsetDateTime,
        tenant_id: Option<TenantId>,
        actor: &str,
        action: &str,
        target: &str,
        detail_json: &str,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + detail_json.len());
        out.extend_from_slice(b"ringfence-audit-v1\0");
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&crate::time_util::to_micros(at).to_be_bytes());
        let tenant = tenant_id.map(|t| t.0.into_bytes());
        let fields: [&[u8]; 5] = [
            tenant.as_ref().map_or(&[][..], |t| &t[..]),
            actor.as_bytes(),
            action.as_bytes(),
            target.as_bytes(),
            detail_json.as_bytes(),
        ];
        for f in fields {
            out.extend_from_slice(&(f.len() as u32).to_be_bytes());
            out.extend_from_slice(f);
        }
        out
    }

    /// `SHA-256(prev || canonical)`.
    pub fn chain_hash(prev: &ChainHash, canonical: &[u8]) -> ChainHash {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&prev.0);
        ctx.update(canonical);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        ChainHash(out)
    }
}

/// What [`verify_audit_chain`](crate::AuditRepo::verify_audit_chain) found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Events read.
    pub events_checked: u64,
    /// The first broken link, if any.
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    /// True if the whole chain verified.
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Where and how the chain is broken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// Sequence number of the first event that does not verify (for a truncated tail: the
    /// head's sequence number).
    pub seq: u64,
    /// What is wrong there.
    pub kind: BreakKind,
}

/// Kinds of chain breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The event's content no longer matches its hash: the row was changed.
    ContentChanged,
    /// A sequence number is missing: a row was deleted.
    Missing,
    /// The event does not link to its predecessor: rows were deleted and renumbered,
    /// reordered, or replaced.
    LinkBroken,
    /// The chain head does not match the last event: events were cut off the end, or the head
    /// was altered.
    HeadMismatch,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(actor: &str, action: &str, tenant: Option<TenantId>) -> Vec<u8> {
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        AuditEvent::canonical_bytes(7, at, tenant, actor, action, "t", "{}")
    }

    #[test]
    fn canonical_encoding_is_unambiguous() {
        // Moving bytes between fields changes the encoding (length prefixes).
        assert_ne!(canon("ab", "c", None), canon("a", "bc", None));
        assert_ne!(canon("a", "b", None), canon("a", "b", Some(TenantId::random())));
        assert_eq!(canon("a", "b", None), canon("a", "b", None));
    }

    #[test]
    fn chain_hash_depends_on_prev_and_content() {
        let c = canon("a", "b", None);
        let h0 = AuditEvent::chain_hash(&ChainHash::default(), &c);
        assert_ne!(h0, AuditEvent::chain_hash(&ChainHash([1; 32]), &c));
        assert_ne!(h0, AuditEvent::chain_hash(&ChainHash::default(), &canon("a", "x", None)));
        // SHA-256 over prev || canonical, checked against ring directly.
        let mut input = vec![0u8; 32];
        input.extend_from_slice(&c);
        assert_eq!(&h0.0[..], ring::digest::digest(&ring::digest::SHA256, &input).as_ref());
        assert_eq!(h0.to_hex().len(), 64);
    }

    #[test]
    fn entries_are_validated() {
        let ok = AuditEntry {
            tenant_id: None,
            actor: Actor::system("cli"),
            action: "login.failed".into(),
            target: "user:x".into(),
            detail: serde_json::json!({}),
        };
        ok.validate().unwrap();
        let bad = AuditEntry { action: "a\nb".into(), ..ok.clone() };
        assert!(bad.validate().is_err());
        let bad = AuditEntry { detail: serde_json::json!(1), ..ok };
        assert!(bad.validate().is_err());
    }
}
