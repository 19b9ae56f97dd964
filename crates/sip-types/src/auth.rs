//! `WWW-Authenticate`, `Authorization`, `Proxy-Authenticate`, `Proxy-Authorization`
//! values: challenges and credentials (RFC 3261 §25.1, RFC 7616 §3.3-3.4, RFC 8760).
