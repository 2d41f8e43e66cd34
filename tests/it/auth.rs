use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::Method;
use serde_json::json;
use stream_manager_tests::spawn_app;
use stream_manager_tests::test_app::{AUDIENCE, JWT_SECRET};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(claims: serde_json::Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn b64(v: &serde_json::Value) -> String {
    // base64url without padding, by hand: the test must not trust our own encoder.
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = v.to_string().into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn bad_tokens_get_401_and_good_ones_pass() {
    let app = spawn_app().await;
    let exp = now() + 600;
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&json!({"sub": "acme", "aud": AUDIENCE, "exp": exp}))
    );
    let cases = [
        ("missing", None),
        ("garbage", Some("not-a-jwt".to_owned())),
        (
            "expired",
            Some(sign(
                json!({"sub": "acme", "aud": AUDIENCE, "exp": now() - 120}),
                JWT_SECRET,
            )),
        ),
        (
            "wrong key",
            Some(sign(
                json!({"sub": "acme", "aud": AUDIENCE, "exp": exp}),
                "some-other-secret-value",
            )),
        ),
        (
            "wrong audience",
            Some(sign(
                json!({"sub": "acme", "aud": "other", "exp": exp}),
                JWT_SECRET,
            )),
        ),
        (
            "no audience",
            Some(sign(json!({"sub": "acme", "exp": exp}), JWT_SECRET)),
        ),
        (
            "no sub",
            Some(sign(json!({"aud": AUDIENCE, "exp": exp}), JWT_SECRET)),
        ),
        (
            "no exp",
            Some(sign(json!({"sub": "acme", "aud": AUDIENCE}), JWT_SECRET)),
        ),
        (
            "future iat",
            Some(sign(
                json!({"sub": "acme", "aud": AUDIENCE, "exp": exp + 86_400, "iat": now() + 86_400}),
                JWT_SECRET,
            )),
        ),
        ("alg none", Some(unsigned)),
    ];
    for (name, token) in cases {
        let mut req = app
            .client
            .request(Method::GET, format!("{}/stream/status", app.base));
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{name}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["success"], false, "{name}");
        assert_eq!(body["error"]["code"], "unauthorized", "{name}");
    }
    let good = sign(
        json!({"sub": "acme", "aud": AUDIENCE, "exp": exp}),
        JWT_SECRET,
    );
    let resp = app
        .client
        .get(format!("{}/stream/status", app.base))
        .bearer_auth(good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // Nothing was created for the refused requests: only the accepted one made a stream.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM streams")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
