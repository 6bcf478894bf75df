//! The sending side of a callback: signs like OSS does, for the local dev
//! endpoint and for tests.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::rand_core::{CryptoRng, RngCore};
use rsa::traits::PublicKeyParts as _;

use super::CallbackError;
use super::verify::{PublicKey, md5, md5_padding, string_to_sign_parts};

/// The caller's source of random bytes as the RNG `rsa` takes; the caller
/// vouches for it being cryptographically secure (see
/// [`CallbackSigner::generate`]).
struct FillRandom<F>(F);

impl<F: FnMut(&mut [u8])> RngCore for FillRandom<F> {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0u8; 4];
        (self.0)(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        (self.0)(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        (self.0)(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        (self.0)(dest);
        Ok(())
    }
}

impl<F: FnMut(&mut [u8])> CryptoRng for FillRandom<F> {}

/// The smallest modulus that holds a PKCS#1 v1.5 MD5 signature
/// (18-byte DigestInfo prefix + 16-byte digest + 11 bytes of padding).
const MIN_KEY_BYTES: usize = 45;

/// Signs callback requests as OSS does: base64(RSA PKCS#1 v1.5 over MD5 of
/// the string to sign).
pub struct CallbackSigner {
    key: RsaPrivateKey,
    public_pem: String,
}

impl CallbackSigner {
    /// From a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, CallbackError> {
        let pem = pem.trim().replace("\r\n", "\n");
        let key =
            RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| CallbackError::InvalidPrivateKey {
                reason: e.to_string(),
            })?;
        Self::from_key(key)
    }

    /// From a PEM private key, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, CallbackError> {
        let pem = pem.trim().replace("\r\n", "\n");
        if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
            let key = RsaPrivateKey::from_pkcs1_pem(&pem).map_err(|e| {
                CallbackError::InvalidPrivateKey {
                    reason: e.to_string(),
                }
            })?;
            Self::from_key(key)
        } else {
            Self::from_pkcs8_pem(&pem)
        }
    }

    /// A new random key of `bits` bits (1024 is plenty for a dev endpoint;
    /// OSS itself uses 512). `fill_random` fills a buffer with random bytes
    /// from a cryptographically secure source (`getrandom`, an OS RNG): the
    /// caller brings them, so the core does no OS I/O and no random-number
    /// crate appears in its API.
    pub fn generate(
        bits: usize,
        fill_random: impl FnMut(&mut [u8]),
    ) -> Result<Self, CallbackError> {
        let key = RsaPrivateKey::new(&mut FillRandom(fill_random), bits).map_err(|e| {
            CallbackError::InvalidPrivateKey {
                reason: e.to_string(),
            }
        })?;
        Self::from_key(key)
    }

    fn from_key(key: RsaPrivateKey) -> Result<Self, CallbackError> {
        key.validate()
            .map_err(|e| CallbackError::InvalidPrivateKey {
                reason: e.to_string(),
            })?;
        if key.size() < MIN_KEY_BYTES {
            return Err(CallbackError::InvalidPrivateKey {
                reason: format!(
                    "a {}-bit key is too small for an MD5 signature (at least {} bits)",
                    key.size() * 8,
                    MIN_KEY_BYTES * 8
                ),
            });
        }
        let public_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| CallbackError::InvalidPrivateKey {
                reason: e.to_string(),
            })?;
        Ok(Self { key, public_pem })
    }

    /// The public key as SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`, LF
    /// line ends), what the key URL should serve.
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// The public key, to verify with directly.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_rsa(self.key.to_public_key())
    }

    /// The private key as PKCS#8 PEM, to persist a generated key.
    pub fn private_key_pem(&self) -> Result<String, CallbackError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| CallbackError::InvalidPrivateKey {
                reason: e.to_string(),
            })
    }

    /// The `authorization` header for a callback to `path_raw` (still
    /// percent-encoded) with `query` (raw, without `?`; `Some("")` for a bare
    /// `?`) and `body`.
    pub fn sign(
        &self,
        path_raw: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<String, CallbackError> {
        let digest = md5(&string_to_sign_parts(path_raw, query, body));
        let signature =
            self.key
                .sign(md5_padding(), &digest)
                .map_err(|e| CallbackError::Signing {
                    reason: e.to_string(),
                })?;
        Ok(BASE64.encode(signature))
    }

    /// Both signature headers, `authorization` and `x-oss-pub-key-url`
    /// (base64 of `public_key_url`), in that order.
    pub fn headers(
        &self,
        public_key_url: &str,
        path_raw: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, CallbackError> {
        Ok(vec![
            (
                "authorization".to_string(),
                self.sign(path_raw, query, body)?,
            ),
            (
                "x-oss-pub-key-url".to_string(),
                BASE64.encode(public_key_url.as_bytes()),
            ),
        ])
    }
}

impl std::fmt::Debug for CallbackSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackSigner")
            .field("bits", &(self.key.size() * 8))
            .field("private_key", &"<redacted>")
            .finish()
    }
}
