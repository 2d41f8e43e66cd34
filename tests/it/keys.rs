use serde_json::json;
use sha2::{Digest, Sha256};
use stream_manager_tests::spawn_app;

#[tokio::test]
async fn keys_are_shown_once_stored_hashed_and_listed_masked() {
    let app = spawn_app().await;
    let created = app.post("/stream/keys", "acme", json!({})).await;
    created.expect(201);
    let key = created.data()["key"].as_str().unwrap().to_owned();
    let id = created.data()["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_") && key.len() >= 48, "{key}");
    assert!(created.data()["createdAt"].is_number());

    let list = app.get("/stream/keys", "acme").await;
    list.expect(200);
    let listed = &list.data()["keys"][0];
    assert_eq!(listed["id"], id.as_str());
    assert_eq!(listed["lastUsed"], serde_json::Value::Null);
    let masked = listed["key"].as_str().unwrap();
    assert!(
        masked.contains("****") && !masked.contains(&key[3..20]),
        "{masked}"
    );
    assert!(
        !list.body.to_string().contains(&key),
        "the full key leaked into the list"
    );

    // The database holds a hash, never the value.
    let (hash, masked_db): (Vec<u8>, String) =
        sqlx::query_as("SELECT key_hash, masked FROM stream_keys WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, hex::encode(Sha256::digest(key.as_bytes())));
    assert!(!masked_db.contains(&key));
    let dump: String = sqlx::query_scalar("SELECT string_agg(t::text, ' ') FROM stream_keys t")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert!(!dump.contains(&key));

    // Two keys differ.
    let other = app.post("/stream/keys", "acme", json!({})).await;
    assert_ne!(other.data()["key"], key.as_str());

    app.delete(&format!("/stream/keys/{id}"), "acme")
        .await
        .expect(200);
    app.delete(&format!("/stream/keys/{id}"), "acme")
        .await
        .expect(404);
    assert_eq!(
        app.get("/stream/keys", "acme").await.data()["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
