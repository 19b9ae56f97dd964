//! The ordered header list of a message.
//!
//! ```text
//! message-header  =  (Accept / ... / extension-header) CRLF
//! extension-header  =  header-name HCOLON header-value
//! header-name       =  token
//! header-value      =  *(TEXT-UTF8char / UTF8-CONT / LWS)
//! HCOLON  =  *( SP / HTAB ) ":" SWS
//! ```
//!
//! Each header keeps its name as written and its value text byte-exact (folded
//! continuation lines included), so unknown headers pass through unchanged. All text
//! lives in one buffer; entries are spans into it, which keeps parsing to two
//! allocations. Typed values are parsed on access (see the `typed` accessors).

mod name;
mod typed;

use std::fmt;

pub use name::HeaderName;

/// One header as stored: name as written and value text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'a> {
    /// Name as written (may be a compact form such as `v`).
    pub name: &'a str,
    /// Value text as written, without leading and trailing white space; may contain
    /// folded line breaks (`CRLF` followed by SP/HTAB).
    pub value: &'a str,
}

impl HeaderField<'_> {
    /// The recognised header, if the name is known.
    pub fn known(&self) -> Option<HeaderName> {
        HeaderName::from_name(self.name)
    }
}

/// A header as spans into the shared buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) name: (u32, u32),
    pub(crate) value: (u32, u32),
    pub(crate) id: Option<HeaderName>,
}

/// Ordered list of headers with case-insensitive lookup (compact forms included).
#[derive(Clone, Default)]
pub struct Headers {
    buf: String,
    entries: Vec<Entry>,
    /// `buf` is exactly what [`Headers::write_to`] prints (a parsed header section
    /// already in canonical `Name: value CRLF` form, not edited since).
    canonical: bool,
}

/// A header name argument: a `&str` (any spelling) or a [`HeaderName`].
pub trait AsHeaderName {
    /// The known header this name denotes, if any.
    fn known(&self) -> Option<HeaderName>;
    /// The name as text.
    fn text(&self) -> &str;
}

impl AsHeaderName for &str {
    fn known(&self) -> Option<HeaderName> {
        HeaderName::from_name(self)
    }
    fn text(&self) -> &str {
        self
    }
}

impl AsHeaderName for HeaderName {
    fn known(&self) -> Option<HeaderName> {
        Some(*self)
    }
    fn text(&self) -> &str {
        self.as_str()
    }
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Headers::default()
    }

    /// An empty list with room for `n` headers of typical size.
    pub fn with_capacity(n: usize) -> Self {
        Headers {
            buf: String::with_capacity(n * 40),
            entries: Vec::with_capacity(n),
            canonical: false,
        }
    }

    /// Builds from the message parser's buffer and spans; `canonical` says whether
    /// `buf` already is the printed form.
    pub(crate) fn from_raw(buf: String, entries: Vec<Entry>, canonical: bool) -> Self {
        Headers { buf, entries, canonical }
    }

    /// Known id and value of every header, in order (for the message validator).
    pub(crate) fn raw_iter(&self) -> impl Iterator<Item = (Option<HeaderName>, &str)> + '_ {
        self.entries.iter().map(|e| (e.id, &self.buf[e.value.0 as usize..e.value.1 as usize]))
    }

    fn field(&self, e: &Entry) -> HeaderField<'_> {
        HeaderField {
            name: &self.buf[e.name.0 as usize..e.name.1 as usize],
            value: &self.buf[e.value.0 as usize..e.value.1 as usize],
        }
    }

    /// The value of the first line of known header `name` and whether another line of
    /// it follows (one pass over the entries, no text comparison).
    #[inline]
    pub(crate) fn first_known(&self, name: HeaderName) -> (Option<&str>, bool) {
        let mut it = self.entries.iter().filter(|e| e.id == Some(name));
        let first = it.next().map(|e| &self.buf[e.value.0 as usize..e.value.1 as usize]);
        (first, first.is_some() && it.next().is_some())
    }

    fn matches(&self, e: &Entry, known: Option<HeaderName>, text: &str) -> bool {
        match known {
            Some(k) => e.id == Some(k),
            None => {
                e.id.is_none()
                    && self.buf[e.name.0 as usize..e.name.1 as usize].eq_ignore_ascii_case(text)
            }
        }
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All headers in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = HeaderField<'_>> + '_ {
        self.entries.iter().map(|e| self.field(e))
    }

    /// The value of the first header called `name` (any spelling, compact form included).
    pub fn get(&self, name: impl AsHeaderName) -> Option<&str> {
        let (k, t) = (name.known(), name.text());
        self.entries.iter().find(|e| self.matches(e, k, t)).map(|e| self.field(e).value)
    }

    /// The values of every header line called `name`, in order.
    pub fn get_all(&self, name: impl AsHeaderName) -> impl Iterator<Item = &str> + '_ {
        let k = name.known();
        // The iterator outlives `name`: keep its text only when it is needed (an unknown
        // name), so looking up a known header allocates nothing.
        let t = if k.is_none() { name.text().to_owned() } else { String::new() };
        self.entries.iter().filter(move |e| self.matches(e, k, &t)).map(|e| self.field(e).value)
    }

    /// The comma-separated elements of every header line called `name`, in order
    /// (commas inside quoted strings and `<>` do not split). Only meaningful for headers
    /// whose grammar is a list (`Via`, `Contact`, `Route`, `Allow`, ...).
    pub fn values(&self, name: impl AsHeaderName) -> impl Iterator<Item = &str> + '_ {
        self.get_all(name).flat_map(split_list)
    }

    /// Number of header lines called `name`.
    pub fn count(&self, name: impl AsHeaderName) -> usize {
        self.get_all(name).count()
    }

    /// True when at least one header called `name` is present.
    pub fn contains(&self, name: impl AsHeaderName) -> bool {
        self.get(name).is_some()
    }

    fn append_text(&mut self, s: &str, is_name: bool) -> (u32, u32) {
        self.canonical = false;
        let start = self.buf.len();
        for c in s.chars() {
            let ok = if is_name {
                c.is_ascii() && crate::text::is_token_char(c as u8)
            } else {
                !matches!(c, '\r' | '\n' | '\0')
            };
            if ok {
                self.buf.push(c);
            } else if !is_name {
                self.buf.push(' ');
            }
        }
        (start as u32, self.buf.len() as u32)
    }

    fn make_entry(&mut self, name: &str, value: &str) -> Entry {
        let n = self.append_text(name, true);
        let v = self.append_text(crate::text::trim_lws(value), false);
        let id = HeaderName::from_name(&self.buf[n.0 as usize..n.1 as usize]);
        Entry { name: n, value: v, id }
    }

    /// Appends a header. Characters that cannot appear in a header name are dropped from
    /// `name`; CR, LF and NUL in `value` become spaces, so no input can inject a header.
    pub fn push(&mut self, name: impl AsHeaderName, value: &str) {
        let e = self.make_entry(name.text(), value);
        self.entries.push(e);
    }

    /// Inserts a header at position `index` (0 = first), e.g. a Via a proxy prepends.
    /// Panics if `index > len()`, like `Vec::insert`.
    pub fn insert(&mut self, index: usize, name: impl AsHeaderName, value: &str) {
        let e = self.make_entry(name.text(), value);
        self.entries.insert(index, e);
    }

    /// Inserts before the first header called `name` (or appends if there is none).
    /// Use it to add a topmost `Via` or `Record-Route`.
    pub fn push_front_of(&mut self, name: impl AsHeaderName, value: &str) {
        let (k, t) = (name.known(), name.text().to_owned());
        let idx =
            self.entries.iter().position(|e| self.matches(e, k, &t)).unwrap_or(self.entries.len());
        self.insert(idx, t.as_str(), value);
    }

    /// Replaces every header called `name` by one header with `value`, kept at the
    /// position of the first one (appended if absent).
    pub fn set(&mut self, name: impl AsHeaderName, value: &str) {
        let (k, t) = (name.known(), name.text().to_owned());
        let first = self.entries.iter().position(|e| self.matches(e, k, &t));
        match first {
            None => self.push(t.as_str(), value),
            Some(i) => {
                let v = self.append_text(crate::text::trim_lws(value), false);
                self.entries[i].value = v;
                let mut idx = 0;
                let buf = &self.buf;
                self.entries.retain(|e| {
                    let keep = idx <= i
                        || !match k {
                            Some(k) => e.id == Some(k),
                            None => {
                                e.id.is_none()
                                    && buf[e.name.0 as usize..e.name.1 as usize]
                                        .eq_ignore_ascii_case(&t)
                            }
                        };
                    idx += 1;
                    keep
                });
            }
        }
    }

    /// Same as [`Headers::set`].
    pub fn replace(&mut self, name: impl AsHeaderName, value: &str) {
        self.set(name, value);
    }

    /// Removes every header called `name`; returns how many were removed.
    pub fn remove(&mut self, name: impl AsHeaderName) -> usize {
        let (k, t) = (name.known(), name.text().to_owned());
        self.canonical = false;
        let before = self.entries.len();
        let buf = &self.buf;
        self.entries.retain(|e| !match k {
            Some(k) => e.id == Some(k),
            None => {
                e.id.is_none() && buf[e.name.0 as usize..e.name.1 as usize].eq_ignore_ascii_case(&t)
            }
        });
        before - self.entries.len()
    }

    /// Removes the first header line called `name` and returns its value.
    pub fn remove_first(&mut self, name: impl AsHeaderName) -> Option<String> {
        let (k, t) = (name.known(), name.text().to_owned());
        let i = self.entries.iter().position(|e| self.matches(e, k, &t))?;
        self.canonical = false;
        let e = self.entries.remove(i);
        Some(self.buf[e.value.0 as usize..e.value.1 as usize].to_owned())
    }

    /// Sets `Content-Length` to `len` (replacing any present).
    pub fn set_content_length(&mut self, len: usize) {
        self.set(HeaderName::ContentLength, &len.to_string());
    }

    /// Writes every header as `Name: value CRLF`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if self.canonical {
            out.extend_from_slice(self.buf.as_bytes());
            return;
        }
        for e in &self.entries {
            out.extend_from_slice(&self.buf.as_bytes()[e.name.0 as usize..e.name.1 as usize]);
            out.extend_from_slice(b": ");
            out.extend_from_slice(&self.buf.as_bytes()[e.value.0 as usize..e.value.1 as usize]);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Bytes [`Headers::write_to`] will write.
    pub fn printed_len(&self) -> usize {
        if self.canonical {
            return self.buf.len();
        }
        self.entries
            .iter()
            .map(|e| (e.name.1 - e.name.0 + e.value.1 - e.value.0) as usize + 4)
            .sum()
    }
}

impl PartialEq for Headers {
    /// Equal when the same names (case-insensitively) carry the same values in order.
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len()
            && self.iter().zip(other.iter()).all(|(a, b)| {
                let same_name = match (a.known(), b.known()) {
                    (Some(x), Some(y)) => x == y,
                    (None, None) => a.name.eq_ignore_ascii_case(b.name),
                    _ => false,
                };
                same_name && a.value == b.value
            })
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(|h| (h.name, h.value))).finish()
    }
}

impl fmt::Display for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for h in self.iter() {
            write!(f, "{}: {}\r\n", h.name, h.value)?;
        }
        Ok(())
    }
}

/// Splits a header value at commas that are outside quoted strings and `<>`; elements
/// are trimmed of white space. An empty value yields no element; empty elements between
/// commas are yielded as `""` so typed parsers can reject them.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    let b = value.as_bytes();
    let mut start = 0usize;
    let single = memchr::memchr(b',', b).is_none();
    let mut done = crate::text::trim_lws(value).is_empty();
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        if single {
            done = true;
            return Some(crate::text::trim_lws(value));
        }
        let mut i = start;
        let mut in_quote = false;
        let mut in_angle = false;
        while i < b.len() {
            match b[i] {
                b'\\' if in_quote => i += 1,
                b'"' if !in_angle => in_quote = !in_quote,
                b'<' if !in_quote => in_angle = true,
                b'>' if !in_quote => in_angle = false,
                b',' if !in_quote && !in_angle => break,
                _ => {}
            }
            i += 1;
        }
        let i = i.min(b.len());
        let item = crate::text::trim_lws(&value[start..i]);
        if i >= b.len() {
            done = true;
        } else {
            start = i + 1;
        }
        Some(item)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Headers {
        let mut h = Headers::new();
        h.push("Via", "SIP/2.0/UDP a;branch=z9hG4bK1");
        h.push("v", "SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c");
        h.push("i", "abc@host");
        h.push("X-Custom", "  keep  me ");
        h
    }

    #[test]
    fn lookup_case_and_compact() {
        let h = sample();
        assert_eq!(h.get("call-id"), Some("abc@host"));
        assert_eq!(h.get("CALL-ID"), Some("abc@host"));
        assert_eq!(h.get(HeaderName::CallId), Some("abc@host"));
        assert_eq!(h.get("x-custom"), Some("keep  me"));
        assert_eq!(h.count("via"), 2);
        assert_eq!(
            h.values("Via").collect::<Vec<_>>(),
            ["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b;branch=z9hG4bK2", "SIP/2.0/UDP c"]
        );
        assert!(!h.contains("Route"));
    }

    #[test]
    fn edit() {
        let mut h = sample();
        h.push_front_of("Via", "SIP/2.0/TCP top");
        assert_eq!(h.get("v"), Some("SIP/2.0/TCP top"));
        h.set("Via", "only");
        assert_eq!(h.get_all("via").collect::<Vec<_>>(), ["only"]);
        assert_eq!(h.iter().next().unwrap().value, "only");
        assert_eq!(h.remove("VIA"), 1);
        h.set_content_length(42);
        assert_eq!(h.get("l"), Some("42"));
        assert_eq!(h.remove_first("i").as_deref(), Some("abc@host"));
        h.push("Bad\r\nName", "evil\r\nInjected: yes");
        let mut out = Vec::new();
        h.write_to(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("BadName: evil  Injected: yes\r\n"), "{text}");
        assert_eq!(text.len(), h.printed_len());
    }

    #[test]
    fn list_splitting() {
        let v: Vec<_> = split_list(r#""a, b" <sip:x,y@h>;p=1 , <sip:z@h>"#).collect();
        assert_eq!(v, [r#""a, b" <sip:x,y@h>;p=1"#, "<sip:z@h>"]);
        assert_eq!(split_list("a,,b").collect::<Vec<_>>(), ["a", "", "b"]);
        assert_eq!(split_list("  ").count(), 0);
        assert_eq!(split_list(r#""\"," x"#).collect::<Vec<_>>(), [r#""\"," x"#]);
    }
}
