//! Provisioning operations shared by the REST API and the operator CLI, so both apply the
//! same rules: bootstrap of the first super admin, tenants, extensions with generated SIP
//! secrets, and API tokens.

use ringfence_sip_proto::digest::Ha1;
use ringfence_store::{
    Actor, AnyStore, ApiToken, CountryCode, EncryptionRequirement, Extension, ExtensionNumber,
    ExtensionRepo as _, NewApiToken, NewExtension, NewTenant, NewUser, Role, SipCredentials,
    SipDomain, Tenant, TenantId, TenantRepo as _, TenantSettings, TokenRepo as _, User, UserId,
    UserRepo as _,
};
use zeroize::Zeroizing;

use crate::auth::password;
use crate::error::{Error, Result};
use crate::policy;

/// Default email of the bootstrap super admin.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@ringfence.invalid";

/// The super admins of the platform.
pub async fn super_admins(store: &AnyStore) -> Result<Vec<User>> {
    Ok(store.list_users(None).await?.into_iter().filter(|u| u.role == Role::SuperAdmin).collect())
}

/// Creates a super admin with a generated one-time password (returned; shown once). The
/// account must change it and enroll TOTP at first login. Refuses (409 `already_exists`)
/// when a super admin exists, unless `force` is set.
pub async fn bootstrap_super_admin(
    store: &AnyStore,
    email: &str,
    force: bool,
    actor: &Actor,
) -> Result<(User, Zeroizing<String>)> {
    let email =
        ringfence_store::Email::parse(email).map_err(|e| Error::from(e).with_field("email"))?;
    if !force && !super_admins(store).await?.is_empty() {
        return Err(Error::conflict(
            "already_exists",
            "a super admin already exists; log in as that admin, or pass --force-new to add \
             another one",
        ));
    }
    let one_time = policy::generate_secret(policy::GENERATED_SECRET_LEN)?;
    let hash = password::hash(one_time.clone()).await?;
    let user = store
        .create_user(
            NewUser {
                tenant_id: None,
                email,
                role: Role::SuperAdmin,
                password_hash: hash,
                must_change_password: true,
            },
            actor,
        )
        .await?;
    Ok((user, one_time))
}

/// Creates a tenant with secure default settings.
pub async fn create_tenant(
    store: &AnyStore,
    name: &str,
    domain: &str,
    home_country: &str,
    encryption: EncryptionRequirement,
    actor: &Actor,
) -> Result<Tenant> {
    let domain = SipDomain::parse(domain).map_err(|e| Error::from(e).with_field("domain"))?;
    let country =
        CountryCode::parse(home_country).map_err(|e| Error::from(e).with_field("home_country"))?;
    let mut settings = TenantSettings::new(country);
    settings.encryption = encryption;
    let tenant =
        store.create_tenant(NewTenant { name: name.to_owned(), domain, settings }, actor).await?;
    Ok(tenant)
}

/// HA1s of `password` for extension `number` in `tenant`'s realm, for MD5 and SHA-256.
pub fn sip_credentials(
    tenant: &Tenant,
    number: &ExtensionNumber,
    password: &str,
) -> SipCredentials {
    let realm = tenant.domain.as_str();
    let md5 = Ha1::md5(number.as_str(), realm, password);
    let sha = Ha1::sha256(number.as_str(), realm, password);
    let mut m = [0u8; 16];
    let mut s = [0u8; 32];
    m.copy_from_slice(md5.as_bytes());
    s.copy_from_slice(sha.as_bytes());
    let creds = SipCredentials::new(&tenant.domain, m, s);
    zeroize::Zeroize::zeroize(&mut m);
    zeroize::Zeroize::zeroize(&mut s);
    creds
}

/// What [`create_extension`] takes besides the tenant.
#[derive(Debug, Clone, Default)]
pub struct ExtensionInput {
    /// Extension number.
    pub number: String,
    /// Caller name.
    pub display_name: String,
    /// Owner (a user of the tenant).
    pub owner: Option<UserId>,
    /// Enabled?
    pub enabled: bool,
    /// Voicemail PIN, checked against the PIN rules.
    pub pin: Option<Zeroizing<String>>,
}

/// Creates an extension with a generated SIP password (returned; shown once). Everything is
/// checked before anything is written, and the store writes the extension and its audit
/// event in one transaction.
pub async fn create_extension(
    store: &AnyStore,
    tenant: &Tenant,
    input: ExtensionInput,
    actor: &Actor,
) -> Result<(Extension, Zeroizing<String>)> {
    let number =
        ExtensionNumber::parse(&input.number).map_err(|e| Error::from(e).with_field("number"))?;
    if input.display_name.chars().count() > 100 || input.display_name.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "display_name",
            "at most 100 characters, no control characters",
        ));
    }
    let policy_ = &tenant.settings.credential_policy;
    let pin_hash = match &input.pin {
        Some(pin) => {
            policy::check_pin("pin", pin, usize::from(policy_.pin_min_length), number.as_str())?;
            Some(password::hash(pin.clone()).await?)
        }
        None => None,
    };
    if let Some(owner) = input.owner
        && store.get_user(Some(tenant.id), owner).await?.is_none()
    {
        return Err(Error::invalid("owner_user_id", "no such user in this tenant"));
    }
    let secret = policy::generate_secret(policy::GENERATED_SECRET_LEN)?;
    let creds = sip_credentials(tenant, &number, &secret);
    let ext = store
        .create_extension(
            tenant.id,
            NewExtension {
                number,
                display_name: input.display_name,
                owner_user_id: input.owner,
                enabled: input.enabled,
                sip_credentials: Some(creds),
                pin_hash,
            },
            actor,
        )
        .await?;
    Ok((ext, secret))
}

/// Creates an API token for `role` in `tenant` (`None` exactly for super admins); returns
/// the record and the secret token (shown once).
pub async fn create_token(
    store: &AnyStore,
    tenant: Option<TenantId>,
    role: Role,
    name: &str,
    actor: &Actor,
) -> Result<(ApiToken, Zeroizing<String>)> {
    match (role, tenant) {
        (Role::SuperAdmin, None) | (Role::TenantAdmin, Some(_)) => {}
        (Role::SuperAdmin, Some(_)) => {
            return Err(Error::invalid("tenant", "super-admin tokens belong to no tenant"));
        }
        (Role::TenantAdmin, None) => {
            return Err(Error::invalid("tenant", "tenant-admin tokens need a tenant"));
        }
        (Role::User, _) => {
            return Err(Error::invalid("role", "tokens act as super_admin or tenant_admin"));
        }
    }
    let (token, hash) = ringfence_store::generate_token()?;
    let record = store
        .create_token(
            NewApiToken { tenant_id: tenant, role, name: name.to_owned(), token_hash: hash },
            actor,
        )
        .await?;
    Ok((record, token))
}
