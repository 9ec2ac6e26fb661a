//! Who is calling: agents by session cookie (+ CSRF header on writes),
//! customers by a token this server signed, merchants' systems by an HMAC
//! signature with the shop's secret.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use kefu_core::clock::Timestamp;
use kefu_core::id::{CustomerId, ShopId};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub const SESSION_COOKIE: &str = "kefu_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A fresh random token (session, CSRF, secrets): 32 bytes, URL-safe base64.
pub fn random_token() -> String {
    B64.encode(rand::random::<[u8; 32]>())
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("invariant: HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_ok(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).expect("invariant: HMAC accepts keys of any length");
    mac.update(data);
    mac.verify_slice(tag).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 256 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// What a customer token says: this browser speaks for this customer of this shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerClaims {
    pub shop: ShopId,
    pub customer: CustomerId,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature is wrong")]
    Invalid,
    #[error("the token has expired")]
    Expired,
}

/// Signs customer claims with the deployment's server key.
pub fn sign_customer_token(server_key: &str, claims: &CustomerClaims) -> String {
    let payload = format!("v1.{}.{}.{}", claims.shop, claims.customer, claims.expires_at.millis());
    let tag = hmac(server_key.as_bytes(), payload.as_bytes());
    format!("{}.{}", B64.encode(payload), B64.encode(tag))
}

pub fn verify_customer_token(server_key: &str, token: &str, now: Timestamp) -> Result<CustomerClaims, TokenError> {
    let (payload, tag) = token.split_once('.').ok_or(TokenError::Invalid)?;
    let payload = B64.decode(payload).map_err(|_| TokenError::Invalid)?;
    let tag = B64.decode(tag).map_err(|_| TokenError::Invalid)?;
    if !hmac_ok(server_key.as_bytes(), &payload, &tag) {
        return Err(TokenError::Invalid);
    }
    let payload = String::from_utf8(payload).map_err(|_| TokenError::Invalid)?;
    let mut parts = payload.split('.');
    let (Some("v1"), Some(shop), Some(customer), Some(expires), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid);
    };
    let claims = CustomerClaims {
        shop: ShopId::parse(shop).map_err(|_| TokenError::Invalid)?,
        customer: CustomerId::parse(customer).map_err(|_| TokenError::Invalid)?,
        expires_at: Timestamp(expires.parse().map_err(|_| TokenError::Invalid)?),
    };
    if claims.expires_at <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// The signature a merchant's site computes so the widget recognises a
/// logged-in shopper: hex(HMAC-SHA256(shop secret, "{customer_id}:{expires}")),
/// `expires` in Unix seconds.
pub fn identity_signature(shop_secret: &str, external_customer_id: &str, expires_unix: i64) -> String {
    hex(&hmac(shop_secret.as_bytes(), format!("{external_customer_id}:{expires_unix}").as_bytes()))
}

pub fn verify_identity(
    shop_secret: &str,
    external_customer_id: &str,
    expires_unix: i64,
    signature: &str,
    now: Timestamp,
) -> Result<(), TokenError> {
    let tag = unhex(signature.trim()).ok_or(TokenError::Invalid)?;
    if !hmac_ok(shop_secret.as_bytes(), format!("{external_customer_id}:{expires_unix}").as_bytes(), &tag) {
        return Err(TokenError::Invalid);
    }
    if expires_unix.saturating_mul(1000) <= now.millis() {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// How far a signed request's timestamp may be from now: replays of captured
/// webhooks are refused after this.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;

/// The `X-Kefu-Signature` header value for a body: `t=<unix>,v1=<hex hmac(secret, "<t>.<body>")>`.
pub fn webhook_signature(shop_secret: &str, unix: i64, body: &[u8]) -> String {
    let mut data = format!("{unix}.").into_bytes();
    data.extend_from_slice(body);
    format!("t={unix},v1={}", hex(&hmac(shop_secret.as_bytes(), &data)))
}

pub fn verify_webhook(shop_secret: &str, header: &str, body: &[u8], now: Timestamp) -> Result<(), TokenError> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = unhex(v),
            _ => {}
        }
    }
    let (Some(t), Some(tag)) = (t, v1) else { return Err(TokenError::Invalid) };
    let mut data = format!("{t}.").into_bytes();
    data.extend_from_slice(body);
    if !hmac_ok(shop_secret.as_bytes(), &data, &tag) {
        return Err(TokenError::Invalid);
    }
    if (now.millis() / 1000 - t).abs() > WEBHOOK_TOLERANCE_SECS {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// Constant-time string comparison for CSRF tokens.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn passwords_hash_with_argon2id() {
        let h = hash_password("kefu-demo").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("kefu-demo", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("kefu-demo", "garbage"));
    }

    #[test]
    fn customer_tokens_refuse_tampering_and_expiry() {
        let claims = CustomerClaims {
            shop: ShopId::from_uuid(Uuid::from_u128(1)),
            customer: CustomerId::from_uuid(Uuid::from_u128(2)),
            expires_at: Timestamp(10_000),
        };
        let token = sign_customer_token("key", &claims);
        assert_eq!(verify_customer_token("key", &token, Timestamp(0)), Ok(claims));
        assert_eq!(verify_customer_token("other", &token, Timestamp(0)), Err(TokenError::Invalid));
        assert_eq!(verify_customer_token("key", &token, Timestamp(10_000)), Err(TokenError::Expired));
        let forged = format!("{}.{}", B64.encode("v1.x.y.99999999"), token.split('.').nth(1).unwrap_or(""));
        assert_eq!(verify_customer_token("key", &forged, Timestamp(0)), Err(TokenError::Invalid));
        assert_eq!(verify_customer_token("key", "", Timestamp(0)), Err(TokenError::Invalid));
        assert_eq!(verify_customer_token("key", "....", Timestamp(0)), Err(TokenError::Invalid));
    }

    #[test]
    fn identities_and_webhooks_are_checked() {
        let sig = identity_signature("s3cret", "u100", 2_000);
        assert_eq!(verify_identity("s3cret", "u100", 2_000, &sig, Timestamp(1_000_000)), Ok(()));
        assert_eq!(verify_identity("s3cret", "u101", 2_000, &sig, Timestamp(0)), Err(TokenError::Invalid));
        assert_eq!(verify_identity("s3cret", "u100", 2_000, &sig, Timestamp(2_000_000)), Err(TokenError::Expired));
        assert_eq!(verify_identity("s3cret", "u100", 2_000, "zz", Timestamp(0)), Err(TokenError::Invalid));

        let body = br#"{"x":1}"#;
        let header = webhook_signature("s3cret", 1_000, body);
        assert_eq!(verify_webhook("s3cret", &header, body, Timestamp(1_000_000)), Ok(()));
        assert_eq!(verify_webhook("s3cret", &header, b"{}", Timestamp(1_000_000)), Err(TokenError::Invalid));
        assert_eq!(verify_webhook("s3cret", &header, body, Timestamp(2_000_000)), Err(TokenError::Expired));
        assert_eq!(verify_webhook("s3cret", "nonsense", body, Timestamp(0)), Err(TokenError::Invalid));
    }
}
