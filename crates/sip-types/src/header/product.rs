//! The User-Agent and Server headers (RFC 3261 §20.35, §20.41), kept as text.
//!
//! ```text
//! User-Agent  =  "User-Agent" HCOLON server-val *(LWS server-val)
//! Server      =  "Server" HCOLON server-val *(LWS server-val)
//! server-val  =  product / comment
//! product     =  token [SLASH product-version]
//! ```

use std::fmt;

use crate::text;

macro_rules! product_header {
    ($(#[$doc:meta])* $t:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $t(pub String);

        impl $t {
            /// Takes the header value as text, folded line breaks replaced by spaces.
            pub fn parse(value: &str) -> $t {
                $t(unfold(value))
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

product_header!(
    /// The User-Agent header text (product tokens and comments).
    UserAgent
);
product_header!(
    /// The Server header text (product tokens and comments).
    Server
);

/// Trims a header value and replaces folded line breaks by single spaces.
pub(crate) fn unfold(value: &str) -> String {
    let v = text::trim_lws(value);
    if !v.contains(['\r', '\n']) {
        return v.to_owned();
    }
    let mut out = String::with_capacity(v.len());
    let mut last_ws = false;
    for c in v.chars() {
        let ws = matches!(c, ' ' | '\t' | '\r' | '\n');
        if ws {
            if !last_ws {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
        last_ws = ws;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text() {
        assert_eq!(UserAgent::parse(" SIPimp.org/0.2.5 (curses) ").0, "SIPimp.org/0.2.5 (curses)");
        assert_eq!(Server::parse("a/1\r\n  b/2").to_string(), "a/1 b/2");
    }
}
