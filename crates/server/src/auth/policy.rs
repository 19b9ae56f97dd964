//! Tenant rules checked after the credentials verify: the encryption requirement and the
//! allowed device networks. A refusal is answered exactly like a bad password (see the
//! module documentation of [`crate::auth`]).

use ringfence_sip_proto::transaction::Peer;
use ringfence_store::{EncryptionRequirement, Tenant};

use super::observer::FailureReason;

/// Checks `source` against `tenant`'s rules.
pub(crate) fn check(tenant: &Tenant, source: &Peer) -> Result<(), FailureReason> {
    let s = &tenant.settings;
    if s.encryption == EncryptionRequirement::Required && !source.transport.is_secure() {
        return Err(FailureReason::PlainTransport);
    }
    // The guard's matching: IPv4-mapped addresses (dual-stack sockets) match IPv4 networks.
    if !ringfence_guard::network_allowed(&s.device_networks, source.addr.ip()) {
        return Err(FailureReason::SourceNetwork);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringfence_sip_proto::transaction::Transport;
    use ringfence_store::{CountryCode, SipDomain, TenantId, TenantSettings};

    fn tenant(enc: EncryptionRequirement, nets: &[&str]) -> Tenant {
        let mut settings = TenantSettings::new(CountryCode::parse("DE").unwrap());
        settings.encryption = enc;
        settings.device_networks = nets.iter().map(|n| n.parse().unwrap()).collect();
        Tenant {
            id: TenantId::random(),
            name: "t".into(),
            domain: SipDomain::parse("t.example").unwrap(),
            settings,
            overrides: Default::default(),
            created_at: ringfence_store::now(),
            updated_at: ringfence_store::now(),
        }
    }

    fn peer(addr: &str, t: Transport) -> Peer {
        Peer::new(addr.parse().unwrap(), t)
    }

    #[test]
    fn encryption_requirement() {
        let t = tenant(EncryptionRequirement::Required, &[]);
        assert_eq!(
            check(&t, &peer("192.0.2.1:5060", Transport::Udp)),
            Err(FailureReason::PlainTransport)
        );
        assert_eq!(
            check(&t, &peer("192.0.2.1:5060", Transport::Tcp)),
            Err(FailureReason::PlainTransport)
        );
        assert_eq!(check(&t, &peer("192.0.2.1:5061", Transport::Tls)), Ok(()));
        for e in [EncryptionRequirement::Preferred, EncryptionRequirement::Optional] {
            assert_eq!(check(&tenant(e, &[]), &peer("192.0.2.1:5060", Transport::Udp)), Ok(()));
        }
    }

    #[test]
    fn device_networks() {
        let t = tenant(EncryptionRequirement::Optional, &["192.0.2.0/24", "2001:db8::/32"]);
        assert_eq!(check(&t, &peer("192.0.2.77:5060", Transport::Udp)), Ok(()));
        assert_eq!(check(&t, &peer("[::ffff:192.0.2.77]:5060", Transport::Udp)), Ok(()));
        assert_eq!(check(&t, &peer("[2001:db8::1]:5060", Transport::Udp)), Ok(()));
        assert_eq!(
            check(&t, &peer("198.51.100.1:5060", Transport::Udp)),
            Err(FailureReason::SourceNetwork)
        );
    }
}
