//! Harness for the call tests: the whole server with the B2BUA on 127.0.0.1, callee
//! devices played by SIPp (registered first, then answering on the same port), callers
//! played by SIPp, raw SIP clients for what SIPp cannot do, and the call records.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use ringfence_server::b2bua::{B2buaBuilder, B2buaConfig, B2buaHandle};
use ringfence_server::config::ServerConfig;
use ringfence_sip_proto::digest::{Secret, respond};
use ringfence_sip_types::auth::{Algorithm, Challenge};
use ringfence_sip_types::{Request, Response};
use ringfence_store::{
    CallFilter, CallRecord, CallRecordRepo, EncryptionRequirement, ExtensionId, Tenant,
};
use tokio::task::JoinHandle;

use crate::common::client::rand_hex;
use crate::common::tools::{Sipp, SippRun, eventually, free_udp_port};
use crate::common::{TestEnv, TestServer, test_config};

pub const DOMAIN: &str = "calls.test";
pub const PW: &str = "correct horse battery staple";

/// A B2BUA configuration for tests: short shutdown grace, defaults otherwise.
pub fn b2bua_config() -> B2buaConfig {
    B2buaConfig { shutdown_grace: Duration::from_secs(5), ..B2buaConfig::default() }
}

/// A running server with the B2BUA and one tenant.
pub struct CallEnv {
    pub env: TestEnv,
    pub tenant: Tenant,
    pub server: TestServer,
    pub b2bua: B2buaHandle,
    pub extensions: HashMap<String, ExtensionId>,
}

impl CallEnv {
    /// A tenant `DOMAIN` with `encryption` and the given extensions (password [`PW`]),
    /// the server started with `config`.
    pub async fn start(
        encryption: EncryptionRequirement,
        config: B2buaConfig,
        numbers: &[&str],
    ) -> CallEnv {
        CallEnv::start_with(encryption, config, test_config(), numbers).await
    }

    pub async fn start_with(
        encryption: EncryptionRequirement,
        config: B2buaConfig,
        server_config: ServerConfig,
        numbers: &[&str],
    ) -> CallEnv {
        let env = TestEnv::new().await;
        let tenant = env.tenant(DOMAIN, encryption).await;
        let mut extensions = HashMap::new();
        for n in numbers {
            let e = env.extension(&tenant, n, PW, true).await;
            extensions.insert((*n).to_owned(), e.id);
        }
        let (factory, b2bua) = B2buaBuilder::new(config, env.store.clone()).build().unwrap();
        let server = env.start_with(server_config, Some(factory)).await;
        CallEnv { env, tenant, server, b2bua, extensions }
    }

    /// Every call has ended and its record is stored; the records, oldest first.
    pub async fn records(&self) -> Vec<CallRecord> {
        let b = self.b2bua.clone();
        assert!(
            eventually(Duration::from_secs(15), || b.stats().calls == 0).await,
            "calls still running: {:?}",
            self.b2bua.stats()
        );
        self.b2bua.flush_records().await;
        let mut page = self
            .env
            .store
            .list_call_records(self.tenant.id, &CallFilter::default(), 100, None)
            .await
            .unwrap();
        page.records.reverse();
        page.records
    }

    /// The one record there should be.
    pub async fn record(&self) -> CallRecord {
        let mut all = self.records().await;
        assert_eq!(all.len(), 1, "expected one call record: {all:#?}");
        all.remove(0)
    }

    /// Nothing is left in the routing table.
    pub fn assert_clean(&self) {
        let s = self.b2bua.stats();
        assert_eq!((s.calls, s.active, s.dialog_keys), (0, 0, 0), "{s:?}");
    }

    /// Waits for every call to end, then checks nothing is left behind.
    pub async fn assert_clean_after_records(&self) {
        self.records().await;
        self.assert_clean();
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// True when something is bound to UDP 127.0.0.1:`port` (read from /proc, so the check
/// never holds the port itself).
fn udp_bound(port: u16) -> bool {
    let needle = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/udp")
        .map(|t| t.lines().any(|l| l.split_whitespace().nth(1) == Some(needle.as_str())))
        .unwrap_or(false)
}

/// A callee device: registered from `port`, then SIPp runs `scenario` there as UAS.
pub struct Device {
    pub port: u16,
    task: JoinHandle<SippRun>,
}

impl Device {
    /// Registers extension `ext` from a fresh port and starts `scenario` on it.
    pub async fn start(server: SocketAddr, ext: &str, scenario: &str) -> Device {
        let port = free_udp_port();
        register(server, ext, port).await;
        Device::answer_on(server, port, scenario).await
    }

    /// Starts `scenario` as UAS on `port` (already registered).
    pub async fn answer_on(server: SocketAddr, port: u16, scenario: &str) -> Device {
        let uas = Sipp::new(scenario, server).arg("-p").arg(port.to_string());
        let task = tokio::spawn(uas.run());
        assert!(
            eventually(Duration::from_secs(10), || udp_bound(port)).await,
            "SIPp did not bind port {port}"
        );
        Device { port, task }
    }

    /// Waits for SIPp to finish its one call.
    pub async fn finish(self) -> SippRun {
        self.task.await.expect("SIPp task")
    }
}

/// Registers extension `ext` with SIPp from UDP `port`.
pub async fn register(server: SocketAddr, ext: &str, port: u16) {
    Sipp::new("call_register.xml", server)
        .account(ext, PW, DOMAIN)
        .arg("-p")
        .arg(port.to_string())
        .run()
        .await
        .assert_success();
}

/// A SIPp caller: extension `caller` calls `callee` with `scenario`.
pub fn caller(scenario: &str, server: SocketAddr, caller: &str, callee: &str) -> Sipp {
    Sipp::new(scenario, server)
        .account(caller, PW, DOMAIN)
        // The digest uri must be the Request-URI (sip:<callee>@<domain>).
        .arg("-auth_uri")
        .arg(format!("{callee}@{DOMAIN}"))
        .key("callee", callee)
}

/// The status of the last final response SIPp received.
pub fn final_status(run: &SippRun) -> u16 {
    run.received()
        .iter()
        .rev()
        .filter_map(|m| m.strip_prefix("SIP/2.0 "))
        .filter_map(|m| m.get(..3)?.parse::<u16>().ok())
        .find(|c| *c >= 200)
        .unwrap_or(0)
}

/// The first received request with `method`.
pub fn received_request(run: &SippRun, method: &str) -> Option<String> {
    run.received().into_iter().find(|m| m.starts_with(&format!("{method} ")))
}

/// A header value of a message in wire form.
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// An SDP offer: plain RTP, or SRTP with an SDES key.
pub fn sdp(srtp: bool) -> String {
    let (proto, crypto) = if srtp {
        (
            "RTP/SAVP",
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n",
        )
    } else {
        ("RTP/AVP", "")
    };
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio 40000 {proto} 0\r\na=rtpmap:0 PCMU/8000\r\n{crypto}"
    )
}

/// An INVITE from extension `caller` to `callee` in wire form, sent from `local` over
/// `transport`, with `extra` header lines and an SDP `body`.
#[allow(clippy::too_many_arguments)]
pub fn invite(
    caller: &str,
    callee: &str,
    local: SocketAddr,
    transport: &str,
    call_id: &str,
    cseq: u32,
    extra: &[String],
    body: &str,
) -> Vec<u8> {
    let scheme = if transport == "TLS" { "sips" } else { "sip" };
    let mut s = format!(
        "INVITE {scheme}:{callee}@{DOMAIN} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};branch=z9hG4bK{b};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{caller}@{DOMAIN}>;tag=ft{call_id}\r\n\
         To: <sip:{callee}@{DOMAIN}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\n\
         Contact: <{scheme}:{caller}@{local}>\r\n",
        b = rand_hex(),
    );
    for h in extra {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str(&format!(
        "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    s.into_bytes()
}

/// The Proxy-Authorization line answering the MD5 challenge in `challenge` for a request
/// with `method` and `uri`.
pub fn proxy_authorization(
    challenge: &Response,
    method: &str,
    uri: &str,
    user: &str,
    password: &str,
) -> String {
    let d = challenge
        .proxy_authenticate()
        .unwrap()
        .into_iter()
        .find_map(|c| match c {
            Challenge::Digest(d) if d.algorithm.as_ref() == Some(&Algorithm::Md5) => Some(d),
            _ => None,
        })
        .expect("an MD5 challenge");
    let creds =
        respond(&d, method, uri, user, &Secret::password(password), &rand_hex(), 1).unwrap();
    format!("Proxy-Authorization: {creds}")
}

/// The ACK for a non-2xx final response to `invite` (RFC 3261 §17.1.1.3).
pub fn ack_for(invite: &[u8], response: &Response) -> Vec<u8> {
    let invite = Request::parse(invite).unwrap();
    ringfence_sip_proto::transaction::build_non_2xx_ack(&invite, response).unwrap().to_bytes()
}

/// A raw SIP endpoint on UDP or TLS, for flows SIPp cannot play (TLS, loops, SRTP).
pub enum Endpoint {
    Udp(crate::common::client::UdpClient),
    Tls(
        Box<
            crate::common::client::StreamClient<
                tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
            >,
        >,
    ),
}

impl Endpoint {
    pub async fn udp(server: SocketAddr) -> Endpoint {
        Endpoint::Udp(crate::common::client::UdpClient::new(server).await)
    }

    pub async fn tls(server: SocketAddr, cert_pem: &str) -> Endpoint {
        Endpoint::Tls(Box::new(crate::common::client::StreamClient::tls(server, cert_pem).await))
    }

    pub fn local(&self) -> SocketAddr {
        match self {
            Endpoint::Udp(c) => c.local(),
            Endpoint::Tls(c) => c.local,
        }
    }

    pub fn transport(&self) -> &'static str {
        match self {
            Endpoint::Udp(_) => "UDP",
            Endpoint::Tls(_) => "TLS",
        }
    }

    fn scheme(&self) -> &'static str {
        match self {
            Endpoint::Udp(_) => "sip",
            Endpoint::Tls(_) => "sips",
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        match self {
            Endpoint::Udp(c) => c.send(bytes).await,
            Endpoint::Tls(c) => c.send(bytes).await,
        }
    }

    /// The next message (panics after 5 s).
    pub async fn next(&mut self) -> ringfence_sip_types::Message {
        match self {
            Endpoint::Udp(c) => ringfence_sip_types::Message::parse(&c.recv_raw().await).unwrap(),
            Endpoint::Tls(c) => c.recv().await,
        }
    }

    /// The next response with a status of at least `min` (earlier ones are skipped).
    pub async fn response(&mut self, min: u16) -> Response {
        loop {
            if let ringfence_sip_types::Message::Response(r) = self.next().await
                && r.status.code() >= min
            {
                return r;
            }
        }
    }

    /// The next request.
    pub async fn request(&mut self) -> Request {
        loop {
            if let ringfence_sip_types::Message::Request(r) = self.next().await {
                return r;
            }
        }
    }

    /// Registers extension `ext` from this endpoint (digest auth).
    pub async fn register(&mut self, ext: &str) {
        let contact = format!("<{}:{ext}@{}>", self.scheme(), self.local());
        let r = crate::common::client::Req::register(ext, DOMAIN, &contact);
        self.send(&r.to_bytes(self.local(), self.transport())).await;
        let challenge = self.response(200).await;
        assert_eq!(challenge.status.code(), 401);
        let mut again = r.next();
        again.authorize(&challenge, ext, PW, false);
        self.send(&again.to_bytes(self.local(), self.transport())).await;
        assert_eq!(self.response(200).await.status.code(), 200, "{ext} registered");
    }

    /// Extension `caller` calls `callee` with `body`: the INVITE is challenged (407,
    /// ACKed) and sent again with credentials for `password`. Returns that INVITE.
    pub async fn call(
        &mut self,
        caller: &str,
        callee: &str,
        password: &str,
        body: &str,
    ) -> Vec<u8> {
        let call_id = format!("raw-{}", rand_hex());
        let (local, t) = (self.local(), self.transport());
        let first = invite(caller, callee, local, t, &call_id, 1, &[], body);
        self.send(&first).await;
        let challenge = self.response(200).await;
        assert_eq!(challenge.status.code(), 407, "INVITE challenged");
        self.send(&ack_for(&first, &challenge)).await;
        let uri = format!("{}:{callee}@{DOMAIN}", self.scheme());
        let auth = proxy_authorization(&challenge, "INVITE", &uri, caller, password);
        let second = invite(caller, callee, local, t, &call_id, 2, &[auth], body);
        self.send(&second).await;
        second
    }

    /// A request in the dialog a 2xx to our INVITE created (ACK with the INVITE's CSeq
    /// number, or BYE, ...), addressed to the 2xx's Contact.
    pub fn in_dialog(&self, method: &str, ok: &Response, cseq: u32) -> Vec<u8> {
        self.in_dialog_with(method, ok, cseq, None)
    }

    /// As [`Endpoint::in_dialog`], with an SDP body.
    pub fn in_dialog_with(
        &self,
        method: &str,
        ok: &Response,
        cseq: u32,
        sdp: Option<&str>,
    ) -> Vec<u8> {
        let target = ok.contacts().unwrap()[0].address().unwrap().uri.to_string();
        let from = ok.headers.get("From").unwrap().to_owned();
        let to = ok.headers.get("To").unwrap().to_owned();
        self.request_with(method, &target, &from, &to, ok.call_id().unwrap(), cseq, sdp)
    }

    /// A request of the device that received `invite` (the B2BUA's INVITE), in that
    /// dialog: our tag `devtag` (see [`Endpoint::answer`]), to the INVITE's Contact.
    pub fn callee_request(
        &self,
        method: &str,
        invite: &Request,
        cseq: u32,
        sdp: Option<&str>,
    ) -> Vec<u8> {
        let target = invite.contacts().unwrap()[0].address().unwrap().uri.to_string();
        let from = format!("{};tag=devtag", invite.headers.get("To").unwrap());
        let to = invite.headers.get("From").unwrap().to_owned();
        self.request_with(method, &target, &from, &to, invite.call_id().unwrap(), cseq, sdp)
    }

    #[allow(clippy::too_many_arguments)]
    fn request_with(
        &self,
        method: &str,
        target: &str,
        from: &str,
        to: &str,
        call_id: &str,
        cseq: u32,
        sdp: Option<&str>,
    ) -> Vec<u8> {
        let mut s = format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/{t} {local};branch=z9hG4bK{b};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n",
            t = self.transport(),
            local = self.local(),
            b = rand_hex(),
        );
        if matches!(method, "INVITE" | "UPDATE") {
            s.push_str(&format!("Contact: <{}:dev@{}>\r\n", self.scheme(), self.local()));
        }
        match sdp {
            Some(b) => s.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            )),
            None => s.push_str("Content-Length: 0\r\n\r\n"),
        }
        s.into_bytes()
    }

    /// Answers `request` 200 without body or Contact (BYE, ACK-less requests).
    pub async fn ok(&mut self, request: &Request) {
        self.send(&Response::from_request(request, 200).to_bytes()).await;
    }

    /// Answers `request` (received here) with `code`, our tag and Contact, and `body`.
    pub async fn answer(&mut self, request: &Request, code: u16, body: Option<&str>) {
        let mut r = Response::from_request(request, code);
        let _ = r.set_to_tag("devtag");
        r.headers.remove("Content-Length");
        let contact = format!("<{}:dev@{}>", self.scheme(), self.local());
        r.headers.push("Contact", &contact);
        if let Some(b) = body {
            r.headers.push("Content-Type", "application/sdp");
            r.body = b.as_bytes().to_vec();
        }
        r.headers.set_content_length(r.body.len());
        self.send(&r.to_bytes()).await;
    }
}
