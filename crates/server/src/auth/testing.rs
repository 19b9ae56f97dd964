//! An in-memory [`AccountSource`] for unit tests: tenant `pbx.example` with extension 100.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ringfence_sip_proto::digest::Ha1;
use ringfence_store::{
    CountryCode, EncryptionRequirement, Extension, ExtensionId, ExtensionNumber, SipAccount,
    SipCredentials, SipDomain, StoreError, Tenant, TenantId, TenantSettings,
};

use super::{AccountSource, BoxFuture};

/// The tenant's domain.
pub(crate) const REALM: &str = "pbx.example";
/// Extension 100's password.
pub(crate) const PW: &str = "secret";

/// Tenant `pbx.example` with extension 100 (password [`PW`]); counts queries; can fail.
pub(crate) struct Fake {
    pub(crate) tenant: Tenant,
    pub(crate) extension: Extension,
    pub(crate) queries: AtomicUsize,
    pub(crate) fail: Mutex<bool>,
}

impl Fake {
    pub(crate) fn new(encryption: EncryptionRequirement) -> Fake {
        let mut settings = TenantSettings::new(CountryCode::parse("DE").unwrap());
        settings.encryption = encryption;
        let now = ringfence_store::now();
        let tenant = Tenant {
            id: TenantId::random(),
            name: "t".into(),
            domain: SipDomain::parse(REALM).unwrap(),
            settings,
            overrides: Default::default(),
            created_at: now,
            updated_at: now,
        };
        let extension = Extension {
            id: ExtensionId::random(),
            tenant_id: tenant.id,
            number: ExtensionNumber::parse("100").unwrap(),
            display_name: String::new(),
            owner_user_id: None,
            enabled: true,
            has_sip_credentials: true,
            secret_set_at: None,
            pin_hash: None,
            pin_set_at: None,
            created_at: now,
            restrictions: Default::default(),
            forwarding: Default::default(),
        };
        Fake { tenant, extension, queries: AtomicUsize::new(0), fail: Mutex::new(false) }
    }

    /// Queries made so far.
    pub(crate) fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    fn check(&self) -> Result<(), StoreError> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        if *self.fail.lock().unwrap() {
            return Err(StoreError::NotFound { what: "database" });
        }
        Ok(())
    }
}

impl AccountSource for Fake {
    fn tenant<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, Result<Option<Tenant>, StoreError>> {
        let r = self.check().map(|()| (domain == REALM).then(|| self.tenant.clone()));
        Box::pin(async move { r })
    }

    fn account<'a>(
        &'a self,
        domain: &'a str,
        number: &'a str,
    ) -> BoxFuture<'a, Result<Option<SipAccount>, StoreError>> {
        let r = self.check().map(|()| {
            (domain == REALM && number == "100").then(|| {
                let d = SipDomain::parse(REALM).unwrap();
                let md5: [u8; 16] = Ha1::md5("100", REALM, PW).as_bytes().try_into().unwrap();
                let sha: [u8; 32] = Ha1::sha256("100", REALM, PW).as_bytes().try_into().unwrap();
                SipAccount {
                    extension: self.extension.clone(),
                    credentials: Some(SipCredentials::new(&d, md5, sha)),
                }
            })
        });
        Box::pin(async move { r })
    }
}
