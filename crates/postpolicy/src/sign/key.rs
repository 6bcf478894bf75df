//! Secrets and the HMAC building blocks every signer shares.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A secret access key. Its `Debug` output is redacted, and it is never part of
/// an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself; only signing code should need this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// A keyed HMAC-SHA256. HMAC accepts keys of any length (RFC 2104), so the
/// length check in `new_from_slice` cannot fail.
#[allow(clippy::expect_used)]
pub(crate) fn keyed_mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")
}

pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = keyed_mac(key);
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The four-step key derivation OSS V4 and AWS SigV4 share:
/// `prefix + secret → date → region → product → terminator`.
pub(crate) fn derive_chain_key(
    prefix: &str,
    secret: &str,
    date: &str,
    region: &str,
    product: &str,
    terminator: &str,
) -> [u8; 32] {
    let mut seed = String::with_capacity(prefix.len() + secret.len());
    seed.push_str(prefix);
    seed.push_str(secret);
    let k_date = hmac_sha256(seed.as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_product = hmac_sha256(&k_region, product.as_bytes());
    hmac_sha256(&k_product, terminator.as_bytes())
}

/// A one-entry-per-day cache of derived signing keys. A signer has one secret
/// and one region, so the date is the only part of the key that changes.
#[derive(Debug, Default)]
pub(crate) struct DayKeyCache {
    slot: std::sync::Mutex<Option<(String, HmacSha256)>>,
}

impl DayKeyCache {
    /// A keyed HMAC ready for the day `date`, deriving it with `derive` on a miss.
    pub(crate) fn mac_for(&self, date: &str, derive: impl FnOnce() -> [u8; 32]) -> HmacSha256 {
        let mut slot = match self.slot.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((cached_date, mac)) = slot.as_ref()
            && cached_date == date
        {
            return mac.clone();
        }
        let mac = keyed_mac(&derive());
        *slot = Some((date.to_owned(), mac.clone()));
        mac
    }
}

/// Derived signing keys by access key id, for verifiers that accept many
/// keys: one entry per id for its latest day. The secret is part of the entry
/// so that a rotated secret is never served a stale key; the map is emptied
/// when it reaches 1024 ids, which bounds it against ids made up by clients.
#[derive(Debug, Default)]
pub(crate) struct KeyIdCache {
    slots: std::sync::Mutex<std::collections::HashMap<String, (String, String, HmacSha256)>>,
}

impl KeyIdCache {
    /// A keyed HMAC for `access_key_id` on `date`, deriving it with `derive`
    /// on a miss.
    pub(crate) fn mac_for(
        &self,
        access_key_id: &str,
        secret: &str,
        date: &str,
        derive: impl FnOnce() -> [u8; 32],
    ) -> HmacSha256 {
        let mut slots = match self.slots.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((cached_date, cached_secret, mac)) = slots.get(access_key_id)
            && cached_date == date
            && cached_secret == secret
        {
            return mac.clone();
        }
        if slots.len() >= 1024 {
            slots.clear();
        }
        let mac = keyed_mac(&derive());
        slots.insert(
            access_key_id.to_owned(),
            (date.to_owned(), secret.to_owned(), mac.clone()),
        );
        mac
    }
}
