//! Tenants and the settings their admins control.

use std::collections::BTreeSet;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{CountryCode, Email, SipDomain, TenantId};
use crate::error::{Result, StoreError};

/// A customer organisation: its own domain (= digest realm), users, extensions and policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Record id.
    pub id: TenantId,
    /// Display name, 1..=100 characters.
    pub name: String,
    /// SIP domain and digest realm. Fixed at creation: the stored HA1s depend on it.
    pub domain: SipDomain,
    /// Everything the tenant's admins control.
    #[serde(flatten)]
    pub settings: TenantSettings,
    /// Exceptions a super admin granted (premium rate, ...); all off by default.
    #[serde(default)]
    pub overrides: super::PlatformOverrides,
    /// When the tenant was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When name, settings or overrides last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Input for creating a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTenant {
    /// Display name, 1..=100 characters.
    pub name: String,
    /// SIP domain and digest realm; unique across the platform.
    pub domain: SipDomain,
    /// Initial settings; [`TenantSettings::new`] gives the secure defaults.
    pub settings: TenantSettings,
}

/// Whether SIP signalling must use TLS and media SRTP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncryptionRequirement {
    /// TLS + SRTP only; anything else is refused (the default for new tenants).
    #[default]
    Required,
    /// Encrypted when the device offers it; plain transports allowed.
    Preferred,
    /// No requirement.
    Optional,
}

impl EncryptionRequirement {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Preferred => "preferred",
            Self::Optional => "optional",
        }
    }

    /// Parses the stored and wire name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "required" => Ok(Self::Required),
            "preferred" => Ok(Self::Preferred),
            "optional" => Ok(Self::Optional),
            _ => Err(StoreError::invalid("encryption", "must be required, preferred or optional")),
        }
    }
}

/// The settings of a tenant that its admins control. `new` gives the secure defaults:
/// encryption required, international calling off, no allowed destination countries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Country used to read national numbers (dial plan, caller IDs).
    pub home_country: CountryCode,
    /// TLS + SRTP requirement.
    #[serde(default)]
    pub encryption: EncryptionRequirement,
    /// Whether calls may leave the home country at all.
    #[serde(default)]
    pub international_calling: bool,
    /// Destination countries allowed when international calling is on.
    #[serde(default)]
    pub allowed_countries: BTreeSet<CountryCode>,
    /// Inbound caller IDs that are refused without ringing anyone.
    #[serde(default)]
    pub inbound_blocks: Vec<CallerIdBlock>,
    /// Source networks devices may register and call from; empty means any.
    #[serde(default)]
    pub device_networks: Vec<IpNet>,
    /// Password, SIP secret and PIN rules.
    #[serde(default)]
    pub credential_policy: CredentialPolicy,
    /// Fraud limits, read by the fraud engine.
    #[serde(default)]
    pub fraud_limits: FraudLimits,
    /// Who hears about fraud alerts and lockouts.
    #[serde(default)]
    pub notifications: NotificationContacts,
    /// Office hours; calls outside them weigh in the fraud score. `None`: not set.
    #[serde(default)]
    pub business_hours: Option<BusinessHours>,
}

/// Most inbound block rules per tenant.
pub const MAX_INBOUND_BLOCKS: usize = 1000;
/// Most allowed device networks per tenant.
pub const MAX_DEVICE_NETWORKS: usize = 256;
/// Most notification emails per tenant.
pub const MAX_NOTIFICATION_EMAILS: usize = 20;

impl TenantSettings {
    /// Secure defaults for a tenant in `home_country`.
    pub fn new(home_country: CountryCode) -> Self {
        Self {
            home_country,
            encryption: EncryptionRequirement::Required,
            international_calling: false,
            allowed_countries: BTreeSet::new(),
            inbound_blocks: Vec::new(),
            device_networks: Vec::new(),
            credential_policy: CredentialPolicy::default(),
            fraud_limits: FraudLimits::default(),
            notifications: NotificationContacts::default(),
            business_hours: None,
        }
    }

    /// Checks every rule that the types alone do not enforce.
    pub fn validate(&self) -> Result<()> {
        if self.inbound_blocks.len() > MAX_INBOUND_BLOCKS {
            return Err(StoreError::invalid("inbound_blocks", "too many rules (max 1000)"));
        }
        for rule in &self.inbound_blocks {
            rule.validate()?;
        }
        if self.device_networks.len() > MAX_DEVICE_NETWORKS {
            return Err(StoreError::invalid("device_networks", "too many networks (max 256)"));
        }
        self.credential_policy.validate()?;
        self.fraud_limits.validate()?;
        self.notifications.validate()?;
        if let Some(hours) = &self.business_hours {
            hours.validate()?;
        }
        Ok(())
    }
}

/// What an inbound block rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// The caller ID equals `value`.
    Exact,
    /// The caller ID starts with `value`.
    Prefix,
    /// The caller ID is withheld or anonymous (`value` is empty).
    Anonymous,
}

/// One inbound caller-ID block rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerIdBlock {
    /// How `value` is matched.
    pub kind: BlockKind,
    /// Digits with an optional leading `+` (1..=20 characters); empty for `anonymous`.
    #[serde(default)]
    pub value: String,
}

impl CallerIdBlock {
    fn validate(&self) -> Result<()> {
        let digits = self.value.strip_prefix('+').unwrap_or(&self.value);
        let ok = match self.kind {
            BlockKind::Anonymous => self.value.is_empty(),
            BlockKind::Exact | BlockKind::Prefix => {
                (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
            }
        };
        if ok {
            Ok(())
        } else {
            Err(StoreError::invalid(
                "inbound_blocks",
                format!(
                    "rule value {:?} must be digits with optional + (empty for anonymous)",
                    self.value
                ),
            ))
        }
    }
}

/// Password, SIP secret and PIN rules. Tenants can only tighten the platform minimums
/// (12-character passwords, 6-digit PINs). Rotation `None` means no expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialPolicy {
    /// Minimum login password length, 12..=128 (default 12).
    pub min_password_length: u16,
    /// Days after which a login password must be changed at next login.
    pub password_rotation_days: Option<u16>,
    /// Days after which an extension's SIP secret is reported as due for rotation.
    pub sip_secret_rotation_days: Option<u16>,
    /// Minimum voicemail PIN length, 6..=16 (default 6).
    pub pin_min_length: u8,
    /// Days after which a voicemail PIN is reported as due for rotation.
    pub pin_rotation_days: Option<u16>,
    /// Whether plain users must enroll TOTP too (admins always must).
    pub require_user_totp: bool,
}

impl Default for CredentialPolicy {
    fn default() -> Self {
        Self {
            min_password_length: 12,
            password_rotation_days: None,
            sip_secret_rotation_days: None,
            pin_min_length: 6,
            pin_rotation_days: None,
            require_user_totp: false,
        }
    }
}

impl CredentialPolicy {
    fn validate(&self) -> Result<()> {
        if !(12..=128).contains(&self.min_password_length) {
            return Err(StoreError::invalid("min_password_length", "must be 12 to 128"));
        }
        if !(6..=16).contains(&self.pin_min_length) {
            return Err(StoreError::invalid("pin_min_length", "must be 6 to 16"));
        }
        for (field, days) in [
            ("password_rotation_days", self.password_rotation_days),
            ("sip_secret_rotation_days", self.sip_secret_rotation_days),
            ("pin_rotation_days", self.pin_rotation_days),
        ] {
            if days == Some(0) {
                return Err(StoreError::invalid(field, "must be at least 1 day, or unset"));
            }
        }
        Ok(())
    }
}

/// Fraud limits as plain settings; the fraud engine interprets and enforces them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FraudLimits {
    /// Concurrent calls one extension may have (default 4).
    pub max_concurrent_calls_per_extension: u32,
    /// Concurrent calls the whole tenant may have (default 20).
    pub max_concurrent_calls_per_tenant: u32,
    /// New outbound calls per minute per extension (default 10).
    pub max_calls_per_minute_per_extension: u32,
    /// New outbound calls per minute for the tenant (default 60).
    pub max_calls_per_minute_per_tenant: u32,
    /// International minutes per day for the tenant (default 120).
    pub international_minutes_per_day: u32,
    /// Estimated spend cap per day in cents (default 5000).
    pub spend_cap_cents_per_day: u64,
}

impl Default for FraudLimits {
    fn default() -> Self {
        Self {
            max_concurrent_calls_per_extension: 4,
            max_concurrent_calls_per_tenant: 20,
            max_calls_per_minute_per_extension: 10,
            max_calls_per_minute_per_tenant: 60,
            international_minutes_per_day: 120,
            spend_cap_cents_per_day: 5000,
        }
    }
}

impl FraudLimits {
    fn validate(&self) -> Result<()> {
        if self.max_concurrent_calls_per_extension == 0 || self.max_concurrent_calls_per_tenant == 0
        {
            return Err(StoreError::invalid("fraud_limits", "concurrent call limits must be >= 1"));
        }
        if self.max_concurrent_calls_per_extension > self.max_concurrent_calls_per_tenant {
            return Err(StoreError::invalid(
                "fraud_limits",
                "per-extension concurrency cannot exceed the tenant's",
            ));
        }
        if self.spend_cap_cents_per_day > i64::MAX as u64 {
            return Err(StoreError::invalid("spend_cap_cents_per_day", "too large"));
        }
        Ok(())
    }
}

/// Who is told about fraud alerts and lockouts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationContacts {
    /// Email recipients.
    pub emails: Vec<Email>,
    /// An `https://` URL that receives signed JSON alerts (at most 2048 bytes).
    pub webhook_url: Option<String>,
}

impl NotificationContacts {
    fn validate(&self) -> Result<()> {
        if self.emails.len() > MAX_NOTIFICATION_EMAILS {
            return Err(StoreError::invalid("notifications.emails", "at most 20 addresses"));
        }
        if let Some(url) = &self.webhook_url {
            let rest = url.strip_prefix("https://").unwrap_or("");
            let host = rest.split(['/', ':', '?', '#']).next().unwrap_or("");
            let ok =
                url.len() <= 2048 && !host.is_empty() && url.bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                return Err(StoreError::invalid(
                    "notifications.webhook_url",
                    "must be an https:// URL without spaces, at most 2048 bytes",
                ));
            }
        }
        Ok(())
    }
}

/// Office hours at a fixed UTC offset (no daylight-saving rules).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Offset of the tenant's local time from UTC in minutes (-720..=840).
    pub utc_offset_minutes: i16,
    /// Open periods; a weekday may appear more than once (e.g. split shifts).
    pub periods: Vec<OpenPeriod>,
}

/// One open period on a weekday, in local minutes after midnight, `start < end <= 1440`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenPeriod {
    /// ISO weekday, 1 = Monday ..= 7 = Sunday.
    pub weekday: u8,
    /// Opening minute.
    pub start_minute: u16,
    /// Closing minute (exclusive).
    pub end_minute: u16,
}

impl BusinessHours {
    fn validate(&self) -> Result<()> {
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(StoreError::invalid("business_hours.utc_offset_minutes", "out of range"));
        }
        if self.periods.len() > 50 {
            return Err(StoreError::invalid("business_hours.periods", "at most 50 periods"));
        }
        for p in &self.periods {
            if !(1..=7).contains(&p.weekday)
                || p.start_minute >= p.end_minute
                || p.end_minute > 1440
            {
                return Err(StoreError::invalid(
                    "business_hours.periods",
                    "weekday must be 1..=7 and 0 <= start < end <= 1440",
                ));
            }
        }
        Ok(())
    }
}

/// Checks a tenant display name: 1..=100 characters, no control characters, trimmed.
pub(crate) fn validate_tenant_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if n == 0 || n > 100 || name.trim() != name || name.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            "name",
            "must be 1 to 100 characters without control characters or outer spaces",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TenantSettings {
        TenantSettings::new(CountryCode::parse("DE").unwrap())
    }

    #[test]
    fn defaults_are_secure() {
        let s = settings();
        assert_eq!(s.encryption, EncryptionRequirement::Required);
        assert!(!s.international_calling);
        assert!(s.allowed_countries.is_empty());
        assert_eq!(s.credential_policy.min_password_length, 12);
        s.validate().unwrap();
    }

    #[test]
    fn settings_deserialize_with_defaults_and_reject_unknown_fields() {
        let s: TenantSettings = serde_json::from_str(r#"{"home_country":"de"}"#).unwrap();
        assert_eq!(s, settings());
        assert!(serde_json::from_str::<TenantSettings>(r#"{"home_country":"DE","x":1}"#).is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = settings();
        s.inbound_blocks.push(CallerIdBlock { kind: BlockKind::Prefix, value: "+49a".into() });
        assert!(matches!(s.validate(), Err(StoreError::Invalid { field: "inbound_blocks", .. })));
        let mut s = settings();
        s.credential_policy.min_password_length = 8;
        assert!(matches!(
            s.validate(),
            Err(StoreError::Invalid { field: "min_password_length", .. })
        ));
        let mut s = settings();
        s.notifications.webhook_url = Some("http://example.com/hook".into());
        assert!(s.validate().is_err());
        s.notifications.webhook_url = Some("https://example.com/hook".into());
        s.validate().unwrap();
        let mut s = settings();
        s.business_hours = Some(BusinessHours {
            utc_offset_minutes: 60,
            periods: vec![OpenPeriod { weekday: 8, start_minute: 0, end_minute: 10 }],
        });
        assert!(s.validate().is_err());
    }

    #[test]
    fn tenant_names() {
        validate_tenant_name("Acme GmbH").unwrap();
        assert!(validate_tenant_name("").is_err());
        assert!(validate_tenant_name(" Acme").is_err());
        assert!(validate_tenant_name("a\nb").is_err());
    }
}
