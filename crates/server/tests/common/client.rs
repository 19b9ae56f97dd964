//! Clients that speak raw SIP bytes: UDP, and TCP/TLS streams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ringfence_sip_proto::digest::{Secret, respond};
use ringfence_sip_types::auth::{Algorithm, Challenge};
use ringfence_sip_types::framing::{Framed, StreamFramer};
use ringfence_sip_types::{Limits, Message, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const WAIT: Duration = Duration::from_secs(5);

/// The fields of a REGISTER (or any request) that tests vary.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: &'static str,
    /// Request-URI.
    pub uri: String,
    /// To (and From) address.
    pub aor: String,
    pub call_id: String,
    pub cseq: u32,
    pub branch: String,
    pub from_tag: String,
    /// Contact header values, one line each.
    pub contacts: Vec<String>,
    pub expires: Option<u32>,
    /// Further header lines (without CRLF).
    pub extra: Vec<String>,
}

impl Req {
    /// A REGISTER of `user@domain` with one contact at `contact_host`.
    pub fn register(user: &str, domain: &str, contact: &str) -> Req {
        Req {
            method: "REGISTER",
            uri: format!("sip:{domain}"),
            aor: format!("sip:{user}@{domain}"),
            call_id: format!("reg-{user}-{}", rand_hex()),
            cseq: 1,
            branch: format!("z9hG4bK{}", rand_hex()),
            from_tag: rand_hex(),
            contacts: vec![contact.to_owned()],
            expires: Some(300),
            extra: Vec::new(),
        }
    }

    /// Another request of the same series: CSeq + 1, new branch.
    pub fn next(&self) -> Req {
        Req { cseq: self.cseq + 1, branch: format!("z9hG4bK{}", rand_hex()), ..self.clone() }
    }

    /// The wire form, sent from `local` over `transport` (`UDP`, `TCP`, `TLS`).
    pub fn to_bytes(&self, local: SocketAddr, transport: &str) -> Vec<u8> {
        let mut s = format!(
            "{m} {uri} SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch={b};rport\r\n\
             Max-Forwards: 70\r\nFrom: <{aor}>;tag={ft}\r\nTo: <{aor}>\r\nCall-ID: {cid}\r\n\
             CSeq: {cseq} {m}\r\n",
            m = self.method,
            uri = self.uri,
            b = self.branch,
            aor = self.aor,
            ft = self.from_tag,
            cid = self.call_id,
            cseq = self.cseq,
        );
        for c in &self.contacts {
            s.push_str(&format!("Contact: {c}\r\n"));
        }
        if let Some(e) = self.expires {
            s.push_str(&format!("Expires: {e}\r\n"));
        }
        for h in &self.extra {
            s.push_str(h);
            s.push_str("\r\n");
        }
        s.push_str("Content-Length: 0\r\n\r\n");
        s.into_bytes()
    }

    /// Adds the answer to `challenge_response` for `user`/`password` (MD5, or SHA-256 when
    /// `sha256`), in the header matching the challenge (Authorization for 401,
    /// Proxy-Authorization for 407).
    pub fn authorize(
        &mut self,
        challenge_response: &Response,
        user: &str,
        password: &str,
        sha256: bool,
    ) {
        let (challenges, header) = if challenge_response.status.code() == 407 {
            (challenge_response.proxy_authenticate().unwrap(), "Proxy-Authorization")
        } else {
            (challenge_response.www_authenticate().unwrap(), "Authorization")
        };
        let want = if sha256 { Algorithm::Sha256 } else { Algorithm::Md5 };
        let ch = challenges
            .iter()
            .find_map(|c| match c {
                Challenge::Digest(d) if d.algorithm.as_ref() == Some(&want) => Some(d.clone()),
                _ => None,
            })
            .expect("challenge for the algorithm");
        let creds =
            respond(&ch, self.method, &self.uri, user, &Secret::password(password), &rand_hex(), 1)
                .unwrap();
        self.extra.retain(|h| !h.starts_with(header));
        self.extra.push(format!("{header}: {creds}"));
    }
}

/// 64 random bits in hex.
pub fn rand_hex() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// A SIP client on a UDP socket bound to 127.0.0.1.
pub struct UdpClient {
    pub sock: UdpSocket,
    pub server: SocketAddr,
}

impl UdpClient {
    pub async fn new(server: SocketAddr) -> UdpClient {
        UdpClient { sock: UdpSocket::bind("127.0.0.1:0").await.unwrap(), server }
    }

    pub fn local(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    pub async fn send(&self, bytes: &[u8]) {
        self.sock.send_to(bytes, self.server).await.unwrap();
    }

    /// The next datagram as raw bytes (panics after 5 s).
    pub async fn recv_raw(&self) -> Vec<u8> {
        let mut buf = vec![0u8; 65_535];
        let (n, _) = tokio::time::timeout(WAIT, self.sock.recv_from(&mut buf))
            .await
            .expect("a datagram within 5 s")
            .unwrap();
        buf.truncate(n);
        buf
    }

    /// The next final response, raw (provisional ones are skipped).
    pub async fn final_raw(&self) -> Vec<u8> {
        loop {
            let b = self.recv_raw().await;
            if !b.starts_with(b"SIP/2.0 1") {
                return b;
            }
        }
    }

    /// The final response to `req` (same Via branch), raw; responses to earlier requests
    /// (retransmissions) and provisional ones are skipped. A non-2xx final response to an
    /// INVITE is acknowledged (RFC 3261 §17.1.1.3), so the server stops retransmitting it.
    pub async fn final_for(&self, req: &Req) -> Vec<u8> {
        loop {
            let raw = self.final_raw().await;
            let resp = Response::parse(&raw).expect("a response");
            let branch = resp.via_top().ok().and_then(|v| v.branch().map(str::to_owned));
            if branch.as_deref() != Some(req.branch.as_str()) {
                continue;
            }
            if req.method == "INVITE" && !resp.status.is_success() {
                let invite =
                    ringfence_sip_types::Request::parse(&req.to_bytes(self.local(), "UDP"))
                        .unwrap();
                let ack =
                    ringfence_sip_proto::transaction::build_non_2xx_ack(&invite, &resp).unwrap();
                self.send(&ack.to_bytes()).await;
            }
            return raw;
        }
    }

    /// Sends `req` and returns the final response.
    pub async fn call(&self, req: &Req) -> Response {
        self.send(&req.to_bytes(self.local(), "UDP")).await;
        Response::parse(&self.final_for(req).await).expect("a response")
    }

    /// Sends `req` and returns the final response, raw and normalised for comparison:
    /// the client's port, `sip:<user>@`, the domain and the Call-ID become placeholders
    /// (besides what [`normalize`] always replaces).
    pub async fn call_normalized(&self, req: &Req, user: &str, domain: &str) -> String {
        self.send(&req.to_bytes(self.local(), "UDP")).await;
        let raw = self.final_for(req).await;
        let port = format!(":{}", self.local().port());
        let rport = format!("rport={}", self.local().port());
        normalize(
            &raw,
            &[
                (&rport, "rport=PORT"),
                (&port, ":PORT"),
                (&format!("sip:{user}@"), "sip:USER@"),
                (domain, "DOMAIN"),
                (&req.call_id, "CALLID"),
            ],
        )
    }

    /// Sends `req`, answers the challenge with `user`/`password`, returns the final
    /// response to the authenticated request (and the request sent).
    pub async fn call_auth(&self, req: &Req, user: &str, password: &str) -> (Response, Req) {
        let first = self.call(req).await;
        assert!(
            matches!(first.status.code(), 401 | 407),
            "expected a challenge, got {}",
            first.status.code()
        );
        let mut again = req.next();
        again.authorize(&first, user, password, false);
        (self.call(&again).await, again)
    }

    /// Nothing arrives within `wait`.
    pub async fn silent(&self, wait: Duration) -> bool {
        let mut buf = [0u8; 2048];
        tokio::time::timeout(wait, self.sock.recv_from(&mut buf)).await.is_err()
    }
}

/// A SIP client on a stream (TCP, or TLS over TCP).
pub struct StreamClient<S> {
    stream: S,
    framer: StreamFramer,
    pub local: SocketAddr,
    transport: &'static str,
}

impl StreamClient<TcpStream> {
    pub async fn tcp(server: SocketAddr) -> Self {
        let stream = TcpStream::connect(server).await.unwrap();
        let local = stream.local_addr().unwrap();
        StreamClient {
            stream,
            framer: StreamFramer::client(Limits::default()),
            local,
            transport: "TCP",
        }
    }
}

impl StreamClient<tokio_rustls::client::TlsStream<TcpStream>> {
    /// A TLS connection to `server`, trusting `cert_pem` and checking the name 127.0.0.1.
    pub async fn tls(server: SocketAddr, cert_pem: &str) -> Self {
        let config = ringfence_server::transport::tls::client_config(cert_pem.as_bytes()).unwrap();
        let connector =
            tokio_rustls::TlsConnector::from(Arc::<rustls::ClientConfig>::clone(&config));
        let tcp = TcpStream::connect(server).await.unwrap();
        let local = tcp.local_addr().unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let stream = connector.connect(name, tcp).await.expect("TLS handshake");
        StreamClient {
            stream,
            framer: StreamFramer::client(Limits::default()),
            local,
            transport: "TLS",
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> StreamClient<S> {
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// The next message from the server (panics after 5 s).
    pub async fn recv(&mut self) -> Message {
        let mut buf = vec![0u8; 16_384];
        loop {
            match self.framer.next().unwrap() {
                Framed::Message(m) => return m,
                Framed::Incomplete => {}
                Framed::Ping | Framed::Pong => continue,
            }
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut buf))
                .await
                .expect("data within 5 s")
                .unwrap();
            assert!(n > 0, "connection closed by the server");
            self.framer.feed(&buf[..n]).unwrap();
        }
    }

    /// Sends `req` and returns the final response.
    pub async fn call(&mut self, req: &Req) -> Response {
        let bytes = req.to_bytes(self.local, self.transport);
        self.send(&bytes).await;
        loop {
            if let Message::Response(r) = self.recv().await
                && r.status.is_final()
            {
                return r;
            }
        }
    }

    /// As [`UdpClient::call_auth`].
    pub async fn call_auth(&mut self, req: &Req, user: &str, password: &str) -> (Response, Req) {
        let first = self.call(req).await;
        assert!(matches!(first.status.code(), 401 | 407), "expected a challenge");
        let mut again = req.next();
        again.authorize(&first, user, password, false);
        (self.call(&again).await, again)
    }
}

/// The response's wire form with everything random or request-specific replaced by
/// placeholders: nonce values, tags, branches, and the given `(text, placeholder)` pairs
/// (user names, domains, Call-IDs), replaced in order.
pub fn normalize(bytes: &[u8], replace: &[(&str, &str)]) -> String {
    let mut s = String::from_utf8_lossy(bytes).into_owned();
    for (from, to) in replace {
        s = s.replace(from, to);
    }
    for (key, end) in [("nonce=\"", '"'), ("tag=", ';'), ("branch=", ';')] {
        let mut out = String::with_capacity(s.len());
        let mut rest = s.as_str();
        while let Some(i) = rest.find(key) {
            out.push_str(&rest[..i + key.len()]);
            out.push_str("<X>");
            rest = &rest[i + key.len()..];
            let stop = rest.find([end, '\r', '>', ',']).unwrap_or(rest.len());
            rest = &rest[stop..];
        }
        out.push_str(rest);
        s = out;
    }
    s
}
