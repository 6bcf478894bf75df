//! OSS signature V1: `Signature = base64(HMAC-SHA1(secret, policy_b64))`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The V1 signature of an already-encoded policy, byte for byte what the
/// official SDKs compute (`calculatePostSignature`).
pub fn sign_v1(secret: &str, policy_b64: &str) -> String {
    BASE64.encode(mac_v1(secret, policy_b64).finalize().into_bytes())
}

/// Checks a V1 signature in constant time.
pub fn verify_v1(secret: &str, policy_b64: &str, signature: &str) -> bool {
    match BASE64.decode(signature.as_bytes()) {
        Ok(sig) => mac_v1(secret, policy_b64).verify_slice(&sig).is_ok(),
        Err(_) => false,
    }
}

#[allow(clippy::expect_used)]
fn mac_v1(secret: &str, policy_b64: &str) -> Hmac<Sha1> {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(policy_b64.as_bytes());
    mac
}
