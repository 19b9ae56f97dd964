//! Encryption at rest.
//!
//! Key hierarchy:
//! - **Master key** (32 bytes): from env `RINGFENCE_MASTER_KEY` (64 hex digits, or base64 of 32
//!   bytes, standard or URL-safe alphabet, padding optional), else the file `master.key` in the
//!   data directory (64 hex digits and a newline, mode 0600), created on first start
//!   atomically and never overwritten. Losing it makes every secret unreadable: back it up
//!   apart from the database.
//! - **Data keys** (32 random bytes): one per tenant, stored in the tenant row, and one for the
//!   platform (super admins), stored in `platform_keys`; each wrapped (AES-256-GCM) by the
//!   master key with AAD naming its owner, so a wrapped key moved to another tenant fails.
//! - **Fields** (SIP HA1s, TOTP secrets): AES-256-GCM under the owner's data key with a random
//!   96-bit nonce and AAD = `"ringfence/v1"` followed by the length-prefixed tenant id (or
//!   `platform`), table, column and row id; a ciphertext moved to another row, column or tenant
//!   fails to open.
//!
//! Stored format of every ciphertext: version byte `0x01` || nonce (12) || ciphertext || tag (16).
//!
//! Deleting a tenant deletes its wrapped key in the same transaction as its rows
//! (crypto-shredding). Copies of the database taken before the deletion still hold the wrapped
//! key, protected by the master key; rotate the master key if such copies must be shredded too.
//!
//! Key bytes live in [`zeroize`]-on-drop buffers. `ring` expands keys into its own schedule
//! for each operation; that copy is dropped right after, without zeroization.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad as RingAad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Result, StoreError};
use crate::types::TenantId;

/// Version byte of the ciphertext format.
const FORMAT_V1: u8 = 1;
const TAG_LEN: usize = 16;

fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut out = Zeroizing::new([0u8; N]);
    SystemRandom::new()
        .fill(out.as_mut())
        .map_err(|_| StoreError::Crypto("system random generator failed".into()))?;
    Ok(out)
}

fn push_lp(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u32).to_be_bytes());
    out.extend_from_slice(field);
}

fn seal_with(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let unbound = UnboundKey::new(&AES_256_GCM, key)
        .map_err(|_| StoreError::Crypto("bad key length".into()))?;
    let key = LessSafeKey::new(unbound);
    let nonce = random_bytes::<NONCE_LEN>()?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.push(FORMAT_V1);
    out.extend_from_slice(nonce.as_ref());
    let mut body = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(*nonce),
        RingAad::from(aad),
        &mut body,
    )
    .map_err(|_| StoreError::Crypto("encryption failed".into()))?;
    out.extend_from_slice(&body);
    body.zeroize();
    Ok(out)
}

fn open_with(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let fail = || StoreError::Crypto("ciphertext does not open with this key and record".into());
    if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != FORMAT_V1 {
        return Err(StoreError::Crypto("unknown ciphertext format".into()));
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&sealed[1..1 + NONCE_LEN]);
    let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| fail())?;
    let key = LessSafeKey::new(unbound);
    let mut body = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
    let len = key
        .open_in_place(Nonce::assume_unique_for_key(nonce), RingAad::from(aad), body.as_mut())
        .map_err(|_| fail())?
        .len();
    body.truncate(len);
    Ok(body)
}

/// Where a sealed value lives; bound into the AEAD as associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aad<'a> {
    /// Owning tenant; `None` for platform records (super admins).
    pub tenant: Option<TenantId>,
    /// Table name, e.g. `"extensions"`.
    pub table: &'a str,
    /// Column name, e.g. `"sip_credentials"`.
    pub column: &'a str,
    /// Row id.
    pub row: Uuid,
}

impl Aad<'_> {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(b"ringfence/v1");
        match self.tenant {
            Some(t) => push_lp(&mut out, t.0.as_bytes()),
            None => push_lp(&mut out, b"platform"),
        }
        push_lp(&mut out, self.table.as_bytes());
        push_lp(&mut out, self.column.as_bytes());
        push_lp(&mut out, self.row.as_bytes());
        out
    }
}

/// Whose data key a wrapped key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyOwner {
    Platform,
    Tenant(TenantId),
}

impl KeyOwner {
    fn aad(self) -> Vec<u8> {
        let mut out = b"ringfence/v1/key-wrap".to_vec();
        match self {
            Self::Platform => push_lp(&mut out, b"platform"),
            Self::Tenant(t) => push_lp(&mut out, t.0.as_bytes()),
        }
        out
    }
}

/// The root key that wraps every data key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Environment variable that supplies the master key (hex or base64 of 32 bytes).
    pub const ENV: &'static str = "RINGFENCE_MASTER_KEY";
    /// File name of the master key in the data directory.
    pub const FILE_NAME: &'static str = "master.key";

    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self> {
        Ok(Self(*random_bytes::<32>()?))
    }

    /// Parses 64 hex digits, or base64 (standard or URL-safe, padded or not) of 32 bytes.
    /// Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let mut key = [0u8; 32];
        if text.len() == 64 && hex::decode_to_slice(text, &mut key).is_ok() {
            return Ok(Self(key));
        }
        let trimmed = text.trim_end_matches('=');
        let engines = [
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        for engine in engines {
            if let Ok(bytes) = engine.decode(trimmed).map(Zeroizing::new)
                && bytes.len() == 32
            {
                key.copy_from_slice(&bytes);
                return Ok(Self(key));
            }
        }
        Err(StoreError::invalid(
            "master_key",
            "must be 64 hex digits or base64 of exactly 32 bytes",
        ))
    }

    /// A 32-byte key for another purpose, derived as HMAC-SHA256(master, `label`), so every
    /// node sharing the master key derives the same one and no further secret needs
    /// storing (e.g. the SIP digest nonce key, label `"ringfence/v1/sip-nonce"`).
    pub fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        let tag = ring::hmac::sign(&key, label.as_bytes());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Lowercase hex, e.g. for moving the key into `RINGFENCE_MASTER_KEY`.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    /// The key from `RINGFENCE_MASTER_KEY`, if that variable is set.
    pub fn from_env() -> Result<Option<Self>> {
        match std::env::var(Self::ENV) {
            Ok(v) => Self::parse(&Zeroizing::new(v)).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(StoreError::invalid("master_key", "RINGFENCE_MASTER_KEY is not UTF-8"))
            }
        }
    }

    /// The key from the environment if set, else from (or newly into) `data_dir/master.key`.
    /// With neither (e.g. PostgreSQL without a data directory) this is an error.
    pub fn resolve(data_dir: Option<&Path>) -> Result<Self> {
        if let Some(k) = Self::from_env()? {
            return Ok(k);
        }
        match data_dir {
            Some(dir) => Self::load_or_create(dir),
            None => Err(StoreError::invalid(
                "master_key",
                "set RINGFENCE_MASTER_KEY or give a data directory to keep master.key in",
            )),
        }
    }

    /// Reads `dir/master.key`, or creates it (mode 0600) with a fresh key if it does not
    /// exist. Creation is atomic: the key is written to a temporary file and hard-linked into
    /// place, which fails rather than overwrite a key another process created first. A key
    /// file readable by group or others is refused.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        let path = dir.join(Self::FILE_NAME);
        match Self::load_file(&path) {
            Ok(k) => return Ok(k),
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            }
            Err(e) => return Err(e),
        }
        create_private_dir(dir)?;
        let key = Self::generate()?;
        let suffix = hex::encode(*random_bytes::<8>()?);
        let tmp = dir.join(format!(".{}.{suffix}.tmp", Self::FILE_NAME));
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| StoreError::Io { path: p, source }
        };
        {
            let mut f = private_file_options().open(&tmp).map_err(io(&tmp))?;
            let mut text = key.to_hex();
            text.push('\n');
            f.write_all(text.as_bytes()).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
                tracing::info!(path = %path.display(), "created a new master key; back it up apart from the database");
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_file(&path),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    fn load_file(path: &Path) -> Result<Self> {
        let io = |source| StoreError::Io { path: path.to_path_buf(), source };
        let meta = std::fs::metadata(path).map_err(io)?;
        check_private(path, &meta)?;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        Self::parse(&text).map_err(|_| {
            StoreError::Crypto(
                format!("{} does not hold a valid master key", path.display()).into(),
            )
        })
    }

    pub(crate) fn wrap(&self, owner: KeyOwner, key: &DataKey) -> Result<Vec<u8>> {
        seal_with(&self.0, &owner.aad(), &key.0)
    }

    pub(crate) fn unwrap(&self, owner: KeyOwner, wrapped: &[u8]) -> Result<DataKey> {
        let plain = open_with(&self.0, &owner.aad(), wrapped).map_err(|_| {
            StoreError::Crypto(
                "a data key does not open with this master key (wrong RINGFENCE_MASTER_KEY or master.key?)"
                    .into(),
            )
        })?;
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Crypto("wrapped data key has a wrong length".into()))?;
        Ok(DataKey(bytes))
    }
}

#[cfg(unix)]
fn private_file_options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true).mode(0o600);
    o
}

#[cfg(not(unix))]
fn private_file_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    o
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(StoreError::Crypto(
            format!("{} is accessible by group or others; run chmod 600 on it", path.display())
                .into(),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> Result<()> {
    Ok(())
}

/// A tenant's or the platform's data key. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct DataKey([u8; 32]);

impl DataKey {
    pub(crate) fn generate() -> Result<Self> {
        Ok(Self(*random_bytes::<32>()?))
    }
}

/// Seals and opens values under one tenant's (or the platform's) data key. Obtained from a
/// store (`tenant_cipher`); the key is zeroized when this is dropped. Voicemail audio and
/// other per-tenant files use this with their own table/column names in the [`Aad`].
#[derive(Clone)]
pub struct TenantCipher {
    tenant: Option<TenantId>,
    key: DataKey,
}

impl fmt::Debug for TenantCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantCipher").field("tenant", &self.tenant).finish_non_exhaustive()
    }
}

impl TenantCipher {
    pub(crate) fn new(tenant: Option<TenantId>, key: DataKey) -> Self {
        Self { tenant, key }
    }

    /// The tenant whose key this is (`None`: platform).
    pub fn tenant(&self) -> Option<TenantId> {
        self.tenant
    }

    fn check(&self, aad: &Aad<'_>) -> Result<()> {
        if aad.tenant == self.tenant {
            Ok(())
        } else {
            Err(StoreError::Crypto("AAD names another tenant than this key's".into()))
        }
    }

    /// Encrypts `plaintext` for the record named by `aad` (whose tenant must be this key's).
    pub fn seal(&self, aad: &Aad<'_>, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.check(aad)?;
        seal_with(&self.key.0, &aad.encode(), plaintext)
    }

    /// Decrypts a value sealed for exactly the record named by `aad`.
    pub fn open(&self, aad: &Aad<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.check(aad)?;
        open_with(&self.key.0, &aad.encode(), sealed)
    }
}

/// Path of the master key file inside a data directory.
pub fn master_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(MasterKey::FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aad(tenant: Option<TenantId>, row: Uuid) -> Aad<'static> {
        Aad { tenant, table: "extensions", column: "sip_credentials", row }
    }

    #[test]
    fn seal_open_round_trip_and_format() {
        let t = Some(TenantId::random());
        let c = TenantCipher::new(t, DataKey::generate().unwrap());
        let row = Uuid::new_v4();
        let sealed = c.seal(&aad(t, row), b"secret").unwrap();
        assert_eq!(sealed[0], FORMAT_V1);
        assert_eq!(sealed.len(), 1 + 12 + 6 + 16);
        assert_eq!(c.open(&aad(t, row), &sealed).unwrap().as_slice(), b"secret");
        // Fresh nonce every time.
        assert_ne!(c.seal(&aad(t, row), b"secret").unwrap(), sealed);
    }

    #[test]
    fn aad_binds_row_column_table_and_tenant() {
        let t = Some(TenantId::random());
        let c = TenantCipher::new(t, DataKey::generate().unwrap());
        let row = Uuid::new_v4();
        let sealed = c.seal(&aad(t, row), b"secret").unwrap();
        assert!(c.open(&aad(t, Uuid::new_v4()), &sealed).is_err());
        let other_col = Aad { column: "pin", ..aad(t, row) };
        assert!(c.open(&other_col, &sealed).is_err());
        let other_table = Aad { table: "users", ..aad(t, row) };
        assert!(c.open(&other_table, &sealed).is_err());
        let other_tenant = Some(TenantId::random());
        let c2 = TenantCipher::new(other_tenant, c.key.clone());
        assert!(c2.open(&aad(other_tenant, row), &sealed).is_err());
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(c.open(&aad(t, row), &flipped).is_err());
    }

    #[test]
    fn wrapped_keys_are_bound_to_their_owner() {
        let m = MasterKey::generate().unwrap();
        let k = DataKey::generate().unwrap();
        let t = TenantId::random();
        let w = m.wrap(KeyOwner::Tenant(t), &k).unwrap();
        assert_eq!(m.unwrap(KeyOwner::Tenant(t), &w).unwrap().0, k.0);
        assert!(m.unwrap(KeyOwner::Tenant(TenantId::random()), &w).is_err());
        assert!(m.unwrap(KeyOwner::Platform, &w).is_err());
        assert!(MasterKey::generate().unwrap().unwrap(KeyOwner::Tenant(t), &w).is_err());
    }

    #[test]
    fn master_key_parses_hex_and_base64() {
        let m = MasterKey::generate().unwrap();
        let hex = m.to_hex();
        assert_eq!(MasterKey::parse(&hex).unwrap().0, m.0);
        // Derived keys: stable per label, distinct across labels and masters.
        assert_eq!(*m.derive("a"), *MasterKey::parse(&hex).unwrap().derive("a"));
        assert_ne!(*m.derive("a"), *m.derive("b"));
        assert_ne!(*m.derive("a"), *MasterKey::generate().unwrap().derive("a"));
        let b64 = base64::engine::general_purpose::STANDARD.encode(m.0);
        assert_eq!(MasterKey::parse(&format!(" {b64}\n")).unwrap().0, m.0);
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.0);
        assert_eq!(MasterKey::parse(&b64url).unwrap().0, m.0);
        assert!(MasterKey::parse("abcd").is_err());
        assert!(MasterKey::parse(&"g".repeat(64)).is_err());
        assert!(format!("{m:?}").find(&hex[..8]).is_none());
    }

    #[test]
    fn master_key_file_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("data");
        let a = MasterKey::load_or_create(&sub).unwrap();
        let b = MasterKey::load_or_create(&sub).unwrap();
        assert_eq!(a.0, b.0);
        let path = master_key_path(&sub);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(MasterKey::load_or_create(&sub), Err(StoreError::Crypto(_))));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        // No temporary files are left behind.
        let names: Vec<_> =
            std::fs::read_dir(&sub).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(MasterKey::FILE_NAME)]);
    }

    #[test]
    fn concurrent_first_starts_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let p = dir.path().to_path_buf();
                std::thread::spawn(move || MasterKey::load_or_create(&p).unwrap().0)
            })
            .collect();
        let keys: Vec<[u8; 32]> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }
}
