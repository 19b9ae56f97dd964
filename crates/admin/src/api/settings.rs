//! Tenant settings as the API shows and accepts them, one section per endpoint, and their
//! conversion into the store's validated types (errors name the request field).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ringfence_store as store;

use crate::error::{Error, Result};

/// TLS + SRTP requirement for a tenant's devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encryption {
    /// TLS + SRTP only (the default).
    Required,
    /// Encrypted when offered.
    Preferred,
    /// No requirement.
    Optional,
}

impl From<Encryption> for store::EncryptionRequirement {
    fn from(e: Encryption) -> Self {
        match e {
            Encryption::Required => Self::Required,
            Encryption::Preferred => Self::Preferred,
            Encryption::Optional => Self::Optional,
        }
    }
}

impl From<store::EncryptionRequirement> for Encryption {
    fn from(e: store::EncryptionRequirement) -> Self {
        match e {
            store::EncryptionRequirement::Required => Self::Required,
            store::EncryptionRequirement::Preferred => Self::Preferred,
            store::EncryptionRequirement::Optional => Self::Optional,
        }
    }
}

/// Every setting of a tenant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantSettingsView {
    /// Home country, encryption, business hours.
    pub general: GeneralSettings,
    /// International calling.
    pub calling: CallingPolicy,
    /// Inbound caller-ID block list.
    pub inbound_blocks: BlockRules,
    /// Allowed device networks.
    pub device_networks: DeviceNetworks,
    /// Password, SIP secret and PIN rules.
    pub credential_policy: CredentialPolicy,
    /// Fraud limits.
    pub fraud_limits: FraudLimits,
    /// Who is told about alerts.
    pub notifications: Notifications,
}

impl From<&store::TenantSettings> for TenantSettingsView {
    fn from(s: &store::TenantSettings) -> Self {
        Self {
            general: GeneralSettings::from(s),
            calling: CallingPolicy::from(s),
            inbound_blocks: BlockRules::from(s),
            device_networks: DeviceNetworks::from(s),
            credential_policy: CredentialPolicy::from(&s.credential_policy),
            fraud_limits: FraudLimits::from(&s.fraud_limits),
            notifications: Notifications::from(&s.notifications),
        }
    }
}

/// Home country, encryption requirement and office hours.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneralSettings {
    /// ISO 3166-1 alpha-2 code used to read national numbers.
    #[schema(example = "DE")]
    pub home_country: String,
    /// TLS + SRTP requirement.
    pub encryption: Encryption,
    /// Office hours (calls outside weigh in the fraud score); `null`: not set.
    #[serde(default)]
    pub business_hours: Option<BusinessHours>,
}

impl From<&store::TenantSettings> for GeneralSettings {
    fn from(s: &store::TenantSettings) -> Self {
        Self {
            home_country: s.home_country.to_string(),
            encryption: s.encryption.into(),
            business_hours: s.business_hours.as_ref().map(|b| BusinessHours {
                utc_offset_minutes: b.utc_offset_minutes,
                periods: b
                    .periods
                    .iter()
                    .map(|p| OpenPeriod {
                        weekday: p.weekday,
                        start_minute: p.start_minute,
                        end_minute: p.end_minute,
                    })
                    .collect(),
            }),
        }
    }
}

impl GeneralSettings {
    /// Writes this section into `s`.
    pub fn apply(self, s: &mut store::TenantSettings) -> Result<()> {
        s.home_country = store::CountryCode::parse(&self.home_country)
            .map_err(|e| Error::from(e).with_field("home_country"))?;
        s.encryption = self.encryption.into();
        s.business_hours = self.business_hours.map(|b| store::BusinessHours {
            utc_offset_minutes: b.utc_offset_minutes,
            periods: b
                .periods
                .into_iter()
                .map(|p| store::OpenPeriod {
                    weekday: p.weekday,
                    start_minute: p.start_minute,
                    end_minute: p.end_minute,
                })
                .collect(),
        });
        Ok(())
    }
}

/// Office hours at a fixed UTC offset.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Minutes from UTC, -720..=840.
    #[schema(minimum = -720, maximum = 840)]
    pub utc_offset_minutes: i16,
    /// Open periods (at most 50).
    pub periods: Vec<OpenPeriod>,
}

/// One open period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenPeriod {
    /// ISO weekday, 1 = Monday ..= 7 = Sunday.
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: u8,
    /// Opening minute after local midnight.
    #[schema(maximum = 1439)]
    pub start_minute: u16,
    /// Closing minute (exclusive), at most 1440.
    #[schema(maximum = 1440)]
    pub end_minute: u16,
}

/// International calling.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallingPolicy {
    /// Whether calls may leave the home country.
    pub international_calling: bool,
    /// Destination countries allowed when it is on (ISO 3166-1 alpha-2 codes).
    #[schema(example = json!(["FR", "AT"]))]
    pub allowed_countries: Vec<String>,
}

impl From<&store::TenantSettings> for CallingPolicy {
    fn from(s: &store::TenantSettings) -> Self {
        Self {
            international_calling: s.international_calling,
            allowed_countries: s.allowed_countries.iter().map(ToString::to_string).collect(),
        }
    }
}

impl CallingPolicy {
    /// Writes this section into `s`.
    pub fn apply(self, s: &mut store::TenantSettings) -> Result<()> {
        if self.allowed_countries.len() > 300 {
            return Err(Error::invalid("allowed_countries", "at most 300 countries"));
        }
        let mut set = BTreeSet::new();
        for (i, c) in self.allowed_countries.iter().enumerate() {
            let code = store::CountryCode::parse(c)
                .map_err(|e| Error::from(e).with_field(&format!("allowed_countries[{i}]")))?;
            set.insert(code);
        }
        s.international_calling = self.international_calling;
        s.allowed_countries = set;
        Ok(())
    }
}

/// What a block rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// The caller ID equals `value`.
    Exact,
    /// The caller ID starts with `value`.
    Prefix,
    /// Withheld or anonymous caller ID (`value` empty).
    Anonymous,
}

/// One inbound block rule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRule {
    /// How `value` matches.
    pub kind: BlockKind,
    /// Digits with optional leading `+` (1..=20); empty for `anonymous`.
    #[serde(default)]
    #[schema(example = "+4990")]
    pub value: String,
}

/// The inbound caller-ID block list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRules {
    /// Rules (at most 1000).
    pub rules: Vec<BlockRule>,
}

impl From<&store::TenantSettings> for BlockRules {
    fn from(s: &store::TenantSettings) -> Self {
        Self {
            rules: s
                .inbound_blocks
                .iter()
                .map(|r| BlockRule {
                    kind: match r.kind {
                        store::BlockKind::Exact => BlockKind::Exact,
                        store::BlockKind::Prefix => BlockKind::Prefix,
                        store::BlockKind::Anonymous => BlockKind::Anonymous,
                    },
                    value: r.value.clone(),
                })
                .collect(),
        }
    }
}

impl BlockRules {
    /// Writes this section into `s`, checking each rule.
    pub fn apply(self, s: &mut store::TenantSettings) -> Result<()> {
        if self.rules.len() > store::MAX_INBOUND_BLOCKS {
            return Err(Error::invalid("rules", "at most 1000 rules"));
        }
        let mut out = Vec::with_capacity(self.rules.len());
        for (i, r) in self.rules.into_iter().enumerate() {
            let kind = match r.kind {
                BlockKind::Exact => store::BlockKind::Exact,
                BlockKind::Prefix => store::BlockKind::Prefix,
                BlockKind::Anonymous => store::BlockKind::Anonymous,
            };
            let digits = r.value.strip_prefix('+').unwrap_or(&r.value);
            let ok = match kind {
                store::BlockKind::Anonymous => r.value.is_empty(),
                _ => (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
            };
            if !ok {
                return Err(Error::invalid(
                    format!("rules[{i}].value"),
                    "digits with an optional leading + (1 to 20), empty for anonymous",
                ));
            }
            out.push(store::CallerIdBlock { kind, value: r.value });
        }
        s.inbound_blocks = out;
        Ok(())
    }
}

/// Networks devices may register and call from (CIDR); empty: any.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceNetworks {
    /// CIDRs such as `192.0.2.0/24` or `2001:db8::/32`; a bare address means that host.
    #[schema(example = json!(["192.0.2.0/24"]))]
    pub networks: Vec<String>,
}

impl From<&store::TenantSettings> for DeviceNetworks {
    fn from(s: &store::TenantSettings) -> Self {
        Self { networks: s.device_networks.iter().map(ToString::to_string).collect() }
    }
}

impl DeviceNetworks {
    /// Writes this section into `s` (networks normalised to their base address).
    pub fn apply(self, s: &mut store::TenantSettings) -> Result<()> {
        if self.networks.len() > store::MAX_DEVICE_NETWORKS {
            return Err(Error::invalid("networks", "at most 256 networks"));
        }
        let mut out = Vec::with_capacity(self.networks.len());
        for (i, n) in self.networks.iter().enumerate() {
            let net = n
                .parse::<ipnet::IpNet>()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    Error::invalid(format!("networks[{i}]"), "not a CIDR such as 192.0.2.0/24")
                })?;
            out.push(net.trunc());
        }
        out.sort();
        out.dedup();
        s.device_networks = out;
        Ok(())
    }
}

/// Password, SIP secret and PIN rules. Rotation `null`: no expiry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialPolicy {
    /// Minimum login password length, 12..=128.
    #[schema(minimum = 12, maximum = 128)]
    pub min_password_length: u16,
    /// Days after which a login password must be changed.
    #[schema(minimum = 1)]
    pub password_rotation_days: Option<u16>,
    /// Days after which a SIP secret is reported for rotation.
    #[schema(minimum = 1)]
    pub sip_secret_rotation_days: Option<u16>,
    /// Minimum PIN length, 6..=16.
    #[schema(minimum = 6, maximum = 16)]
    pub pin_min_length: u8,
    /// Days after which a PIN is reported for rotation.
    #[schema(minimum = 1)]
    pub pin_rotation_days: Option<u16>,
    /// Plain users must enroll TOTP too.
    pub require_user_totp: bool,
}

impl From<&store::CredentialPolicy> for CredentialPolicy {
    fn from(p: &store::CredentialPolicy) -> Self {
        Self {
            min_password_length: p.min_password_length,
            password_rotation_days: p.password_rotation_days,
            sip_secret_rotation_days: p.sip_secret_rotation_days,
            pin_min_length: p.pin_min_length,
            pin_rotation_days: p.pin_rotation_days,
            require_user_totp: p.require_user_totp,
        }
    }
}

impl From<CredentialPolicy> for store::CredentialPolicy {
    fn from(p: CredentialPolicy) -> Self {
        Self {
            min_password_length: p.min_password_length,
            password_rotation_days: p.password_rotation_days,
            sip_secret_rotation_days: p.sip_secret_rotation_days,
            pin_min_length: p.pin_min_length,
            pin_rotation_days: p.pin_rotation_days,
            require_user_totp: p.require_user_totp,
        }
    }
}

/// Fraud limits, enforced by the fraud engine.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FraudLimits {
    /// Concurrent calls per extension (>= 1, at most the tenant's).
    #[schema(minimum = 1)]
    pub max_concurrent_calls_per_extension: u32,
    /// Concurrent calls per tenant (>= 1).
    #[schema(minimum = 1)]
    pub max_concurrent_calls_per_tenant: u32,
    /// New outbound calls per minute per extension.
    pub max_calls_per_minute_per_extension: u32,
    /// New outbound calls per minute for the tenant.
    pub max_calls_per_minute_per_tenant: u32,
    /// International minutes per day.
    pub international_minutes_per_day: u32,
    /// Estimated spend cap per day, in cents.
    #[schema(maximum = 9_223_372_036_854_775_807_u64)]
    pub spend_cap_cents_per_day: u64,
}

impl From<&store::FraudLimits> for FraudLimits {
    fn from(f: &store::FraudLimits) -> Self {
        Self {
            max_concurrent_calls_per_extension: f.max_concurrent_calls_per_extension,
            max_concurrent_calls_per_tenant: f.max_concurrent_calls_per_tenant,
            max_calls_per_minute_per_extension: f.max_calls_per_minute_per_extension,
            max_calls_per_minute_per_tenant: f.max_calls_per_minute_per_tenant,
            international_minutes_per_day: f.international_minutes_per_day,
            spend_cap_cents_per_day: f.spend_cap_cents_per_day,
        }
    }
}

impl From<FraudLimits> for store::FraudLimits {
    fn from(f: FraudLimits) -> Self {
        Self {
            max_concurrent_calls_per_extension: f.max_concurrent_calls_per_extension,
            max_concurrent_calls_per_tenant: f.max_concurrent_calls_per_tenant,
            max_calls_per_minute_per_extension: f.max_calls_per_minute_per_extension,
            max_calls_per_minute_per_tenant: f.max_calls_per_minute_per_tenant,
            international_minutes_per_day: f.international_minutes_per_day,
            spend_cap_cents_per_day: f.spend_cap_cents_per_day,
        }
    }
}

/// Who hears about fraud alerts and lockouts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Email recipients (at most 20).
    pub emails: Vec<String>,
    /// Read only, always null for new settings: fraud alerts are POSTed, signed, to the
    /// tenant's webhook (`PUT /api/v1/tenants/{tenant_id}/webhook`). A value here is
    /// refused with 422, since nothing would deliver to it.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

impl From<&store::NotificationContacts> for Notifications {
    fn from(n: &store::NotificationContacts) -> Self {
        Self {
            emails: n.emails.iter().map(ToString::to_string).collect(),
            webhook_url: n.webhook_url.clone(),
        }
    }
}

impl Notifications {
    /// The store's form, each email checked.
    pub fn into_store(self) -> Result<store::NotificationContacts> {
        if self.webhook_url.is_some() {
            return Err(Error::invalid(
                "webhook_url",
                "alerts go to the tenant's signed webhook: set it with PUT \
                 /api/v1/tenants/{tenant_id}/webhook (this field is kept only for reading)",
            ));
        }
        if self.emails.len() > store::MAX_NOTIFICATION_EMAILS {
            return Err(Error::invalid("emails", "at most 20 addresses"));
        }
        let mut emails = Vec::with_capacity(self.emails.len());
        for (i, e) in self.emails.iter().enumerate() {
            emails.push(
                store::Email::parse(e)
                    .map_err(|e| Error::from(e).with_field(&format!("emails[{i}]")))?,
            );
        }
        Ok(store::NotificationContacts { emails, webhook_url: self.webhook_url })
    }
}
