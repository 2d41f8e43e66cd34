//! Traces: a client's trace goes on through the API, the outbox, RabbitMQ and into the real
//! render node process that runs the job, all exported over OTLP/HTTP to a receiver inside
//! the test.
//!
//! The control plane runs in this process with export set up the way its binary sets it up
//! from `OTEL_EXPORTER_OTLP_ENDPOINT`; that installs the process's global subscriber, which
//! nextest's one process per test allows.

use std::time::{Duration, Instant};

use serde_json::json;
use shared::telemetry::OtlpSettings;
use stream_manager_tests::nodes::{Receiver, spawn_node_with_env};
use stream_manager_tests::otlp::{OtlpReceiver, ReceivedSpan, ancestors};
use stream_manager_tests::spawn_app_with_private_urls;

/// The client's span: the trace every span of this test must join.
const CLIENT_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";
/// The trace of a later change made by the client.
const CHANGE_TRACE: &str = "5b8efff798038103d269b633813fc60c";

fn find<'a>(
    spans: &'a [ReceivedSpan],
    what: &str,
    pred: impl Fn(&ReceivedSpan) -> bool,
) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| pred(s))
        .unwrap_or_else(|| panic!("no {what} among {:#?}", names(spans.iter())))
}

fn names<'a>(spans: impl Iterator<Item = &'a ReceivedSpan>) -> Vec<String> {
    spans
        .map(|s| {
            let uri = s.attributes.get("uri").map_or("", String::as_str);
            format!("{}:{}{}", s.service, s.name, uri)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_traces_go_on_into_the_node_spans_that_run_its_start_and_its_change() {
    let collector = OtlpReceiver::start();
    shared::telemetry::init_with(
        OtlpSettings::from_lookup("control-plane", |name| {
            (name == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| collector.endpoint.clone())
        }),
        &control_plane::startup::LOG_TABLE,
    );
    let app = spawn_app_with_private_urls(true).await;
    let rtmp = Receiver::start("traced", 320, 180);
    app.set_test_output("320x180", "400k", &[&rtmp.url]).await;
    // No OTEL_SERVICE_NAME: the node names itself render-node.
    let mut node = spawn_node_with_env(
        &app,
        "node-traced",
        1,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint)],
    );

    let started = app
        .client
        .post(format!("{}/stream/start", app.base))
        .bearer_auth(app.token("acme"))
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = app.get("/stream/status", "acme").await.data().clone();
        if s["state"] == "live" || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status["state"], "live", "never went live: {status}");
    let stream_id = status["streamId"].as_str().unwrap().to_owned();

    // A change on air goes to the node's own queue: its command span joins the change's trace.
    let added = app
        .client
        .post(format!("{}/stream/layers", app.base))
        .bearer_auth(app.token("acme"))
        .header("traceparent", format!("00-{CHANGE_TRACE}-{CLIENT_SPAN}-01"))
        .json(&json!({"kind": "color", "source": {"color": "#FF0000"},
                      "size": {"width": 32, "height": 32}}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !node.log_text().contains("update applied") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Both processes flush on their way out: the node on SIGTERM (after its drain), the
    // control plane through the same shutdown call its binary makes.
    node.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    while node.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        node.child.try_wait().unwrap().is_some(),
        "the node did not exit on SIGTERM:\n{}",
        node.log_text()
    );
    tokio::task::spawn_blocking(shared::telemetry::shutdown)
        .await
        .unwrap();
    let spans = collector
        .wait_for(Duration::from_secs(10), |s| {
            let on_node = |name: &str| {
                s.iter()
                    .any(|s| s.service == "render-node" && s.name == name)
            };
            on_node("job") && on_node("command")
        })
        .await;

    let request = find(&spans, "start request span", |s| {
        s.service == "control-plane"
            && s.name == "request"
            && s.attributes
                .get("uri")
                .is_some_and(|u| u == "/stream/start")
    });
    assert_eq!(request.trace_id, CLIENT_TRACE, "the client's trace goes on");
    assert_eq!(request.parent_span_id, CLIENT_SPAN);

    let job = find(&spans, "node job span", |s| {
        s.service == "render-node" && s.name == "job"
    });
    assert_eq!(
        job.trace_id, CLIENT_TRACE,
        "the node's job is in the same trace"
    );
    assert_eq!(job.attributes.get("stream_id"), Some(&stream_id));
    let chain = ancestors(&spans, job);
    eprintln!("job span ancestry: {:?}", names(chain.iter().copied()));
    assert!(
        chain.iter().any(|s| s.span_id == request.span_id),
        "the job span descends from the start request: its ancestors are {:?}",
        names(chain.iter().copied())
    );
    assert_eq!(
        chain.first().map(|s| (s.service.as_str(), s.name.as_str())),
        Some(("control-plane", "publish")),
        "the job's parent is the relay's publish, whose headers it came with"
    );

    // The claim the node made for the job shows under the job on the control plane.
    let claim = find(&spans, "claim request span", |s| {
        s.service == "control-plane"
            && s.name == "request"
            && s.attributes
                .get("uri")
                .is_some_and(|u| u.ends_with("/claim"))
    });
    assert_eq!(claim.trace_id, CLIENT_TRACE);
    assert_eq!(claim.parent_span_id, job.span_id);

    let command = find(&spans, "node command span", |s| {
        s.service == "render-node" && s.name == "command" && s.trace_id == CHANGE_TRACE
    });
    assert_eq!(command.attributes.get("stream_id"), Some(&stream_id));
    let change = find(&spans, "layer request span", |s| {
        s.name == "request" && s.trace_id == CHANGE_TRACE && s.parent_span_id == CLIENT_SPAN
    });
    assert!(
        ancestors(&spans, command)
            .iter()
            .any(|s| s.span_id == change.span_id),
        "the command span descends from the change's request"
    );
}
