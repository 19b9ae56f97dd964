//! `ringfence serve --demo`: a demo tenant with two extensions, created once, so a new user
//! can register two softphones and place a first call within minutes.
//!
//! The demo tenant's encryption requirement is `preferred`, not the `required` every other
//! new tenant gets: the point of the demo is that any softphone works at once, including
//! ones set up for plain UDP. TLS and SRTP are still used wherever the phone offers them.
//! Production tenants created through the API or the CLI keep the secure default.

use std::fmt::Write as _;
use std::net::SocketAddr;

use anyhow::anyhow;
use ringfence_admin::provision::{self, ExtensionInput};
use ringfence_store::{Actor, AnyStore, EncryptionRequirement, SipDomain, TenantRepo as _};
use zeroize::Zeroizing;

/// The demo tenant's SIP domain (`.test` is reserved for testing, RFC 2606).
pub const DEMO_DOMAIN: &str = "demo.ringfence.test";
/// The demo extensions.
pub const DEMO_EXTENSIONS: [&str; 2] = ["1001", "1002"];

/// One demo account, with the password shown once.
#[derive(Debug)]
pub struct DemoAccount {
    /// Extension number (also the SIP username).
    pub number: String,
    /// The generated SIP password.
    pub password: Zeroizing<String>,
}

/// Creates the demo tenant and its extensions unless the tenant exists. Returns the new
/// accounts, or `None` when the tenant was there already (its passwords were printed when
/// it was created and cannot be shown again).
pub async fn ensure(
    store: &AnyStore,
    home_country: &str,
) -> anyhow::Result<Option<Vec<DemoAccount>>> {
    let domain = SipDomain::parse(DEMO_DOMAIN).map_err(|e| anyhow!("demo domain: {e}"))?;
    if store.get_tenant_by_domain(&domain).await?.is_some() {
        return Ok(None);
    }
    let actor = Actor::system("serve --demo");
    let tenant = provision::create_tenant(
        store,
        "Demo",
        DEMO_DOMAIN,
        home_country,
        EncryptionRequirement::Preferred,
        &actor,
    )
    .await
    .map_err(|e| anyhow!("creating the demo tenant: {e}"))?;
    let mut accounts = Vec::new();
    for number in DEMO_EXTENSIONS {
        let input = ExtensionInput {
            number: number.to_owned(),
            display_name: format!("Demo {number}"),
            owner: None,
            enabled: true,
            pin: None,
        };
        let (_, password) = provision::create_extension(store, &tenant, input, &actor)
            .await
            .map_err(|e| anyhow!("creating demo extension {number}: {e}"))?;
        accounts.push(DemoAccount { number: number.to_owned(), password });
    }
    Ok(Some(accounts))
}

/// What to tell the user: credentials (when just created) and softphone settings for the
/// bound SIP listeners.
pub fn instructions(
    accounts: Option<&[DemoAccount]>,
    udp: Option<SocketAddr>,
    tls: Option<SocketAddr>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Demo tenant {DEMO_DOMAIN}:");
    match accounts {
        Some(accounts) => {
            let _ = writeln!(s, "  (passwords are shown only now; keep them)");
            for a in accounts {
                let _ = writeln!(
                    s,
                    "  extension {n}: username {n}, password {p}",
                    n = a.number,
                    p = a.password.as_str()
                );
            }
        }
        None => {
            let _ = writeln!(
                s,
                "  extensions {} (created on an earlier start; reset a password with the admin API: \
                 POST /api/v1/tenants/{{id}}/extensions/{{id}}/sip-password/reset)",
                DEMO_EXTENSIONS.join(", ")
            );
        }
    }
    let _ = writeln!(s, "Softphone settings:");
    let _ = writeln!(s, "  SIP domain / realm: {DEMO_DOMAIN}");
    let host = |a: SocketAddr| {
        if a.ip().is_unspecified() {
            format!("<this machine's address>:{}", a.port())
        } else {
            a.to_string()
        }
    };
    if let Some(a) = tls {
        let _ = writeln!(
            s,
            "  proxy over TLS (recommended, with SRTP): sip:{};transport=tls  \
             (self-signed certificate: trust tls-cert.pem from the data directory)",
            host(a)
        );
    }
    if let Some(a) = udp {
        let _ = writeln!(s, "  proxy over UDP: sip:{}", host(a));
    }
    let _ = writeln!(s, "  then dial the other extension, e.g. 1002 from 1001.");
    s
}
