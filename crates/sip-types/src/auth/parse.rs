//! The scanner for challenge and credentials values: one pass over the bytes into raw
//! `name=value` pairs, then interpretation of the known digest parameters.

use std::borrow::Cow;

use super::{
    Algorithm, AuthParam, AuthParseError, Challenge, Credentials, DigestChallenge,
    DigestCredentials, MAX_PARAMS, MAX_VALUE_LEN, Qop, is_quotable, is_token, is_token_byte,
};

/// One `name=value` pair as scanned.
struct RawParam<'a> {
    name: &'a str,
    value: Cow<'a, str>,
    quoted: bool,
}

/// Scheme and raw parameters of a value.
struct Raw<'a> {
    scheme: &'a str,
    params: Vec<RawParam<'a>>,
}

pub(super) fn challenge(value: &str) -> Result<Challenge, AuthParseError> {
    let raw = scan(value)?;
    if !raw.scheme.eq_ignore_ascii_case("Digest") {
        return Ok(Challenge::Other { scheme: raw.scheme.to_owned(), params: other(raw.params) });
    }
    let mut c = DigestChallenge::default();
    let (mut realm, mut nonce) = (false, false);
    for p in raw.params {
        let name = p.name;
        if name.eq_ignore_ascii_case("realm") {
            c.realm = p.value.into_owned();
            realm = true;
        } else if name.eq_ignore_ascii_case("nonce") {
            c.nonce = p.value.into_owned();
            nonce = true;
        } else if name.eq_ignore_ascii_case("domain") {
            c.domain = p.value.split_ascii_whitespace().map(str::to_owned).collect();
        } else if name.eq_ignore_ascii_case("opaque") {
            c.opaque = Some(p.value.into_owned());
        } else if name.eq_ignore_ascii_case("stale") {
            c.stale = flag("stale", &p.value)?;
        } else if name.eq_ignore_ascii_case("algorithm") {
            c.algorithm = Some(algorithm(&p.value)?);
        } else if name.eq_ignore_ascii_case("qop") {
            c.qop_options = qop_options(&p.value)?;
        } else if name.eq_ignore_ascii_case("charset") {
            c.charset = Some(p.value.into_owned());
        } else if name.eq_ignore_ascii_case("userhash") {
            c.userhash = flag("userhash", &p.value)?;
        } else {
            c.params.push(extension(p));
        }
    }
    if !realm {
        return Err(AuthParseError::MissingParam("realm"));
    }
    if !nonce {
        return Err(AuthParseError::MissingParam("nonce"));
    }
    Ok(Challenge::Digest(c))
}

pub(super) fn credentials(value: &str) -> Result<Credentials, AuthParseError> {
    let raw = scan(value)?;
    if !raw.scheme.eq_ignore_ascii_case("Digest") {
        return Ok(Credentials::Other { scheme: raw.scheme.to_owned(), params: other(raw.params) });
    }
    let mut c = DigestCredentials::default();
    // username, realm, nonce, uri, response
    let mut seen = [false; 5];
    for p in raw.params {
        let name = p.name;
        if name.eq_ignore_ascii_case("username") {
            c.username = p.value.into_owned();
            seen[0] = true;
        } else if name.eq_ignore_ascii_case("realm") {
            c.realm = p.value.into_owned();
            seen[1] = true;
        } else if name.eq_ignore_ascii_case("nonce") {
            c.nonce = p.value.into_owned();
            seen[2] = true;
        } else if name.eq_ignore_ascii_case("uri") {
            c.uri = p.value.into_owned();
            seen[3] = true;
        } else if name.eq_ignore_ascii_case("response") {
            c.response = p.value.into_owned();
            seen[4] = true;
        } else if name.eq_ignore_ascii_case("algorithm") {
            c.algorithm = Some(algorithm(&p.value)?);
        } else if name.eq_ignore_ascii_case("cnonce") {
            c.cnonce = Some(p.value.into_owned());
        } else if name.eq_ignore_ascii_case("opaque") {
            c.opaque = Some(p.value.into_owned());
        } else if name.eq_ignore_ascii_case("qop") {
            if !is_token(&p.value) {
                return Err(invalid("qop", "not a token"));
            }
            c.qop = Some(Qop::from_token(&p.value));
        } else if name.eq_ignore_ascii_case("nc") {
            c.nc = Some(nonce_count(&p.value)?);
        } else if name.eq_ignore_ascii_case("userhash") {
            c.userhash = flag("userhash", &p.value)?;
        } else {
            c.params.push(extension(p));
        }
    }
    const REQUIRED: [&str; 5] = ["username", "realm", "nonce", "uri", "response"];
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(AuthParseError::MissingParam(REQUIRED[i]));
    }
    Ok(Credentials::Digest(c))
}

fn invalid(param: &'static str, reason: &'static str) -> AuthParseError {
    AuthParseError::InvalidValue { param, reason }
}

fn other(params: Vec<RawParam<'_>>) -> Vec<AuthParam> {
    params.into_iter().map(extension).collect()
}

fn extension(p: RawParam<'_>) -> AuthParam {
    AuthParam { name: p.name.to_owned(), value: p.value.into_owned(), quoted: p.quoted }
}

/// `"true" / "false"`, case-insensitively (RFC 7616 §3.3).
fn flag(param: &'static str, value: &str) -> Result<bool, AuthParseError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(invalid(param, "must be true or false"))
    }
}

fn algorithm(value: &str) -> Result<Algorithm, AuthParseError> {
    if is_token(value) {
        Ok(Algorithm::from_token(value))
    } else {
        Err(invalid("algorithm", "not a token"))
    }
}

/// `qop-options = "qop" EQUAL LDQUOT qop-value *("," qop-value) RDQUOT`, tolerating
/// whitespace around the commas.
fn qop_options(value: &str) -> Result<Vec<Qop>, AuthParseError> {
    value
        .split(',')
        .map(|v| {
            let v = v.trim_matches([' ', '\t']);
            if is_token(v) {
                Ok(Qop::from_token(v))
            } else {
                Err(invalid("qop", "not a comma-separated list of tokens"))
            }
        })
        .collect()
}

/// `nc-value = 8LHEX`.
fn nonce_count(value: &str) -> Result<u32, AuthParseError> {
    let b = value.as_bytes();
    if b.len() != 8 || !b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(invalid("nc", "must be exactly 8 lowercase hex digits"));
    }
    u32::from_str_radix(value, 16).map_err(|_| invalid("nc", "must be exactly 8 hex digits"))
}

/// Scans `scheme LWS param *(COMMA param)` into raw parts, enforcing the size and count
/// limits and refusing duplicate names.
fn scan(value: &str) -> Result<Raw<'_>, AuthParseError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(AuthParseError::TooLong { len: value.len(), max: MAX_VALUE_LEN });
    }
    let mut s = Scanner { src: value, pos: 0 };
    s.skip_ws();
    if s.at_end() {
        return Err(AuthParseError::Empty);
    }
    let scheme = s.token().ok_or(s.expected("authentication scheme"))?;
    let mut params: Vec<RawParam<'_>> = Vec::new();
    let after_scheme = s.pos;
    s.skip_ws();
    if s.at_end() {
        return Ok(Raw { scheme, params });
    }
    if s.pos == after_scheme {
        return Err(s.expected("whitespace after the scheme"));
    }
    loop {
        let name = s.token().ok_or(s.expected("parameter name"))?;
        s.skip_ws();
        if !s.eat(b'=') {
            return Err(s.expected("'=' after the parameter name"));
        }
        s.skip_ws();
        let (value, quoted) = if s.peek() == Some(b'"') {
            (s.quoted()?, true)
        } else {
            (Cow::Borrowed(s.token().ok_or(s.expected("token or quoted string"))?), false)
        };
        if params.len() == MAX_PARAMS {
            return Err(AuthParseError::TooManyParams { max: MAX_PARAMS });
        }
        if params.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(AuthParseError::DuplicateParam(name.to_owned()));
        }
        params.push(RawParam { name, value, quoted });
        s.skip_ws();
        if s.at_end() {
            return Ok(Raw { scheme, params });
        }
        if !s.eat(b',') {
            return Err(s.expected("',' between parameters"));
        }
        s.skip_ws();
    }
}

struct Scanner<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.pos += usize::from(hit);
        hit
    }

    fn expected(&self, expected: &'static str) -> AuthParseError {
        AuthParseError::Expected { expected, at: self.pos }
    }

    /// SWS: spaces and tabs (folding was undone by the caller).
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let len = self.src.as_bytes()[start..].iter().take_while(|&&b| is_token_byte(b)).count();
        self.pos += len;
        // Token bytes are ASCII, so both ends are char boundaries.
        (len > 0).then(|| &self.src[start..start + len])
    }

    /// `quoted-string = DQUOTE *(qdtext / quoted-pair ) DQUOTE`, returning the content with
    /// escapes undone. Borrows when there is no escape.
    fn quoted(&mut self) -> Result<Cow<'a, str>, AuthParseError> {
        let open = self.pos;
        let body_start = open + 1;
        let bytes = self.src.as_bytes();
        let Some(rel) = memchr::memchr2(b'"', b'\\', &bytes[body_start..]) else {
            return Err(AuthParseError::UnterminatedQuote { at: open });
        };
        let mut end = body_start + rel;
        if bytes[end] == b'"' {
            check_quotable(&self.src[body_start..end], body_start)?;
            self.pos = end + 1;
            return Ok(Cow::Borrowed(&self.src[body_start..end]));
        }
        // Escapes present: copy while undoing them.
        let mut out = String::with_capacity(end - body_start + 16);
        let mut chunk = body_start;
        loop {
            check_quotable(&self.src[chunk..end], chunk)?;
            out.push_str(&self.src[chunk..end]);
            if bytes[end] == b'"' {
                self.pos = end + 1;
                return Ok(Cow::Owned(out));
            }
            // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F), minus controls other than HTAB.
            let Some(&escaped) = bytes.get(end + 1) else {
                return Err(AuthParseError::UnterminatedQuote { at: open });
            };
            if !escaped.is_ascii() || !is_quotable(char::from(escaped)) {
                return Err(AuthParseError::ForbiddenChar { at: end + 1 });
            }
            out.push(char::from(escaped));
            chunk = end + 2;
            let Some(rel) = memchr::memchr2(b'"', b'\\', &bytes[chunk..]) else {
                return Err(AuthParseError::UnterminatedQuote { at: open });
            };
            end = chunk + rel;
        }
    }
}

/// Refuses control characters (other than HTAB) in quoted-string text.
fn check_quotable(text: &str, offset: usize) -> Result<(), AuthParseError> {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t') {
        return Ok(());
    }
    match text.char_indices().find(|&(_, c)| !is_quotable(c)) {
        Some((i, _)) => Err(AuthParseError::ForbiddenChar { at: offset + i }),
        None => Ok(()),
    }
}
