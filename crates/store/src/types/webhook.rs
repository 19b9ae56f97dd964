//! A tenant's signed webhook for fraud notifications: the URL events are POSTed to and the
//! secret that signs each request (HMAC-SHA256). The secret is stored sealed with the
//! tenant's data key and is only shown to an admin when it is set or generated.

use std::fmt;

use ring::rand::SecureRandom as _;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::TenantId;
use crate::error::{Result, StoreError};

/// Longest webhook URL accepted.
pub const MAX_WEBHOOK_URL: usize = 2048;

/// The signing secret: 16 to 128 printable ASCII characters, used as the HMAC key as is.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Zeroizing<String>);

impl WebhookSecret {
    /// Checks an admin-chosen secret.
    pub fn new(secret: impl Into<String>) -> Result<Self> {
        let s = Zeroizing::new(secret.into());
        if !(16..=128).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(StoreError::invalid(
                "secret",
                "must be 16 to 128 printable ASCII characters without spaces",
            ));
        }
        Ok(Self(s))
    }

    /// A new random secret: `whsec_` and 64 hex digits (256 bits).
    pub fn generate() -> Result<Self> {
        let mut raw = Zeroizing::new([0u8; 32]);
        ring::rand::SystemRandom::new()
            .fill(raw.as_mut())
            .map_err(|_| StoreError::Crypto("no randomness for a webhook secret".into()))?;
        Ok(Self(Zeroizing::new(format!("whsec_{}", hex::encode(raw.as_ref())))))
    }

    /// The secret's text (the HMAC key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// Checks a webhook URL's form: `http://` or `https://`, a host, no credentials, no
/// whitespace or control characters, at most [`MAX_WEBHOOK_URL`] bytes. (Whether its
/// address may be reached is decided when it is called.)
pub fn validate_webhook_url(url: &str) -> Result<()> {
    let bad = |m: &'static str| Err(StoreError::invalid("url", m));
    if url.len() > MAX_WEBHOOK_URL {
        return bad("must be at most 2048 bytes");
    }
    if url.bytes().any(|b| b.is_ascii_control() || b == b' ' || !b.is_ascii()) {
        return bad("must be ASCII without spaces or control characters");
    }
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"))
    else {
        return bad("must start with https:// or http://");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return bad("must name a host");
    }
    if authority.contains('@') {
        return bad("must not carry credentials");
    }
    Ok(())
}

/// A tenant's webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Where events are POSTed.
    pub url: String,
    /// The signing secret.
    pub secret: WebhookSecret,
    /// When it was first set.
    pub created_at: OffsetDateTime,
    /// When the URL or secret last changed.
    pub updated_at: OffsetDateTime,
}
