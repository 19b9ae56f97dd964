//! Wire types of the REST API (JSON, documented in the OpenAPI document). They are kept apart
//! from the store's domain types so that the API stays stable when storage changes.

mod calling;
mod guard;
mod settings;
mod views;

pub use calling::*;
pub use guard::*;
pub use settings::*;
pub use views::*;

use serde::{Deserialize, Deserializer};

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
