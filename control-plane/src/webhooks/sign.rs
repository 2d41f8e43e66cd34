//! The signature a delivery carries, so a receiver knows it came from us and is fresh.
//!
//! `Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The
//! timestamp is inside the signed text, so a receiver that refuses old timestamps (five
//! minutes is usual) refuses a replayed delivery; each retry is signed afresh.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// The header that carries the delivery's id (the same across its retries).
pub const DELIVERY_HEADER: &str = "webhook-id";
/// The header that names the event type.
pub const EVENT_HEADER: &str = "webhook-event";

/// A fresh secret: 256 random bits, hex, with a recognisable prefix.
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("whsec_{}", hex::encode(bytes)))
}

/// The secret as lists show it: its last characters only.
pub fn mask(secret: &str) -> String {
    let tail = secret
        .get(secret.len().saturating_sub(4)..)
        .unwrap_or_default();
    format!("whsec_****{tail}")
}

/// The `Webhook-Signature` value of `body` sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_timestamp_and_body() {
        let a = signature("whsec_x", 1_700_000_000, b"{}");
        assert!(a.starts_with("t=1700000000,v1="), "{a}");
        assert_ne!(a, signature("whsec_x", 1_700_000_001, b"{}"));
        assert_ne!(a, signature("whsec_y", 1_700_000_000, b"{}"));
        assert_ne!(a, signature("whsec_x", 1_700_000_000, b"{ }"));
    }

    #[test]
    fn masks_all_but_the_tail() {
        let s = generate_secret().unwrap();
        assert!(s.starts_with("whsec_") && s.len() == 70);
        let m = mask(&s);
        assert!(m.ends_with(&s[66..]) && !m.contains(&s[6..60]));
    }
}
