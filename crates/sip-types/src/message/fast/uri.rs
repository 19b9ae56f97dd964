//! Scanners for the SIP URIs and hosts of typical messages, for the one-pass parser.
//!
//! Each returns `None` for anything outside its common shape; callers then use the
//! general scanners ([`crate::uri::UriRef::scan`], [`crate::host::Host::check`]). What
//! they accept, they accept exactly as the general scanners do: the same extent and the
//! same parts (the tests in `reference/tests.rs` compare them on random input).

use std::net::Ipv4Addr;

use crate::host::HostKind;
use crate::text::{self, run};
use crate::uri::SipUriRef;

const fn class(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// User characters without escapes and without `;`, `,` and `?`, which would end the
/// URI of an addr-spec (`unreserved / "&" / "=" / "+" / "$" / "/"`).
static USER_PLAIN: [bool; 256] = class(b"-_.!~*'()&=+$/");
/// `alphanum / "-"`.
static LABEL: [bool; 256] = class(b"-");
/// `alphanum`.
static ALNUM: [bool; 256] = class(b"");
/// `ALPHA`.
static ALPHA: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphabetic();
        c += 1;
    }
    t
};
/// `alphanum / "-" / "."`, the characters the general scanner takes as a host.
static HOST: [bool; 256] = class(b"-.");

/// A `hostname` or `IPv4address` at `b[i..]`: the end of the run of host characters
/// (`alphanum / "-" / "."`) starting at `i` and what it is, when the run is a valid
/// host. A host name starting with a digit is left to the general check.
#[inline]
pub(crate) fn host(b: &[u8], i: usize) -> Option<(usize, HostKind)> {
    let c = *b.get(i)?;
    if c.is_ascii_digit() {
        return ipv4(b, i);
    }
    let mut i = i;
    loop {
        // A label: starts with an alphanumeric, does not end with '-', at most 63 long.
        let start = i;
        if !ALNUM[*b.get(i)? as usize] {
            return None;
        }
        i = run(b, i + 1, |c| LABEL[c as usize]);
        if b[i - 1] == b'-' || i - start > 63 {
            return None;
        }
        let top = ALPHA[b[start] as usize];
        if b.get(i) != Some(&b'.') {
            return top.then_some((i, HostKind::Domain));
        }
        i += 1;
        match b.get(i) {
            Some(&c) if ALNUM[c as usize] => {}
            // One trailing dot ends a fully qualified name.
            Some(&c) if HOST[c as usize] => return None,
            _ => return top.then_some((i, HostKind::Domain)),
        }
    }
}

/// `IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT`, each at most 255,
/// not followed by another host character.
#[inline]
fn ipv4(b: &[u8], mut i: usize) -> Option<(usize, HostKind)> {
    let mut octets = [0u8; 4];
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let mut v: u16 = 0;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 3 {
            v = v * 10 + u16::from(b[i] - b'0');
            i += 1;
        }
        if i == start || v > 255 {
            return None;
        }
        *octet = v as u8;
    }
    if b.get(i).is_some_and(|&c| HOST[c as usize]) {
        return None;
    }
    Some((i, HostKind::Ipv4(Ipv4Addr::from(octets))))
}

/// `port = 1*DIGIT` up to 65535, at `b[i..]`.
#[inline]
pub(crate) fn port(b: &[u8], i: usize) -> Option<(usize, u16)> {
    let mut v: u32 = 0;
    let mut e = i;
    while e < b.len() && b[e].is_ascii_digit() && e - i < 5 {
        v = v * 10 + u32::from(b[e] - b'0');
        e += 1;
    }
    if e == i || v > 65535 || b.get(e).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((e, v as u16))
}

/// The parts of a SIP URI found by [`scan_sip`], as indices.
#[derive(Clone, Copy)]
struct Parts {
    secure: bool,
    user: Option<(usize, usize)>,
    host: (usize, usize),
    host_kind: HostKind,
    port: Option<u16>,
    params: (usize, usize),
}

/// A `sip:`/`sips:` URI at `b[i..]`: `[user "@"] host [":" port]`, and when `params`
/// is set `*(";" pname ["=" pvalue])`; no password, escapes, IPv6 reference or headers.
/// Returns where it ends (the caller checks what follows) and its parts.
#[inline(always)]
fn scan_sip(b: &[u8], i: usize, params: bool) -> Option<(usize, Parts)> {
    // "sip:" or "sips:" in any case: letters OR-ed with 0x20, the colon compared as is.
    let w = u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?);
    let (secure, mut j) = if w | 0x0020_2020 == u32::from_le_bytes(*b"sip:") {
        (false, i + 4)
    } else if w | 0x2020_2020 == u32::from_le_bytes(*b"sips") && b.get(i + 4) == Some(&b':') {
        (true, i + 5)
    } else {
        return None;
    };
    let u = run(b, j, |c| USER_PLAIN[c as usize]);
    let mut user = None;
    if b.get(u) == Some(&b'@') {
        if u == j {
            return None;
        }
        user = Some((j, u));
        j = u + 1;
    }
    let (mut e, host_kind) = host(b, j)?;
    let host = (j, e);
    let mut port_no = None;
    if b.get(e) == Some(&b':') {
        let (pe, p) = port(b, e + 1)?;
        port_no = Some(p);
        e = pe;
    }
    let params_start = e;
    if params {
        while b.get(e) == Some(&b';') {
            let n = run(b, e + 1, text::is_param_char_plain);
            if n == e + 1 {
                return None;
            }
            e = n;
            if b.get(e) == Some(&b'=') {
                let v = run(b, e + 1, text::is_param_char_plain);
                if v == e + 1 {
                    return None;
                }
                e = v;
            }
        }
    }
    // An escape, a password, an IPv6 reference or URI headers: the general scanner.
    if matches!(b.get(e), Some(b'%' | b'@' | b'?' | b'[' | b':')) {
        return None;
    }
    let parts = Parts { secure, user, host, host_kind, port: port_no, params: (params_start, e) };
    Some((e, parts))
}

/// Where a SIP URI in its common shape (see [`scan_sip`]) at `b[i..]` ends.
#[inline]
pub(crate) fn sip_uri_end(b: &[u8], i: usize, params: bool) -> Option<usize> {
    scan_sip(b, i, params).map(|(e, _)| e)
}

/// A SIP URI in its common shape (see [`scan_sip`]) at `s[i..]`: where it ends and its
/// parts as the general scanner gives them.
pub(crate) fn sip_uri(s: &str, i: usize, params: bool) -> Option<(usize, SipUriRef<'_>)> {
    let (e, p) = scan_sip(s.as_bytes(), i, params)?;
    let uri = SipUriRef {
        secure: p.secure,
        user: p.user.map(|(a, z)| &s[a..z]),
        password: None,
        host: &s[p.host.0..p.host.1],
        host_kind: p.host_kind,
        port: p.port,
        params: &s[p.params.0..p.params.1],
        headers: "",
    };
    Some((e, uri))
}
