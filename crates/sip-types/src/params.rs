//! Ordered `;name[=value]` parameter lists, shared by URIs and header values.
//!
//! ```text
//! generic-param  =  token [ EQUAL gen-value ]
//! gen-value      =  token / host / quoted-string
//! uri-parameter  =  pname [ "=" pvalue ]        ; inside SIP URIs, no LWS
//! ```
//! Names compare case-insensitively (RFC 3261 §7.3.1). Values are stored as written,
//! a quoted-string keeps its quotes; use [`Params::get_unquoted`] for the text.

use std::borrow::Cow;
use std::fmt;

use crate::text::{self, Scanner};

/// One parameter: a name and an optional value, both as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// Parameter name as written.
    pub name: String,
    /// Value as written (a quoted-string keeps its quotes); `None` for a flag parameter.
    pub value: Option<String>,
}

impl Param {
    /// A parameter with a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Param { name: name.into(), value: Some(value.into()) }
    }

    /// A parameter without a value (e.g. `lr`).
    pub fn flag(name: impl Into<String>) -> Self {
        Param { name: name.into(), value: None }
    }
}

/// An ordered list of parameters with case-insensitive lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Params(pub Vec<Param>);

impl Params {
    /// An empty list.
    pub const fn new() -> Self {
        Params(Vec::new())
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Iterates in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Param> {
        self.0.iter()
    }

    /// The first parameter called `name` (case-insensitive).
    pub fn find(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// True when a parameter called `name` is present, with or without value.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The value of `name` as written. `Some("")` for a flag parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.find(name).map(|p| p.value.as_deref().unwrap_or(""))
    }

    /// The value of `name` with a quoted-string's quotes and escapes removed.
    pub fn get_unquoted(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|v| if v.starts_with('"') { text::unquote(v) } else { Cow::Borrowed(v) })
    }

    /// Sets `name` to `value`, replacing the first existing parameter of that name or
    /// appending a new one.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self.0.iter_mut().find(|p| p.name.eq_ignore_ascii_case(name)) {
            Some(p) => p.value = value,
            None => self.0.push(Param { name: name.to_owned(), value }),
        }
    }

    /// Removes every parameter called `name`; returns whether any was present.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
        before != self.0.len()
    }

    /// Appends a parameter.
    pub fn push(&mut self, param: Param) {
        self.0.push(param);
    }

    /// Parses `*( SEMI generic-param )` of a header value, starting at a `;` (after
    /// optional SWS). Stops (without consuming) at anything that is not `SWS ";"`.
    pub(crate) fn parse_header_params(s: &mut Scanner<'_>) -> Result<Params, &'static str> {
        scan_header_params(s).map(Params::from_raw)
    }

    /// Builds the list from header-parameter text validated by [`scan_header_params`].
    pub(crate) fn from_raw(raw: &str) -> Params {
        Params(
            iter_raw(raw)
                .map(|(n, v)| Param { name: n.to_owned(), value: v.map(str::to_owned) })
                .collect(),
        )
    }

    /// Writes `;name=value` for each parameter.
    pub(crate) fn write(&self, f: &mut impl fmt::Write) -> fmt::Result {
        for p in &self.0 {
            f.write_char(';')?;
            f.write_str(&p.name)?;
            if let Some(v) = &p.value {
                f.write_char('=')?;
                f.write_str(v)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}

impl<'a> IntoIterator for &'a Params {
    type Item = &'a Param;
    type IntoIter = std::slice::Iter<'a, Param>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Validates `*( SEMI generic-param )` without allocating and returns the text it
/// covered (use [`iter_raw`] or [`Params::from_raw`] on it).
pub(crate) fn scan_header_params<'a>(s: &mut Scanner<'a>) -> Result<&'a str, &'static str> {
    let start = s.pos();
    let mut end = start;
    while s.eat_sep(b';') {
        s.token().ok_or("empty or malformed parameter")?;
        if s.eat_sep(b'=') {
            gen_value(s)?;
        }
        end = s.pos();
    }
    s.set_pos(end);
    Ok(s.slice(start, end))
}

/// Iterates `(name, value)` over header-parameter text already validated by
/// [`scan_header_params`] (or by a stricter scanner with the same lexical form).
pub(crate) fn iter_raw(raw: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    let mut s = Scanner::new(raw);
    std::iter::from_fn(move || {
        if !s.eat_sep(b';') {
            return None;
        }
        let name = s.token()?;
        let value = if s.eat_sep(b'=') { gen_value(&mut s).ok() } else { None };
        Some((name, value))
    })
}

/// `gen-value = token / host / quoted-string`
pub(crate) fn gen_value<'a>(s: &mut Scanner<'a>) -> Result<&'a str, &'static str> {
    match s.peek() {
        Some(b'"') => s.quoted_string(),
        Some(b'[') => {
            let start = s.pos();
            s.take_while(|b| b != b']' && b != b';' && b != b',' && b != b' ');
            if !s.eat(b']') {
                return Err("unterminated IPv6 reference in parameter value");
            }
            let v = s.slice(start, s.pos());
            crate::host::Host::check(v).map_err(|_| "invalid IPv6 reference in parameter value")?;
            Ok(v)
        }
        _ => {
            // token and host share their characters except ':' in IPv6 addresses,
            // which appear unbracketed in Via received (RFC 5118 §4.5).
            let v = s.take_while(|b| text::is_token_char(b) || b == b':');
            if v.is_empty() { Err("empty parameter value") } else { Ok(v) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params_with_lws() {
        let mut s = Scanner::new(" ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33");
        let p = Params::parse_header_params(&mut s).unwrap();
        assert!(s.is_empty());
        assert_eq!(p.get("NEWPARAM"), Some("newvalue"));
        assert_eq!(p.get("secondparam"), Some(""));
        assert_eq!(p.get("q"), Some("0.33"));
        assert_eq!(p.to_string(), ";newparam=newvalue;secondparam;q=0.33");
    }

    #[test]
    fn empty_param_rejected() {
        let mut s = Scanner::new(";;");
        assert!(Params::parse_header_params(&mut s).is_err());
    }

    #[test]
    fn set_and_remove() {
        let mut p = Params::new();
        p.set("tag", Some("1"));
        p.set("TAG", Some("2"));
        assert_eq!(p.len(), 1);
        assert_eq!(p.get("tag"), Some("2"));
        assert!(p.remove("Tag"));
        assert!(p.is_empty());
        p.set("x", Some("\"a\\\"b\""));
        assert_eq!(p.get_unquoted("x").unwrap(), "a\"b");
    }
}
