//! OSS signature V4 (`OSS4-HMAC-SHA256`) for POST policies.
//!
//! Unlike header signing, the string to sign is just the base64 policy; only the
//! date (not the time of day) enters the key, so a key derived once serves a day.

use hmac::Mac;

use super::key::{HmacSha256, derive_chain_key, keyed_mac};
use crate::error::SignatureError;

pub const ALGORITHM: &str = "OSS4-HMAC-SHA256";
pub const TERMINATOR: &str = "aliyun_v4_request";
pub const PRODUCT: &str = "oss";
pub const CLOUDBOX_PRODUCT: &str = "oss-cloudbox";

/// The derived V4 signing key for `date` (yyyymmdd), `region` and `product`.
pub fn signing_key_v4(secret: &str, date: &str, region: &str, product: &str) -> [u8; 32] {
    derive_chain_key("aliyun_v4", secret, date, region, product, TERMINATOR)
}

/// The V4 signature (lower-case hex) of an already-encoded policy; region may
/// be written with or without the `oss-` prefix.
pub fn sign_v4(
    secret: &str,
    policy_b64: &str,
    date: &str,
    region: &str,
    product: &str,
) -> Result<String, SignatureError> {
    check_date(date)?;
    let region = standard_region(region)?;
    let key = signing_key_v4(secret, date, region, product);
    Ok(hex_mac(keyed_mac(&key), policy_b64))
}

/// Checks a V4 signature in constant time. The services send and compare
/// lower-case hex, so any other spelling (upper case, spaces) is a mismatch.
pub fn verify_v4(mac: HmacSha256, policy_b64: &str, signature_hex: &str) -> bool {
    let mut sig = [0u8; 32];
    let digits = signature_hex.as_bytes();
    if digits.len() != 64 {
        return false;
    }
    for (byte, pair) in sig.iter_mut().zip(digits.chunks_exact(2)) {
        let (hi, lo) = match pair {
            [hi, lo] => (hex_value(*hi), hex_value(*lo)),
            _ => return false,
        };
        if (hi | lo) > 0xf {
            return false;
        }
        *byte = hi << 4 | lo;
    }
    let mut mac = mac;
    mac.update(policy_b64.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

/// The value of a lower-case hex digit; 0xff for every other byte (one table
/// load per digit: this runs on every V4 verification).
fn hex_value(digit: u8) -> u8 {
    // Indices are bytes, below 256 by construction.
    #[allow(clippy::indexing_slicing)]
    const TABLE: [u8; 256] = {
        let mut table = [0xffu8; 256];
        let mut i = 0;
        while i < 16 {
            let digit = if i < 10 { b'0' + i } else { b'a' + i - 10 };
            table[digit as usize] = i;
            i += 1;
        }
        table
    };
    TABLE.get(usize::from(digit)).copied().unwrap_or(0xff)
}

pub(crate) fn hex_mac(mut mac: HmacSha256, policy_b64: &str) -> String {
    mac.update(policy_b64.as_bytes());
    lower_hex(&mac.finalize().into_bytes())
}

/// Lower-case hex, written directly (the `hex` crate goes through a char
/// iterator, which shows up on the signing hot path).
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(
            DIGITS.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
        ));
        out.push(char::from(
            DIGITS.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'),
        ));
    }
    out
}

/// `cn-hangzhou` from `cn-hangzhou` or `oss-cn-hangzhou` (ali-oss strips `^oss-`).
pub fn standard_region(region: &str) -> Result<&str, SignatureError> {
    let trimmed = region.strip_prefix("oss-").unwrap_or(region);
    let valid = !trimmed.is_empty()
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(trimmed)
    } else {
        Err(SignatureError::InvalidRegion(region.to_owned()))
    }
}

pub(crate) fn check_date(date: &str) -> Result<(), SignatureError> {
    let ok = date.len() == 8
        && date.bytes().all(|b| b.is_ascii_digit())
        && chrono::NaiveDate::parse_from_str(date, "%Y%m%d").is_ok();
    if ok {
        Ok(())
    } else {
        Err(SignatureError::InvalidDate(date.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::key::keyed_mac;

    #[test]
    fn signatures_are_compared_as_lower_case_hex_only() {
        let key = signing_key_v4("secret", "20261121", "cn-hangzhou", PRODUCT);
        let good = hex_mac(keyed_mac(&key), "e30=");
        let check = |sig: &str| verify_v4(keyed_mac(&key), "e30=", sig);
        assert!(check(&good));
        assert!(!check(&good.to_uppercase()), "upper case");
        assert!(!check(&good[..62]), "short");
        assert!(!check(&format!("{good}00")), "long");
        assert!(!check(&format!("{}g", &good[..63])), "not hex");
        assert!(!check(&format!(" {}", &good[..63])), "space");
        let mut flipped = good.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert!(
            !check(&String::from_utf8(flipped).unwrap()),
            "one digit off"
        );
    }
}
