//! Typed record ids. A `TenantId` cannot be passed where an `ExtensionId` is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

id_type!(
    /// Id of a [`Tenant`](crate::Tenant).
    TenantId
);
id_type!(
    /// Id of a [`User`](crate::User).
    UserId
);
id_type!(
    /// Id of an [`Extension`](crate::Extension).
    ExtensionId
);
id_type!(
    /// Id of a [`PhoneNumber`](crate::PhoneNumber).
    PhoneNumberId
);
id_type!(
    /// Id of a [`CallRecord`](crate::CallRecord).
    CallRecordId
);
id_type!(
    /// Id of an [`ApiToken`](crate::ApiToken).
    TokenId
);
id_type!(
    /// Id of a [`GuardRule`](crate::GuardRule).
    GuardRuleId
);
id_type!(
    /// Id of a [`FraudEventRecord`](crate::FraudEventRecord).
    FraudEventId
);
