//! The SigV4-style building blocks OSS V4, S3 and GCS HMAC forms share: the
//! HMAC key chain, the caches of derived keys, the `yyyymmddTHHMMSSZ` stamp,
//! the credential scope, and lower-case hex signatures checked in constant
//! time.
//!
//! For a POST form the string to sign is the base64 policy itself (no
//! canonical request), and only the date enters the derived key, so one key
//! serves a whole day (docs/oss.md#signature-v4, docs/s3.md#signature).

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::SignatureError;
use crate::wire;

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
/// Hashed with foldhash (randomly seeded per process): SipHash cost ~400
/// instructions a verification for a 20-byte id, foldhash a tenth of that.
#[derive(Debug, Default)]
pub(crate) struct KeyIdCache {
    slots: std::sync::Mutex<
        std::collections::HashMap<
            String,
            (String, String, HmacSha256),
            foldhash::fast::RandomState,
        >,
    >,
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

/// The lower-case hex HMAC of `policy_b64` under `mac`'s key: the signature
/// of a SigV4-style form, on the stack (it is copied into the form's fields).
pub(crate) fn hex_mac(mut mac: HmacSha256, policy_b64: &str) -> HexMac {
    mac.update(policy_b64.as_bytes());
    let mut digits = [0u8; 64];
    fill_hex(&mut digits, &mac.finalize().into_bytes());
    HexMac(digits)
}

/// A SHA-256 MAC in lower-case hex.
pub(crate) struct HexMac([u8; 64]);

impl HexMac {
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Checks a hex signature in constant time. The services send and compare
/// lower-case hex, so any other spelling (upper case, spaces) is a mismatch.
pub(crate) fn verify_hex_mac(mac: HmacSha256, policy_b64: &str, signature_hex: &str) -> bool {
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
    same_mac(&mac.finalize().into_bytes().into(), &sig)
}

/// Two MACs compared in constant time: their differences are gathered a
/// word at a time, without a branch, and judged once. (`verify_slice` goes
/// through subtle's slice comparison, which passes each of the 32 bytes
/// through an optimisation barrier: a tenth of a verification's own work.)
fn same_mac(ours: &[u8; 32], theirs: &[u8; 32]) -> bool {
    use subtle::ConstantTimeEq as _;
    let word = |bytes: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        u64::from_le_bytes(word)
    };
    let diff = ours
        .chunks_exact(8)
        .zip(theirs.chunks_exact(8))
        .fold(0u64, |diff, (a, b)| diff | (word(a) ^ word(b)));
    diff.ct_eq(&0).into()
}

/// The value of a lower-case hex digit; 0xff for every other byte (one table
/// load per digit: this runs on every verification).
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

/// Lower-case hex, written directly (a formatting loop shows up on the
/// signing hot path): each byte's two digits come from a table, into a
/// buffer the compiler keeps tight; a MAC (32 bytes) is written on the stack.
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    fill_hex(&mut out, bytes);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the two lower-case hex digits of each byte of `bytes` into `out`.
fn fill_hex(out: &mut [u8], bytes: &[u8]) {
    // Indices are below 16 and 256 by construction.
    #[allow(clippy::indexing_slicing)]
    const PAIRS: [[u8; 2]; 256] = {
        let digits = b"0123456789abcdef";
        let mut pairs = [[0u8; 2]; 256];
        let mut i = 0;
        while i < 256 {
            pairs[i] = [digits[i >> 4], digits[i & 0xf]];
            i += 1;
        }
        pairs
    };
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        if let Some(digits) = PAIRS.get(usize::from(*byte)) {
            pair.copy_from_slice(digits);
        }
    }
}

/// A signing date given by the caller: `yyyymmdd`, a real day.
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

/// `yyyymmddTHHMMSSZ` of one instant, written on the stack: every signature
/// needs it and its first 8 bytes, `yyyymmdd`. Read through a [`Stamp`].
pub(crate) struct StampBuf {
    text: [u8; 16],
}

impl StampBuf {
    pub(crate) fn at(now: DateTime<Utc>) -> Self {
        use chrono::{Datelike as _, Timelike as _};
        // Read once (see `wire::push_timestamp`).
        let now = now.naive_utc();
        let (date, time) = (now.date(), now.time());
        let mut text = *b"00000000T000000Z";
        wire::put_digits(&mut text, 0, 4, u32::try_from(date.year()).unwrap_or(0));
        wire::put_digits(&mut text, 4, 2, date.month());
        wire::put_digits(&mut text, 6, 2, date.day());
        wire::put_digits(&mut text, 9, 2, time.hour());
        wire::put_digits(&mut text, 11, 2, time.minute());
        wire::put_digits(&mut text, 13, 2, time.second());
        Self { text }
    }

    /// The text, checked as UTF-8 once: a signature reads it four times.
    pub(crate) fn stamp(&self) -> Stamp<'_> {
        Stamp(std::str::from_utf8(&self.text).unwrap_or_default())
    }
}

/// A `yyyymmddTHHMMSSZ` stamp (see [`StampBuf`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stamp<'a>(&'a str);

impl<'a> Stamp<'a> {
    /// `yyyymmddTHHMMSSZ`.
    pub(crate) fn datetime(self) -> &'a str {
        self.0
    }

    /// `yyyymmdd`.
    pub(crate) fn date(self) -> &'a str {
        self.0.get(..8).unwrap_or_default()
    }
}

impl Stamp<'_> {
    /// The instant a form's `yyyymmddTHHMMSSZ` date field states; by hand,
    /// since this runs on every verification.
    pub(crate) fn parse(text: &str) -> Option<DateTime<Utc>> {
        let b = text.as_bytes();
        if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<u32> {
            b.get(range)?.iter().try_fold(0u32, |acc, d| {
                d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
            })
        };
        let date = chrono::NaiveDate::from_ymd_opt(
            i32::try_from(num(0..4)?).ok()?,
            num(4..6)?,
            num(6..8)?,
        )?;
        let time = chrono::NaiveTime::from_hms_opt(num(9..11)?, num(11..13)?, num(13..15)?)?;
        Some(NaiveDateTime::new(date, time).and_utc())
    }
}

/// A credential scope, `<id>/<yyyymmdd>/<region>/<service>/<terminator>`.
#[derive(Debug)]
pub(crate) struct Scope<'a> {
    pub access_key_id: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub terminator: &'a str,
}

impl<'a> Scope<'a> {
    /// The five parts of `credential`, `None` for any other count.
    pub(crate) fn parse(credential: &'a str) -> Option<Self> {
        // The four slashes found eight bytes at a time: `str::split` costs
        // several times more on a 60-byte credential (callgrind), memchr's
        // setup more than it saves, and a loop over the bytes 60% more.
        const ONES: u64 = 0x0101_0101_0101_0101;
        const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        let mut slashes = [0usize; 4];
        let mut found = 0;
        let mut note = |at: usize| -> Option<()> {
            *slashes.get_mut(found)? = at;
            found += 1;
            Some(())
        };
        let mut chunks = credential.as_bytes().chunks_exact(8);
        let mut start = 0;
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b'/'));
            // The high bit set in exactly the bytes that were slashes.
            let mut hits = !(((x & LOWS).wrapping_add(LOWS)) | x | LOWS);
            while hits != 0 {
                note(start + (hits.trailing_zeros() / 8) as usize)?;
                hits &= hits - 1;
            }
            start += 8;
        }
        for (at, byte) in chunks.remainder().iter().enumerate() {
            if *byte == b'/' {
                note(start + at)?;
            }
        }
        let [a, b, c, d] = slashes;
        (found == 4).then_some(())?;
        Some(Scope {
            access_key_id: credential.get(..a)?,
            date: credential.get(a + 1..b)?,
            region: credential.get(b + 1..c)?,
            service: credential.get(c + 1..d)?,
            terminator: credential.get(d + 1..)?,
        })
    }

    /// `id/date/region/service/terminator`, written once per signature.
    pub(crate) fn write(
        access_key_id: &str,
        date: &str,
        region: &str,
        service: &str,
        terminator: &str,
    ) -> String {
        let mut out = String::with_capacity(
            access_key_id.len() + date.len() + region.len() + service.len() + terminator.len() + 4,
        );
        for (i, part) in [access_key_id, date, region, service, terminator]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                out.push('/');
            }
            out.push_str(part);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_differing_in_any_bit_are_different() {
        let ours: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        assert!(same_mac(&ours, &ours));
        for byte in 0..32 {
            for bit in 0..8 {
                let mut theirs = ours;
                theirs[byte] ^= 1 << bit;
                assert!(!same_mac(&ours, &theirs), "byte {byte} bit {bit}");
            }
        }
    }

    #[test]
    fn signatures_are_compared_as_lower_case_hex_only() {
        let key = derive_chain_key(
            "aliyun_v4",
            "secret",
            "20261121",
            "cn-hangzhou",
            "oss",
            "aliyun_v4_request",
        );
        let good = hex_mac(keyed_mac(&key), "e30=").as_str().to_owned();
        let check = |sig: &str| verify_hex_mac(keyed_mac(&key), "e30=", sig);
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

    /// The slashes are found eight bytes at a time, then in the tail: every
    /// position of each, and every length, splits as `str::split` does.
    #[test]
    fn scopes_split_at_every_slash_wherever_it_falls() {
        for total in 0..30 {
            for seed in 0..total * 7 {
                let text: String = (0..total)
                    .map(|i| if (i * 5 + seed) % 7 < 2 { '/' } else { 'a' })
                    .collect();
                let parts: Vec<&str> = text.split('/').collect();
                let parsed = Scope::parse(&text)
                    .map(|s| [s.access_key_id, s.date, s.region, s.service, s.terminator]);
                match parts.as_slice() {
                    [a, b, c, d, e] => assert_eq!(parsed, Some([*a, *b, *c, *d, *e]), "{text}"),
                    _ => assert!(parsed.is_none(), "{text}"),
                }
            }
        }
    }

    #[test]
    fn scopes_have_five_parts() {
        let scope = Scope::parse("AK/20261121/cn-hangzhou/oss/aliyun_v4_request").unwrap();
        assert_eq!(
            (scope.access_key_id, scope.date, scope.region, scope.service),
            ("AK", "20261121", "cn-hangzhou", "oss")
        );
        assert_eq!(
            Scope::write("AK", "20261121", "cn-hangzhou", "oss", "aliyun_v4_request"),
            "AK/20261121/cn-hangzhou/oss/aliyun_v4_request"
        );
        assert!(Scope::parse("AK/20261121/cn-hangzhou/oss").is_none());
        assert!(Scope::parse("AK/20261121/cn-hangzhou/oss/x/y").is_none());
    }
}
