//! Lexical building blocks of the RFC 3261 §25.1 grammar: character classes, linear
//! white space, tokens, quoted strings and `%HH` escapes.
//!
//! ```text
//! LWS  =  [*WSP CRLF] 1*WSP ; linear whitespace
//! SWS  =  [LWS] ; sep whitespace
//! token       =  1*(alphanum / "-" / "." / "!" / "%" / "*"
//!                / "_" / "+" / "`" / "'" / "~" )
//! word        =  1*(alphanum / "-" / "." / "!" / "%" / "*" /
//!                "_" / "+" / "`" / "'" / "~" /
//!                "(" / ")" / "<" / ">" /
//!                ":" / "\" / DQUOTE /
//!                "/" / "[" / "]" / "?" /
//!                "{" / "}" )
//! quoted-string  =  SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
//! qdtext         =  LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
//! quoted-pair    =  "\" (%x00-09 / %x0B-0C / %x0E-7F)
//! escaped        =  "%" HEXDIG HEXDIG
//! ```

use std::borrow::Cow;

const fn table(chars: &[u8], alnum: bool) -> [bool; 256] {
    let mut t = [false; 256];
    if alnum {
        let mut c = b'0';
        while c <= b'9' {
            t[c as usize] = true;
            c += 1;
        }
        c = b'a';
        while c <= b'z' {
            t[c as usize] = true;
            t[(c - 32) as usize] = true;
            c += 1;
        }
    }
    let mut i = 0;
    while i < chars.len() {
        t[chars[i] as usize] = true;
        i += 1;
    }
    t
}

/// Bytes a quoted string may hold with no further check: HTAB, SP and printable ASCII
/// except `"` and `\`, and every non-ASCII byte (the head is valid UTF-8).
static QDTEXT_PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0x20;
    while c < 0x7f {
        t[c] = c != b'"' as usize && c != b'\\' as usize;
        c += 1;
    }
    let mut c = 0x80;
    while c < 0x100 {
        t[c] = true;
        c += 1;
    }
    t[b'\t' as usize] = true;
    t
};

static TOKEN: [bool; 256] = table(b"-.!%*_+`'~", true);
static WORD: [bool; 256] = table(b"-.!%*_+`'~()<>:\\\"/[]?{}", true);
/// user = 1*( unreserved / escaped / user-unreserved ); user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
static USER: [bool; 256] = table(b"-_.!~*'()&=+$,;?/%", true);
/// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
static PASSWORD: [bool; 256] = table(b"-_.!~*'()&=+$,%", true);
/// paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
static PARAMCHAR: [bool; 256] = table(b"-_.!~*'()[]/:&+$%", true);
/// hname/hvalue chars: hnv-unreserved / unreserved / escaped; hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$"
#[cfg(test)]
static HNV: [bool; 256] = table(b"-_.!~*'()[]/?:+$%", true);
/// uric = reserved / unreserved / escaped (absolute URIs)
static URIC: [bool; 256] = table(b"-_.!~*'();/?:@&=+$,%[]#", true);
// The same classes without `%`, for scanners that handle `escaped` themselves.
static USER_NP: [bool; 256] = table(b"-_.!~*'()&=+$,;?/", true);
static PARAMCHAR_NP: [bool; 256] = table(b"-_.!~*'()[]/:&+$", true);
static HNV_NP: [bool; 256] = table(b"-_.!~*'()[]/?:+$", true);

/// Advances from `i` over bytes of a class; returns the index of the first byte outside
/// it (or the length). Unrolled by four: one bounds check per four bytes.
#[inline(always)]
pub(crate) fn run(b: &[u8], mut i: usize, class: impl Fn(u8) -> bool) -> usize {
    while let Some(w) = b.get(i..i + 4) {
        if !class(w[0]) {
            return i;
        }
        if !class(w[1]) {
            return i + 1;
        }
        if !class(w[2]) {
            return i + 2;
        }
        if !class(w[3]) {
            return i + 3;
        }
        i += 4;
    }
    while i < b.len() && class(b[i]) {
        i += 1;
    }
    i
}

/// A character class of the URI grammar that admits `escaped` (`%` HEXDIG HEXDIG).
#[derive(Debug, Clone, Copy)]
pub(crate) enum EscClass {
    /// `user` characters.
    User,
    /// `paramchar`.
    Param,
    /// `hname` / `hvalue` characters.
    Hnv,
}

impl EscClass {
    /// The class without `%`.
    #[inline(always)]
    fn plain(self) -> &'static [bool; 256] {
        match self {
            EscClass::User => &USER_NP,
            EscClass::Param => &PARAMCHAR_NP,
            EscClass::Hnv => &HNV_NP,
        }
    }
}

/// Advances over characters of `class` and valid `%HH` escapes; `None` on a `%` that
/// does not start a valid escape.
#[inline(always)]
pub(crate) fn scan_escaped(b: &[u8], mut i: usize, class: EscClass) -> Option<usize> {
    let t = class.plain();
    loop {
        i = run(b, i, |c| t[c as usize]);
        if b.get(i) != Some(&b'%') {
            return Some(i);
        }
        if !(i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
            return None;
        }
        i += 3;
    }
}

/// `paramchar` without `%`.
#[inline]
pub(crate) fn is_param_char_plain(b: u8) -> bool {
    PARAMCHAR_NP[b as usize]
}
#[inline]
pub(crate) fn is_qdtext_plain(b: u8) -> bool {
    QDTEXT_PLAIN[b as usize]
}
#[inline]
pub(crate) fn is_token_char(b: u8) -> bool {
    TOKEN[b as usize]
}
#[inline]
pub(crate) fn is_word_char(b: u8) -> bool {
    WORD[b as usize]
}
#[inline]
pub(crate) fn is_user_char(b: u8) -> bool {
    USER[b as usize]
}
#[inline]
pub(crate) fn is_password_char(b: u8) -> bool {
    PASSWORD[b as usize]
}
#[inline]
pub(crate) fn is_param_char(b: u8) -> bool {
    PARAMCHAR[b as usize]
}
#[cfg(test)]
#[inline]
pub(crate) fn is_hnv_char(b: u8) -> bool {
    HNV[b as usize]
}
#[inline]
pub(crate) fn is_uric(b: u8) -> bool {
    URIC[b as usize]
}

/// Loads 8 bytes at `i` as a little-endian word.
#[inline(always)]
fn word8(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Loads 4 bytes at `i` as a little-endian word.
#[inline(always)]
fn word4(b: &[u8], i: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[i..i + 4]);
    u32::from_le_bytes(w)
}

/// Case-insensitive equality of `b` with `lit`, a lower-case name of letters and `-`
/// (a header or parameter name), a word at a time.
///
/// Each byte of `b` is OR-ed with 0x20 where `lit` has a letter (0x40 is set in every
/// lower-case letter and clear in `-`, so the mask is `(lit & 0x40) >> 1`): that maps
/// exactly the two cases of a letter onto it, and leaves `-` to match only itself.
#[inline(always)]
pub(crate) fn eq_ignore_letter_case(b: &[u8], lit: &[u8]) -> bool {
    let n = b.len();
    if n != lit.len() {
        return false;
    }
    if n >= 8 {
        let eq = |i| {
            let l = word8(lit, i);
            word8(b, i) | ((l & 0x4040_4040_4040_4040) >> 1) == l
        };
        let mut i = 0;
        while i + 8 <= n {
            if !eq(i) {
                return false;
            }
            i += 8;
        }
        i == n || eq(n - 8)
    } else if n >= 4 {
        let eq = |i| {
            let l = word4(lit, i);
            word4(b, i) | ((l & 0x4040_4040) >> 1) == l
        };
        eq(0) && eq(n - 4)
    } else {
        b.iter().zip(lit).all(|(x, y)| x | ((y & 0x40) >> 1) == *y)
    }
}

/// True when `s` is a non-empty `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// True when `s` is a non-empty `word`.
#[cfg(test)]
pub(crate) fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_word_char)
}

/// Checks that every `%` in `s` starts a valid `escaped` triple.
pub(crate) fn escapes_valid(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'%', &b[i..]) {
        let p = i + off;
        if p + 2 >= b.len() {
            return false;
        }
        if !(b[p + 1].is_ascii_hexdigit() && b[p + 2].is_ascii_hexdigit()) {
            return false;
        }
        i = p + 3;
    }
    true
}

/// Decodes `%HH` escapes. Invalid escapes are kept literally (callers validate first).
pub fn unescape(s: &str) -> Cow<'_, [u8]> {
    let b = s.as_bytes();
    if memchr::memchr(b'%', b).is_none() {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Removes the surrounding quotes of a `quoted-string` and resolves `quoted-pair`s.
/// `raw` must have been validated by [`Scanner::quoted_string`].
pub(crate) fn unquote(raw: &str) -> Cow<'_, str> {
    let inner = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(raw);
    if !inner.contains(['\\', '\r', '\n']) {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            // A folded line break inside the quotes is white space (the WSP after it stays).
            '\r' | '\n' => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Quotes `text` as a `quoted-string`, escaping `"`, `\` and control characters as
/// `quoted-pair`s; CR and LF become spaces.
pub(crate) fn quote(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            // CR and LF cannot be represented, not even as quoted-pair.
            '\r' | '\n' => out.push(' '),
            '"' | '\\' | '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Trims SP, HTAB, CR and LF on both ends (header values may end in folded white space).
#[inline]
pub(crate) fn trim_lws(s: &str) -> &str {
    let b = s.as_bytes();
    let is_lws = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let mut start = 0;
    while start < b.len() && is_lws(b[start]) {
        start += 1;
    }
    let mut end = b.len();
    while end > start && is_lws(b[end - 1]) {
        end -= 1;
    }
    // Only ASCII bytes were skipped, so both ends are character boundaries.
    &s[start..end]
}

/// A cursor over header-value text implementing the separators of RFC 3261 §25.1.
#[derive(Debug, Clone)]
pub(crate) struct Scanner<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Scanner { s, pos: 0 }
    }

    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    #[inline]
    pub(crate) fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    #[inline]
    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a str {
        &self.s[from..to]
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.s.len()
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Skips `SWS` (which includes a folded line end). Returns true if anything was skipped.
    #[inline(always)]
    pub(crate) fn skip_sws(&mut self) -> bool {
        // Most separators have no white space around them: decide that inline.
        match self.peek() {
            Some(b' ' | b'\t' | b'\r') => self.skip_sws_slow(),
            _ => false,
        }
    }

    #[inline(never)]
    fn skip_sws_slow(&mut self) -> bool {
        let b = self.s.as_bytes();
        let start = self.pos;
        loop {
            while self.pos < b.len() && (b[self.pos] == b' ' || b[self.pos] == b'\t') {
                self.pos += 1;
            }
            if self.pos + 2 < b.len()
                && b[self.pos] == b'\r'
                && b[self.pos + 1] == b'\n'
                && (b[self.pos + 2] == b' ' || b[self.pos + 2] == b'\t')
            {
                self.pos += 3;
                continue;
            }
            break;
        }
        self.pos != start
    }

    /// Consumes one byte if it is `c`.
    #[inline]
    pub(crate) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `SWS c SWS` (e.g. `SEMI`, `EQUAL`, `SLASH`, `COMMA`, `COLON`); on failure
    /// the position is unchanged. `c` is not white space.
    #[inline(always)]
    pub(crate) fn eat_sep(&mut self, c: u8) -> bool {
        debug_assert!(!matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
        match self.peek() {
            Some(x) if x == c => {
                self.pos += 1;
                self.skip_sws();
                true
            }
            Some(b' ' | b'\t' | b'\r') => self.eat_sep_slow(c),
            _ => false,
        }
    }

    #[inline(never)]
    fn eat_sep_slow(&mut self, c: u8) -> bool {
        let save = self.pos;
        self.skip_sws();
        if self.eat(c) {
            self.skip_sws();
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// Consumes bytes while `pred` holds; returns the slice (possibly empty).
    #[inline]
    pub(crate) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let b = self.s.as_bytes();
        let start = self.pos;
        while self.pos < b.len() && pred(b[self.pos]) {
            self.pos += 1;
        }
        // The predicates only accept ASCII bytes, or stop at ASCII bytes, so the
        // boundary is a char boundary; fall back to the full check otherwise.
        &self.s[start..self.pos]
    }

    /// Consumes a `token`.
    #[inline]
    pub(crate) fn token(&mut self) -> Option<&'a str> {
        let t = self.take_while(is_token_char);
        if t.is_empty() { None } else { Some(t) }
    }

    /// Consumes a `quoted-string` (without leading SWS) and returns it raw, quotes included.
    pub(crate) fn quoted_string(&mut self) -> Result<&'a str, &'static str> {
        let b = self.s.as_bytes();
        let start = self.pos;
        if b.get(self.pos) != Some(&b'"') {
            return Err("expected a quoted string");
        }
        let mut i = self.pos + 1;
        while i < b.len() {
            // Plain qdtext runs take the table; the match below handles the rest.
            if QDTEXT_PLAIN[b[i] as usize] {
                i += 1;
                continue;
            }
            match b[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(&self.s[start..self.pos]);
                }
                b'\\' => {
                    match b.get(i + 1) {
                        Some(b'\r') | Some(b'\n') | None => {
                            return Err("invalid escape in quoted string");
                        }
                        Some(c) if *c >= 0x80 => return Err("invalid escape in quoted string"),
                        _ => {}
                    }
                    i += 2;
                }
                b'\r' => {
                    // Only a folded line (CRLF WSP) may appear inside.
                    if b.get(i + 1) == Some(&b'\n') && matches!(b.get(i + 2), Some(b' ' | b'\t')) {
                        i += 3;
                    } else {
                        return Err("line break in quoted string");
                    }
                }
                b'\n' => return Err("line break in quoted string"),
                c if c < 0x20 && c != b'\t' => return Err("control character in quoted string"),
                0x7f => return Err("control character in quoted string"),
                _ => i += 1,
            }
        }
        Err("unterminated quoted string")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_word_classes() {
        assert!(is_token("z9hG4bK-.!%*_+`'~"));
        assert!(!is_token("a b"));
        assert!(!is_token(""));
        assert!(is_word("intmeth.word%ZK-!.*_+'"));
        assert!(is_word("word`~)(><:\\/\"][?}{"));
        assert!(!is_word("a@b"));
    }

    #[test]
    fn escapes() {
        assert!(escapes_valid("a%20b"));
        assert!(!escapes_valid("a%2"));
        assert!(!escapes_valid("%Z%45"));
        assert!(!escapes_valid("%"));
        assert_eq!(&*unescape("%75se%72"), b"user");
        assert_eq!(&*unescape("null-%00-null"), b"null-\0-null");
        assert_eq!(&*unescape("plain"), b"plain");
    }

    #[test]
    fn quoted_strings() {
        let mut s = Scanner::new(r#""J Rosenberg \\\"" rest"#);
        let q = s.quoted_string().unwrap();
        assert_eq!(q, r#""J Rosenberg \\\"""#);
        assert_eq!(unquote(q), r#"J Rosenberg \""#);
        assert!(Scanner::new("\"open").quoted_string().is_err());
        let mut out = String::new();
        quote(r#"a"b\c"#, &mut out);
        assert_eq!(out, r#""a\"b\\c""#);
    }

    #[test]
    fn separators_skip_folding() {
        let mut s = Scanner::new("  \r\n  ;\r\n tag");
        assert!(s.eat_sep(b';'));
        assert_eq!(s.rest(), "tag");
        let mut s = Scanner::new(" \r\nx");
        s.skip_sws();
        assert_eq!(s.rest(), "\r\nx");
    }
}
