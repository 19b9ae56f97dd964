//! Where the authenticator finds tenants and SIP accounts: the store, behind a narrow
//! object-safe trait so the core does not carry the store's type around.

use std::future::Future;
use std::pin::Pin;

use ringfence_store::{
    ExtensionNumber, ExtensionRepo, SipAccount, SipDomain, StoreError, Tenant, TenantRepo,
};

/// A boxed `Send` future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Tenants by SIP domain and accounts by (domain, extension number).
///
/// Names that cannot exist (a domain or number that is not well formed) answer
/// `Ok(None)` without asking the database.
pub trait AccountSource: Send + Sync + 'static {
    /// The tenant whose SIP domain is `domain`.
    fn tenant<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, Result<Option<Tenant>, StoreError>>;
    /// Extension `number` of the tenant whose domain is `domain`, with its credentials.
    fn account<'a>(
        &'a self,
        domain: &'a str,
        number: &'a str,
    ) -> BoxFuture<'a, Result<Option<SipAccount>, StoreError>>;
}

/// [`AccountSource`] over any store.
#[derive(Debug, Clone)]
pub struct StoreAccounts<S>(pub S);

impl<S> AccountSource for StoreAccounts<S>
where
    S: TenantRepo + ExtensionRepo + Send + Sync + 'static,
{
    fn tenant<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, Result<Option<Tenant>, StoreError>> {
        Box::pin(async move {
            let Ok(domain) = SipDomain::parse(domain) else { return Ok(None) };
            self.0.get_tenant_by_domain(&domain).await
        })
    }

    fn account<'a>(
        &'a self,
        domain: &'a str,
        number: &'a str,
    ) -> BoxFuture<'a, Result<Option<SipAccount>, StoreError>> {
        Box::pin(async move {
            let (Ok(domain), Ok(number)) =
                (SipDomain::parse(domain), ExtensionNumber::parse(number))
            else {
                return Ok(None);
            };
            self.0.find_sip_account(&domain, &number).await
        })
    }
}
