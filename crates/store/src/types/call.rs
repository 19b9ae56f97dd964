//! Call history: one record per call, written by the B2BUA, read through the admin API.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{CallRecordId, ExtensionId, TenantId};
use crate::error::{Result, StoreError};

macro_rules! str_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }

            /// Parses the stored and wire name.
            pub fn parse(s: &str) -> Result<Self> {
                match s {
                    $($s => Ok($name::$variant),)+
                    _ => Err(StoreError::invalid($field, format!("unknown value {s:?}"))),
                }
            }
        }
    };
}

str_enum!(
    /// Which way a call went.
    CallDirection, "direction" {
        /// From the phone network (or a trunk) to the tenant.
        Inbound = "inbound",
        /// From the tenant to the phone network.
        Outbound = "outbound",
        /// Between two extensions of the tenant.
        Internal = "internal",
    }
);

str_enum!(
    /// How a call ended.
    Disposition, "disposition" {
        /// Answered and later hung up.
        Answered = "answered",
        /// The callee was busy (486/600).
        Busy = "busy",
        /// Nobody answered in time.
        NoAnswer = "no_answer",
        /// The callee was not registered or not reachable.
        Unavailable = "unavailable",
        /// The caller hung up before an answer.
        Cancelled = "cancelled",
        /// The callee declined (603).
        Rejected = "rejected",
        /// A policy or the fraud engine refused the call (see `reason`).
        Blocked = "blocked",
        /// Media stopped flowing and the call was ended.
        MediaTimeout = "media_timeout",
        /// Any other failure (see `reason` and `sip_status`).
        Failed = "failed",
    }
);

str_enum!(
    /// Which call forwarding of an extension sent a call on.
    ForwardReason, "forward_reason" {
        /// Unconditional: every call is forwarded without ringing the extension.
        Always = "always",
        /// Every device of the extension was busy.
        Busy = "busy",
        /// The extension rang and nobody answered (ring time over, or the device's own
        /// no-answer).
        NoAnswer = "no_answer",
        /// No device of the extension was registered or reachable.
        Unavailable = "unavailable",
    }
);

str_enum!(
    /// SIP transport of a call leg or registration.
    Transport, "transport" {
        /// UDP.
        Udp = "udp",
        /// TCP.
        Tcp = "tcp",
        /// TLS over TCP.
        Tls = "tls",
        /// WebSocket (RFC 7118).
        Ws = "ws",
        /// Secure WebSocket (RFC 7118).
        Wss = "wss",
    }
);

/// One call in the history of a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// Record id.
    pub id: CallRecordId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Everything else, as written.
    #[serde(flatten)]
    pub call: NewCallRecord,
}

/// A call record as the B2BUA writes it. Times are truncated to microseconds when stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCallRecord {
    /// SIP Call-ID of the caller's leg (at most 256 bytes).
    pub call_id: String,
    /// Caller (extension number or E.164, at most 128 bytes).
    pub caller: String,
    /// Callee as dialled or normalised (at most 128 bytes).
    pub callee: String,
    /// Which way the call went.
    pub direction: CallDirection,
    /// First INVITE received.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// 2xx sent to the caller.
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    /// Call ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Talk time in seconds (answer to end).
    pub duration_s: u32,
    /// How it ended.
    pub disposition: Disposition,
    /// Final SIP status sent to the caller, if any.
    pub sip_status: Option<u16>,
    /// Human-readable reason (policy refusals say which rule), at most 512 bytes.
    pub reason: Option<String>,
    /// Transport of the caller's leg.
    pub transport: Transport,
    /// Signalling and media were both encrypted (TLS + SRTP).
    pub encrypted: bool,
    /// Calling extension, if internal or outbound.
    pub from_extension_id: Option<ExtensionId>,
    /// Called extension, if internal or inbound.
    pub to_extension_id: Option<ExtensionId>,
    /// The extension whose call forwarding sent the call on, by number (the last one when
    /// forwards chain): a forwarded call to the phone network left on its behalf.
    #[serde(default)]
    pub forwarded_by: Option<String>,
    /// That extension's id.
    #[serde(default)]
    pub forwarded_by_extension_id: Option<ExtensionId>,
    /// Which of its forwards applied.
    #[serde(default)]
    pub forward_reason: Option<ForwardReason>,
}

impl NewCallRecord {
    pub(crate) fn validate(&self) -> Result<()> {
        let checks: [(&'static str, &str, usize); 4] = [
            ("call_id", &self.call_id, 256),
            ("caller", &self.caller, 128),
            ("callee", &self.callee, 128),
            ("forwarded_by", self.forwarded_by.as_deref().unwrap_or(""), 128),
        ];
        for (field, value, max) in checks {
            if value.len() > max || value.chars().any(char::is_control) {
                return Err(StoreError::invalid(
                    field,
                    format!("at most {max} bytes, no control characters"),
                ));
            }
        }
        if self.reason.as_ref().is_some_and(|r| r.len() > 512) {
            return Err(StoreError::invalid("reason", "at most 512 bytes"));
        }
        if let (Some(end), start) = (self.ended_at, self.started_at)
            && end < start
        {
            return Err(StoreError::invalid("ended_at", "before started_at"));
        }
        Ok(())
    }
}

/// Filters for [`list_call_records`](crate::CallRecordRepo::list_call_records); all optional,
/// combined with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallFilter {
    /// `started_at >= since`.
    pub since: Option<OffsetDateTime>,
    /// `started_at < until`.
    pub until: Option<OffsetDateTime>,
    /// Calls from, to or forwarded by any of these extensions (empty: all calls). At
    /// most 100.
    pub extension_ids: Vec<ExtensionId>,
    /// Only this direction.
    pub direction: Option<CallDirection>,
    /// Only this disposition.
    pub disposition: Option<Disposition>,
}

/// Largest page of call records.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Where a page of call history starts: after the record with this `(started_at, id)` in
/// newest-first order. Opaque to API clients via [`CallCursor::to_token`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallCursor {
    /// `started_at` of the last record of the previous page.
    pub started_at: OffsetDateTime,
    /// Id of that record.
    pub id: CallRecordId,
}

impl CallCursor {
    /// URL-safe opaque form.
    pub fn to_token(&self) -> String {
        let micros = (self.started_at.unix_timestamp_nanos() / 1000) as i64;
        let mut raw = Vec::with_capacity(24);
        raw.extend_from_slice(&micros.to_be_bytes());
        raw.extend_from_slice(self.id.0.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Parses [`CallCursor::to_token`] output.
    pub fn from_token(token: &str) -> Result<Self> {
        let bad = || StoreError::invalid("cursor", "not a cursor returned by this API");
        let raw =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        if raw.len() != 24 {
            return Err(bad());
        }
        let micros = i64::from_be_bytes(raw[..8].try_into().map_err(|_| bad())?);
        let started_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
            .map_err(|_| bad())?;
        let id = Uuid::from_slice(&raw[8..]).map_err(|_| bad())?;
        Ok(Self { started_at, id: CallRecordId(id) })
    }
}

/// One page of call history, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallPage {
    /// The records.
    pub records: Vec<CallRecord>,
    /// Pass this to get the next page; `None` on the last page.
    pub next: Option<CallCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = CallCursor {
            started_at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000)
                .unwrap(),
            id: CallRecordId::random(),
        };
        assert_eq!(CallCursor::from_token(&c.to_token()).unwrap(), c);
        assert!(CallCursor::from_token("abc").is_err());
        assert!(CallCursor::from_token("!!!!").is_err());
    }

    #[test]
    fn enums_round_trip_their_names() {
        for d in Disposition::ALL {
            assert_eq!(Disposition::parse(d.as_str()).unwrap(), *d);
            assert_eq!(serde_json::to_string(d).unwrap(), format!("\"{}\"", d.as_str()));
        }
        for d in CallDirection::ALL {
            assert_eq!(CallDirection::parse(d.as_str()).unwrap(), *d);
        }
        for t in Transport::ALL {
            assert_eq!(Transport::parse(t.as_str()).unwrap(), *t);
        }
        for f in ForwardReason::ALL {
            assert_eq!(ForwardReason::parse(f.as_str()).unwrap(), *f);
        }
        assert!(Disposition::parse("exploded").is_err());
    }
}
