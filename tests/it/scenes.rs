use std::time::Duration;

use serde_json::json;
use shared::messages::{CommandEnvelope, NodeCommand};
use shared::spec::ChangeHint;
use stream_manager_tests::spawn_app;

#[tokio::test]
async fn scenes_are_created_and_activated_with_transitions() {
    let app = spawn_app().await;
    let brb = app
        .post("/stream/scenes", "acme", json!({"name": "brb"}))
        .await;
    brb.expect(201);
    let id = brb.data()["id"].as_str().unwrap().to_owned();
    let dup = app
        .post("/stream/scenes", "acme", json!({"name": "brb"}))
        .await;
    dup.expect(409);
    assert_eq!(dup.code(), "scene_exists");

    let r = app
        .post(
            &format!("/stream/scenes/{id}/activate"),
            "acme",
            json!({"transition": {"type": "fade", "durationMs": 750, "easing": "ease-out"}}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.data()["activeSceneId"], id.as_str());
    let list = app.get("/stream/scenes", "acme").await;
    assert_eq!(list.data()["activeSceneId"], id.as_str());
    let active: Vec<_> = list.data()["scenes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["active"] == true)
        .collect();
    assert_eq!(active.len(), 1);

    // A body is optional (a cut); bad transitions are refused.
    let main = list.data()["scenes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "main")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.raw(
        reqwest::Method::POST,
        &format!("/stream/scenes/{main}/activate"),
        Some(&app.token("acme")),
        "application/json",
        vec![],
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("/stream/scenes/{id}/activate"),
            "acme",
            json!({"transition": {"type": "wipe"}}),
        )
        .await;
    r.expect(422);
    assert_eq!(r.body["error"]["field"], "transition.type");
    app.post(
        &format!("/stream/scenes/{id}/activate"),
        "acme",
        json!({"transition": {"type": "fade", "durationMs": 100000}}),
    )
    .await
    .expect(422);
    app.post(
        &format!("/stream/scenes/{}/activate", uuid::Uuid::new_v4()),
        "acme",
        json!({}),
    )
    .await
    .expect(404);
    assert_eq!(
        app.get("/stream/scenes", "acme").await.data()["activeSceneId"],
        main.as_str()
    );
}

#[tokio::test]
async fn a_live_stream_on_a_node_gets_the_new_scene_with_its_transition() {
    let app = spawn_app().await;
    let brb = app
        .post("/stream/scenes", "acme", json!({"name": "brb"}))
        .await;
    let scene_id = brb.data()["id"].as_str().unwrap().to_owned();
    let started = app.post("/stream/start", "acme", json!({})).await;
    let stream_id: uuid::Uuid = started.data()["streamId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Pretend a node holds the stream: its commands go to that node's queue.
    sqlx::query("UPDATE streams SET node_id = 'node-x' WHERE id = $1")
        .bind(stream_id)
        .execute(&app.state.db)
        .await
        .unwrap();
    let conn = shared::amqp::connect(&app.services.amqp_url, "test")
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let topo = shared::messages::Topology::new(app.namespace.clone());
    shared::amqp::declare_topology(&ch, &topo).await.unwrap();
    let queue = shared::amqp::declare_node_queue(&ch, &topo, "node-x")
        .await
        .unwrap();

    app.post(
        &format!("/stream/scenes/{scene_id}/activate"),
        "acme",
        json!({"transition": {"type": "slide", "durationMs": 300}}),
    )
    .await
    .expect(200);
    app.flush_outbox().await;
    let msg = app
        .next_message(&queue, Duration::from_secs(10))
        .await
        .expect("update for the node");
    let env: CommandEnvelope = serde_json::from_value(msg).unwrap();
    let NodeCommand::Update { spec } = env.command else {
        panic!("expected update")
    };
    assert_eq!(spec.active_scene_id.to_string(), scene_id);
    assert!(matches!(spec.change, Some(ChangeHint::Scene { .. })));
    let _ = ch
        .queue_delete(
            queue.as_str().into(),
            lapin::options::QueueDeleteOptions::default(),
        )
        .await;
}
