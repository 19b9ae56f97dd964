//! Scanners for the values of the headers validated at parse time, in their common
//! shapes (see `super`). Each takes the whole head and the index where the value
//! starts, and returns where the accepted text ends; the caller checks that the line
//! ends there. `None` sends the value to the general validator.

use super::uri;
use crate::header::name_addr::parse_qvalue;
use crate::host::HostKind;
use crate::method::Method;
use crate::text::{self, eq_ignore_letter_case, run};
use crate::uri::UriRef;

#[inline(always)]
pub(super) fn skip_sp(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// `1*DIGIT` of at most `max` digits (at most 9), as a number.
#[inline(always)]
pub(super) fn digits(b: &[u8], i: usize, max: usize) -> Option<(usize, u32)> {
    let mut v: u32 = 0;
    let mut e = i;
    while e < b.len() && b[e].is_ascii_digit() {
        if e - i == max {
            return None;
        }
        v = v * 10 + u32::from(b[e] - b'0');
        e += 1;
    }
    (e > i).then_some((e, v))
}

/// `callid = word [ "@" word ]`.
#[inline]
pub(super) fn call_id(b: &[u8], i: usize) -> Option<usize> {
    let a = run(b, i, text::is_word_char);
    if a == i {
        return None;
    }
    if b.get(a) != Some(&b'@') {
        return Some(a);
    }
    let c = run(b, a + 1, text::is_word_char);
    (c > a + 1).then_some(c)
}

/// `1*DIGIT SP Method`; in a request the method must be the request's.
#[inline]
pub(super) fn cseq(b: &[u8], i: usize, method: Option<&Method>) -> Option<usize> {
    let (d, _) = digits(b, i, 9)?;
    if b.get(d) != Some(&b' ') {
        return None;
    }
    let m = run(b, d + 1, text::is_token_char);
    if m == d + 1 || method.is_some_and(|r| r.as_str().as_bytes() != &b[d + 1..m]) {
        return None;
    }
    Some(m)
}

/// One `via-parm` without white space around its separators:
/// `SIP/2.0/transport SP host[:port] *(;name[=token])`, where `received` must be an
/// IPv4 address and `rport` a port; `ttl`, `maddr` and IPv6 are left to the general
/// validator.
pub(crate) fn via(s: &str, i: usize) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    if b.get(i..i + 8)? != b"SIP/2.0/" {
        return None;
    }
    let t = run(b, i + 8, text::is_token_char);
    if t == i + 8 || b.get(t) != Some(&b' ') {
        return None;
    }
    let (mut i, _) = uri::host(b, t + 1)?;
    if b.get(i) == Some(&b':') {
        i = uri::port(b, i + 1)?.0;
    }
    let params = i;
    while b.get(i) == Some(&b';') {
        let n = run(b, i + 1, text::is_token_char);
        if n == i + 1 {
            return None;
        }
        let name = &b[i + 1..n];
        let is = |lit: &[u8]| eq_ignore_letter_case(name, lit);
        if b.get(n) == Some(&b'=') {
            let v = run(b, n + 1, text::is_token_char);
            if v == n + 1 {
                return None;
            }
            let ok = match name.len() {
                8 if is(b"received") => {
                    matches!(uri::host(b, n + 1), Some((e, HostKind::Ipv4(_))) if e == v)
                }
                5 if is(b"rport") => uri::port(b, n + 1).is_some_and(|(e, _)| e == v),
                3 | 5 => !is(b"ttl") && !is(b"maddr"),
                _ => true,
            };
            if !ok {
                return None;
            }
            i = v;
        } else {
            if is(b"branch") || is(b"received") {
                return None;
            }
            i = n;
        }
    }
    Some((i, params))
}

/// `( name-addr / addr-spec ) *( SEMI generic-param )` in its common shapes; for a
/// Contact also the `q` and `expires` checks. Returns where the value ends and where
/// its header parameters start.
pub(crate) fn name_addr(s: &str, mut i: usize, contact: bool) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    match *b.get(i)? {
        b'"' => {
            i += 1;
            loop {
                i = run(b, i, text::is_qdtext_plain);
                match *b.get(i)? {
                    b'"' => break,
                    b'\\' => {
                        let c = *b.get(i + 1)?;
                        if c == b'\r' || c == b'\n' || c >= 0x80 {
                            return None;
                        }
                        i += 2;
                    }
                    _ => return None,
                }
            }
            i = skip_sp(b, i + 1);
        }
        b'<' => {}
        _ => {
            let t = run(b, i, text::is_token_char);
            if t == i {
                return None;
            }
            if b.get(t) == Some(&b':') {
                return addr_spec(s, i, t, contact);
            }
            // *(token LWS) before "<".
            i = t;
            loop {
                i = skip_sp(b, i);
                if b.get(i) == Some(&b'<') {
                    break;
                }
                let t = run(b, i, text::is_token_char);
                if t == i {
                    return None;
                }
                i = t;
            }
        }
    }
    if b.get(i) != Some(&b'<') {
        return None;
    }
    i += 1;
    let close = match uri::sip_uri_end(b, i, true) {
        Some(e) if b.get(e) == Some(&b'>') => e,
        _ => {
            if matches!(b.get(i), Some(b' ' | b'\t' | b'\r')) {
                return None;
            }
            let close = i + memchr::memchr(b'>', &b[i..])?;
            UriRef::scan(&s[i..close]).ok()?;
            close
        }
    };
    header_params(s, close + 1, contact).map(|e| (e, close + 1))
}

/// The addr-spec form: the URI runs to the first `;`, `,` or white space, and may not
/// have headers. `t` is where the scheme ends (at `:`).
fn addr_spec(s: &str, i: usize, t: usize, contact: bool) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let is_stop = |c: &u8| matches!(c, b';' | b' ' | b'\t' | b'\r' | b'\n' | b',');
    let e = match uri::sip_uri_end(b, i, false) {
        Some(e) if b.get(e).is_some_and(is_stop) => e,
        _ => {
            if !b[i..t].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
            {
                return None;
            }
            let e = run(b, i, |c| !is_stop(&c));
            let uri = &s[i..e];
            if memchr::memchr(b'?', uri.as_bytes()).is_some() {
                return None;
            }
            UriRef::scan(uri).ok()?;
            e
        }
    };
    header_params(s, e, contact).map(|end| (end, e))
}

/// `*( SEMI generic-param )` with token values; for a Contact, `q` must be a qvalue
/// and `expires` a number.
fn header_params(s: &str, mut i: usize, contact: bool) -> Option<usize> {
    let b = s.as_bytes();
    while b.get(i) == Some(&b';') {
        let n = run(b, i + 1, text::is_token_char);
        if n == i + 1 {
            return None;
        }
        let name = &b[i + 1..n];
        let checked = contact
            && match name.len() {
                1 => name[0] | 0x20 == b'q',
                7 => eq_ignore_letter_case(name, b"expires"),
                _ => false,
            };
        if b.get(n) == Some(&b'=') {
            let v = run(b, n + 1, text::is_token_char);
            if v == n + 1 {
                return None;
            }
            if checked {
                let value = &s[n + 1..v];
                if name.len() == 1 {
                    parse_qvalue(value).ok()?;
                } else if !value.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
            }
            i = v;
        } else {
            if checked {
                return None;
            }
            i = n;
        }
    }
    Some(i)
}
