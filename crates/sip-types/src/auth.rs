//! `WWW-Authenticate`, `Authorization`, `Proxy-Authenticate`, `Proxy-Authorization`
//! values: challenges and credentials (RFC 3261 §25.1, RFC 7616 §3.3-3.4, RFC 8760).
//!
//! This module parses and prints the header *value* (what follows `HCOLON`); the message
//! parser hands it the value with line folding already undone. Verification of digest
//! responses lives in `ringfence-sip-proto` (`digest`); this module only knows the grammar.
//!
//! ```text
//! challenge         =  ("Digest" LWS digest-cln *(COMMA digest-cln)) / other-challenge
//! other-challenge   =  auth-scheme LWS auth-param *(COMMA auth-param)
//! digest-cln        =  realm / domain / nonce / opaque / stale / algorithm
//!                      / qop-options / auth-param
//! domain            =  "domain" EQUAL LDQUOT URI *( 1*SP URI ) RDQUOT
//! stale             =  "stale" EQUAL ( "true" / "false" )
//! algorithm         =  "algorithm" EQUAL ( "MD5" / "MD5-sess" / token )
//! qop-options       =  "qop" EQUAL LDQUOT qop-value *("," qop-value) RDQUOT
//! qop-value         =  "auth" / "auth-int" / token
//!
//! credentials       =  ("Digest" LWS digest-response) / other-response
//! digest-response   =  dig-resp *(COMMA dig-resp)
//! dig-resp          =  username / realm / nonce / digest-uri / dresponse / algorithm
//!                      / cnonce / opaque / message-qop / nonce-count / auth-param
//! digest-uri        =  "uri" EQUAL LDQUOT digest-uri-value RDQUOT
//! message-qop       =  "qop" EQUAL qop-value
//! nonce-count       =  "nc" EQUAL nc-value
//! nc-value          =  8LHEX
//! dresponse         =  "response" EQUAL request-digest
//! auth-param        =  auth-param-name EQUAL ( token / quoted-string )
//! other-response    =  auth-scheme LWS auth-param *(COMMA auth-param)
//! ```
//!
//! RFC 7616 adds `charset` and `userhash` to challenges and `userhash` to credentials, and
//! RFC 8760 the algorithm tokens `SHA-256`, `SHA-512-256` and their `-sess` variants.
//!
//! Parsing is liberal where RFC 7235 §2.2 asks recipients to be: any parameter value may
//! arrive as a token or a quoted string, and names, the scheme, `algorithm`, `qop` and the
//! `stale`/`userhash` flags compare case-insensitively. Printing is canonical: RFC 7616
//! §3.3/§3.4 quoting (quoted `realm`, `domain`, `nonce`, `opaque`, challenge `qop`,
//! `username`, `uri`, `response`, `cnonce`; bare `algorithm`, `stale`, `nc`, credential
//! `qop`, `charset`, `userhash`), scheme spelled `Digest`, algorithms as RFC 8760 spells them.
//!
//! Hard limits: a value longer than [`MAX_VALUE_LEN`] bytes or with more than
//! [`MAX_PARAMS`] parameters is refused, as is any parameter given twice. Quoted strings
//! may not carry control characters (other than HTAB), escaped or not.
//!
//! Printing never emits a control character (other than HTAB) or a character that breaks
//! out of its token or quoted string: a value built in code with such characters is printed
//! without them, so a printed header can never be split or re-framed.

mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

/// Longest header value accepted, in bytes.
pub const MAX_VALUE_LEN: usize = 4096;
/// Most parameters accepted in one challenge or credentials value.
pub const MAX_PARAMS: usize = 32;

/// Why a challenge or credentials value was refused. Always the sender's fault (answer 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthParseError {
    /// The value is empty or only whitespace.
    #[error("authentication value is empty")]
    Empty,
    /// The value is longer than [`MAX_VALUE_LEN`].
    #[error("authentication value is {len} bytes, more than the limit of {max}")]
    TooLong {
        /// Length received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_PARAMS`] parameters.
    #[error("authentication value has more than {max} parameters")]
    TooManyParams {
        /// The limit.
        max: usize,
    },
    /// Something other than what the grammar allows at byte offset `at`.
    #[error("expected {expected} at byte {at} of the authentication value")]
    Expected {
        /// What the grammar wanted there.
        expected: &'static str,
        /// Byte offset into the value.
        at: usize,
    },
    /// A quoted string without its closing quote.
    #[error("quoted string starting at byte {at} is not closed")]
    UnterminatedQuote {
        /// Byte offset of the opening quote.
        at: usize,
    },
    /// A control character, or an escape of one, or an escaped non-ASCII character.
    #[error("forbidden character in quoted string at byte {at}")]
    ForbiddenChar {
        /// Byte offset of the character.
        at: usize,
    },
    /// The same parameter (names compare case-insensitively) appears twice.
    #[error("parameter {0:?} appears more than once")]
    DuplicateParam(String),
    /// A parameter the RFC requires is absent.
    #[error("required parameter {0:?} is missing")]
    MissingParam(&'static str),
    /// A known parameter carries a value its grammar does not allow.
    #[error("parameter {param:?} has an invalid value: {reason}")]
    InvalidValue {
        /// The parameter.
        param: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The `algorithm` parameter: an open set (RFC 3261 `"MD5" / "MD5-sess" / token`, RFC 8760).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (the default when the parameter is absent).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 8760).
    Sha256,
    /// `SHA-256-sess` (RFC 8760).
    Sha256Sess,
    /// `SHA-512-256` (RFC 8760).
    Sha512_256,
    /// `SHA-512-256-sess` (RFC 8760).
    Sha512_256Sess,
    /// Any other token, kept as received.
    Other(String),
}

impl Algorithm {
    /// Interprets a token; the known ones compare case-insensitively.
    #[must_use]
    pub fn from_token(token: &str) -> Self {
        const KNOWN: [(&str, Algorithm); 6] = [
            ("MD5", Algorithm::Md5),
            ("MD5-sess", Algorithm::Md5Sess),
            ("SHA-256", Algorithm::Sha256),
            ("SHA-256-sess", Algorithm::Sha256Sess),
            ("SHA-512-256", Algorithm::Sha512_256),
            ("SHA-512-256-sess", Algorithm::Sha512_256Sess),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(token))
            .map_or_else(|| Algorithm::Other(token.to_owned()), |(_, alg)| alg)
    }

    /// The token as the RFCs spell it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
            Algorithm::Other(s) => s,
        }
    }

    /// Whether this is a `-sess` variant (HA1 mixes in the nonce and cnonce).
    #[must_use]
    pub fn is_session(&self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_token(f, self.as_str())
    }
}

/// A quality-of-protection value (`qop-value = "auth" / "auth-int" / token`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: authentication only.
    Auth,
    /// `auth-int`: authentication with body integrity.
    AuthInt,
    /// Any other token, kept as received.
    Other(String),
}

impl Qop {
    /// Interprets a token; the known ones compare case-insensitively.
    #[must_use]
    pub fn from_token(token: &str) -> Self {
        if token.eq_ignore_ascii_case("auth") {
            Qop::Auth
        } else if token.eq_ignore_ascii_case("auth-int") {
            Qop::AuthInt
        } else {
            Qop::Other(token.to_owned())
        }
    }

    /// The token.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
            Qop::Other(s) => s,
        }
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_token(f, self.as_str())
    }
}

/// An extension parameter (`auth-param`) kept as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthParam {
    /// Parameter name (a token), as received.
    pub name: String,
    /// Value with quotes removed and escapes undone.
    pub value: String,
    /// Whether it arrived as a quoted string (printed the same way).
    pub quoted: bool,
}

/// A digest challenge (RFC 7616 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DigestChallenge {
    /// `realm` (required).
    pub realm: String,
    /// `domain`: the URIs of the protection space; empty when absent.
    pub domain: Vec<String>,
    /// `nonce` (required).
    pub nonce: String,
    /// `opaque`, to be echoed by the client.
    pub opaque: Option<String>,
    /// `stale=true`: the previous nonce expired but the credentials were right.
    pub stale: bool,
    /// `algorithm`; absent means MD5 (see [`DigestChallenge::algorithm_or_default`]).
    pub algorithm: Option<Algorithm>,
    /// `qop` options; empty when absent (RFC 2069 compatibility mode).
    pub qop_options: Vec<Qop>,
    /// `charset` (RFC 7616: only `UTF-8` is defined).
    pub charset: Option<String>,
    /// `userhash=true`: the server accepts a hashed username.
    pub userhash: bool,
    /// Extension parameters in received order.
    pub params: Vec<AuthParam>,
}

impl DigestChallenge {
    /// A challenge with just `realm` and `nonce`.
    #[must_use]
    pub fn new(realm: impl Into<String>, nonce: impl Into<String>) -> Self {
        DigestChallenge { realm: realm.into(), nonce: nonce.into(), ..Self::default() }
    }

    /// The algorithm in force: the `algorithm` parameter, or MD5 when absent.
    #[must_use]
    pub fn algorithm_or_default(&self) -> &Algorithm {
        self.algorithm.as_ref().unwrap_or(&Algorithm::Md5)
    }
}

/// A digest response (RFC 7616 §3.4), the value of `Authorization`/`Proxy-Authorization`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DigestCredentials {
    /// `username` (required); a hash of it when `userhash` is true.
    pub username: String,
    /// `realm` (required).
    pub realm: String,
    /// `nonce` (required), echoed from the challenge.
    pub nonce: String,
    /// `uri` (required): the request-URI the client signed.
    pub uri: String,
    /// `response` (required): lowercase hex digest, kept as received.
    pub response: String,
    /// `algorithm`; absent means MD5.
    pub algorithm: Option<Algorithm>,
    /// `cnonce`, required with `qop`.
    pub cnonce: Option<String>,
    /// `opaque`, echoed from the challenge.
    pub opaque: Option<String>,
    /// `qop` chosen by the client; absent in RFC 2069 mode.
    pub qop: Option<Qop>,
    /// `nc`: the nonce count, printed as 8 lowercase hex digits.
    pub nc: Option<u32>,
    /// `userhash=true`: `username` is a hash.
    pub userhash: bool,
    /// Extension parameters in received order.
    pub params: Vec<AuthParam>,
}

impl DigestCredentials {
    /// The algorithm in force: the `algorithm` parameter, or MD5 when absent.
    #[must_use]
    pub fn algorithm_or_default(&self) -> &Algorithm {
        self.algorithm.as_ref().unwrap_or(&Algorithm::Md5)
    }
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Digest ...`.
    Digest(DigestChallenge),
    /// Any other scheme (`Basic`, ...), with its parameters.
    Other {
        /// The scheme token as received.
        scheme: String,
        /// Its parameters.
        params: Vec<AuthParam>,
    },
}

impl Challenge {
    /// Parses a header value (`challenge` in RFC 3261 §25.1).
    ///
    /// # Errors
    /// [`AuthParseError`] naming what is wrong.
    pub fn parse(value: &str) -> Result<Self, AuthParseError> {
        parse::challenge(value)
    }

    /// The digest challenge, if this is one.
    #[must_use]
    pub fn as_digest(&self) -> Option<&DigestChallenge> {
        match self {
            Challenge::Digest(d) => Some(d),
            Challenge::Other { .. } => None,
        }
    }
}

/// An `Authorization` / `Proxy-Authorization` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Digest ...`.
    Digest(DigestCredentials),
    /// Any other scheme, with its parameters.
    Other {
        /// The scheme token as received.
        scheme: String,
        /// Its parameters.
        params: Vec<AuthParam>,
    },
}

impl Credentials {
    /// Parses a header value (`credentials` in RFC 3261 §25.1).
    ///
    /// # Errors
    /// [`AuthParseError`] naming what is wrong.
    pub fn parse(value: &str) -> Result<Self, AuthParseError> {
        parse::credentials(value)
    }

    /// The digest credentials, if these are.
    #[must_use]
    pub fn as_digest(&self) -> Option<&DigestCredentials> {
        match self {
            Credentials::Digest(d) => Some(d),
            Credentials::Other { .. } => None,
        }
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Challenge::Digest(d) => d.fmt(f),
            Challenge::Other { scheme, params } => write_other(f, scheme, params),
        }
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Digest(d) => d.fmt(f),
            Credentials::Other { scheme, params } => write_other(f, scheme, params),
        }
    }
}

impl fmt::Display for DigestChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = ParamWriter::new(f, "Digest")?;
        w.quoted("realm", &self.realm)?;
        if !self.domain.is_empty() {
            w.name("domain")?;
            w.f.write_str("\"")?;
            for (i, uri) in self.domain.iter().enumerate() {
                if i > 0 {
                    w.f.write_str(" ")?;
                }
                write_quoted_content(w.f, uri)?;
            }
            w.f.write_str("\"")?;
        }
        w.quoted("nonce", &self.nonce)?;
        if let Some(opaque) = &self.opaque {
            w.quoted("opaque", opaque)?;
        }
        if self.stale {
            w.token("stale", "true")?;
        }
        if let Some(alg) = &self.algorithm {
            w.token("algorithm", alg.as_str())?;
        }
        if !self.qop_options.is_empty() {
            w.name("qop")?;
            w.f.write_str("\"")?;
            for (i, qop) in self.qop_options.iter().enumerate() {
                if i > 0 {
                    w.f.write_str(",")?;
                }
                write_token(w.f, qop.as_str())?;
            }
            w.f.write_str("\"")?;
        }
        if let Some(charset) = &self.charset {
            w.token_or_quoted("charset", charset)?;
        }
        if self.userhash {
            w.token("userhash", "true")?;
        }
        w.extensions(&self.params)
    }
}

impl fmt::Display for DigestCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = ParamWriter::new(f, "Digest")?;
        w.quoted("username", &self.username)?;
        w.quoted("realm", &self.realm)?;
        w.quoted("nonce", &self.nonce)?;
        w.quoted("uri", &self.uri)?;
        w.quoted("response", &self.response)?;
        if let Some(alg) = &self.algorithm {
            w.token("algorithm", alg.as_str())?;
        }
        if let Some(cnonce) = &self.cnonce {
            w.quoted("cnonce", cnonce)?;
        }
        if let Some(opaque) = &self.opaque {
            w.quoted("opaque", opaque)?;
        }
        if let Some(qop) = &self.qop {
            w.token("qop", qop.as_str())?;
        }
        if let Some(nc) = self.nc {
            w.name("nc")?;
            write!(w.f, "{nc:08x}")?;
        }
        if self.userhash {
            w.token("userhash", "true")?;
        }
        w.extensions(&self.params)
    }
}

fn write_other(f: &mut fmt::Formatter<'_>, scheme: &str, params: &[AuthParam]) -> fmt::Result {
    write_token(f, scheme)?;
    let mut w = ParamWriter { f, first: true };
    w.extensions(params)
}

/// Writes `scheme SP name=value, name=value ...`.
struct ParamWriter<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    first: bool,
}

impl<'a, 'b> ParamWriter<'a, 'b> {
    fn new(f: &'a mut fmt::Formatter<'b>, scheme: &str) -> Result<Self, fmt::Error> {
        f.write_str(scheme)?;
        Ok(ParamWriter { f, first: true })
    }

    fn name(&mut self, name: &str) -> fmt::Result {
        self.f.write_str(if self.first { " " } else { ", " })?;
        self.first = false;
        write_token(self.f, name)?;
        self.f.write_str("=")
    }

    fn quoted(&mut self, name: &str, value: &str) -> fmt::Result {
        self.name(name)?;
        self.f.write_str("\"")?;
        write_quoted_content(self.f, value)?;
        self.f.write_str("\"")
    }

    fn token(&mut self, name: &str, value: &str) -> fmt::Result {
        self.name(name)?;
        write_token(self.f, value)
    }

    fn token_or_quoted(&mut self, name: &str, value: &str) -> fmt::Result {
        if is_token(value) { self.token(name, value) } else { self.quoted(name, value) }
    }

    fn extensions(&mut self, params: &[AuthParam]) -> fmt::Result {
        for p in params {
            if p.quoted {
                self.quoted(&p.name, &p.value)?;
            } else {
                self.token_or_quoted(&p.name, &p.value)?;
            }
        }
        Ok(())
    }
}

/// `token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" )`
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~')
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// Characters a quoted string may carry once escaped: anything but controls (HTAB is fine).
fn is_quotable(c: char) -> bool {
    c == '\t' || !c.is_control()
}

fn write_token(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    if s.bytes().all(is_token_byte) {
        return f.write_str(s);
    }
    for part in s.split(|c: char| !c.is_ascii() || !is_token_byte(c as u8)) {
        f.write_str(part)?;
    }
    Ok(())
}

fn write_quoted_content(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let clean = |c: char| c != '"' && c != '\\' && is_quotable(c);
    if s.chars().all(clean) {
        return f.write_str(s);
    }
    let mut rest = s;
    while let Some(i) = rest.find(|c: char| !clean(c)) {
        f.write_str(&rest[..i])?;
        let c = rest[i..].chars().next().unwrap_or('\0');
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
            f.write_str(&rest[i..i + 1])?;
        }
        rest = &rest[i + c.len_utf8()..];
    }
    f.write_str(rest)
}
