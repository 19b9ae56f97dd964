//! Fast printing helpers that write straight into a byte buffer (no `fmt` machinery on
//! the common paths).

use std::io::Write as _;

use crate::host::Host;
use crate::params::Params;
use crate::uri::Uri;

/// Writes `uri` as [`std::fmt::Display`] would.
pub(crate) fn write_uri(uri: &Uri, out: &mut Vec<u8>) {
    match uri {
        Uri::Sip(u) => {
            out.extend_from_slice(if u.secure { b"sips:" } else { b"sip:" });
            if let Some(user) = &u.user {
                out.extend_from_slice(user.as_bytes());
                if let Some(p) = &u.password {
                    out.push(b':');
                    out.extend_from_slice(p.as_bytes());
                }
                out.push(b'@');
            }
            write_host(&u.host, out);
            if let Some(p) = u.port {
                let _ = write!(out, ":{p}");
            }
            write_params(&u.params, out);
            for (i, (n, v)) in u.headers.iter().enumerate() {
                out.push(if i == 0 { b'?' } else { b'&' });
                out.extend_from_slice(n.as_bytes());
                out.push(b'=');
                out.extend_from_slice(v.as_bytes());
            }
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

pub(crate) fn write_host(host: &Host, out: &mut Vec<u8>) {
    match host {
        Host::Domain(d) => out.extend_from_slice(d.as_bytes()),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

pub(crate) fn write_params(params: &Params, out: &mut Vec<u8>) {
    for p in params {
        out.push(b';');
        out.extend_from_slice(p.name.as_bytes());
        if let Some(v) = &p.value {
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
    }
}
