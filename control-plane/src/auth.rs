//! Tenant tokens: HS256 JWTs whose `sub` is the tenant id and `aud` our audience.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

/// How far in the future an `iat` may lie (clock skew between issuers and us).
const MAX_IAT_SKEW_SECS: u64 = 60;

/// The claims we issue and require.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// `operator` for fleet operators; absent for tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// The role that may see the fleet (`GET /nodes`).
pub const OPERATOR_ROLE: &str = "operator";

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub operator: bool,
    /// When the token expires (Unix seconds): a WebSocket opened with it is closed then.
    pub expires_at: u64,
}

/// Why a token was refused (all answered as 401; the reason goes to the log and message).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("cannot sign token: {0}")]
    Sign(String),
}

/// Signing and verification keys with the validation rules of the contract.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    audience: String,
}

impl JwtKeys {
    /// Keys for `secret`, accepting only tokens for `audience`.
    pub fn new(secret: &[u8], audience: &str) -> Self {
        // Only HS256: a token whose header says `none` or another algorithm is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[audience]);
        // `set_audience` checks `aud` only when present; requiring it closes that gap.
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.leeway = 5;
        // A token not valid yet (`nbf` ahead of now) is refused like an expired one.
        validation.validate_nbf = true;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            audience: audience.to_owned(),
        }
    }

    /// A token for `tenant` valid for `ttl`.
    pub fn issue(&self, tenant: &str, ttl: Duration) -> Result<String, AuthError> {
        self.issue_with_role(tenant, None, ttl)
    }

    /// A token for an operator (sees the fleet, no tenant data) valid for `ttl`.
    pub fn issue_operator(&self, name: &str, ttl: Duration) -> Result<String, AuthError> {
        self.issue_with_role(name, Some(OPERATOR_ROLE), ttl)
    }

    fn issue_with_role(
        &self,
        sub: &str,
        role: Option<&str>,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let now = unix_now();
        let claims = Claims {
            sub: sub.to_owned(),
            aud: self.audience.clone(),
            exp: now + ttl.as_secs(),
            iat: Some(now),
            role: role.map(str::to_owned),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Sign(e.to_string()))
    }

    /// The tenant id a valid token names.
    pub fn verify(&self, token: &str) -> Result<String, AuthError> {
        self.verify_principal(token).map(|p| p.subject)
    }

    /// Who a valid token speaks for.
    pub fn verify_principal(&self, token: &str) -> Result<Principal, AuthError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        let claims = data.claims;
        if claims
            .iat
            .is_some_and(|iat| iat > unix_now() + MAX_IAT_SKEW_SECS)
        {
            return Err(AuthError::Invalid("issued in the future".into()));
        }
        validate_tenant_id(&claims.sub).map_err(AuthError::Invalid)?;
        Ok(Principal {
            operator: claims.role.as_deref() == Some(OPERATOR_ROLE),
            subject: claims.sub,
            expires_at: claims.exp,
        })
    }
}

/// Tenant ids are opaque, but bounded and printable so they are safe in keys and logs.
pub fn validate_tenant_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 {
        return Err("sub must be 1 to 128 characters".into());
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':'))
    {
        return Err("sub may hold only letters, digits and - _ . @ :".into());
    }
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Parses a TTL such as `90s`, `30m`, `1h`, `7d` (a bare number is seconds).
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let n: u64 = digits.parse().map_err(|_| format!("invalid ttl {s:?}"))?;
    let secs = match unit {
        's' => n,
        'm' => n * 60,
        'h' => n * 3600,
        'd' => n * 86_400,
        _ => return Err(format!("invalid ttl unit in {s:?}; use s, m, h or d")),
    };
    if secs == 0 || secs > 366 * 86_400 {
        return Err(format!("ttl must be between 1s and 366d, got {s:?}"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_wrong_audience_fails() {
        let keys = JwtKeys::new(b"secret", "stream-manager");
        let t = keys.issue("acme", Duration::from_secs(60)).unwrap();
        assert_eq!(keys.verify(&t).unwrap(), "acme");
        let other = JwtKeys::new(b"secret", "elsewhere");
        assert!(other.verify(&t).is_err());
        let wrong_key = JwtKeys::new(b"other", "stream-manager");
        assert!(wrong_key.verify(&t).is_err());
    }

    #[test]
    fn a_token_not_valid_yet_is_refused() {
        #[derive(Serialize)]
        struct WithNbf<'a> {
            sub: &'a str,
            aud: &'a str,
            exp: u64,
            nbf: u64,
        }
        let keys = JwtKeys::new(b"secret", "stream-manager");
        let now = unix_now();
        let sign = |nbf| {
            let claims = WithNbf {
                sub: "acme",
                aud: "stream-manager",
                exp: now + 3600,
                nbf,
            };
            encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap()
        };
        assert!(keys.verify(&sign(now + 600)).is_err(), "nbf in 10 min");
        assert_eq!(keys.verify(&sign(now - 10)).unwrap(), "acme");
    }

    #[test]
    fn ttl_parses() {
        assert_eq!(parse_ttl("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_ttl("90").unwrap(), Duration::from_secs(90));
        assert!(parse_ttl("0s").is_err() && parse_ttl("1y").is_err() && parse_ttl("").is_err());
    }
}
