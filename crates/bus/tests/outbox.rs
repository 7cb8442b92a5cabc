//! The outbox and relay against real Postgres and NATS JetStream.
#![allow(clippy::unwrap_used)] // a test that cannot proceed should fail loudly, right there
use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, pull},
};
use futures::StreamExt;
use sqlx::PgPool;
use stagecast_bus::{
    Envelope,
    outbox::{Relay, enqueue},
    stream::ensure_stream,
};
use stagecast_proto::auth::v1::UserSignedUp;

const DDL: &str = "CREATE TABLE outbox (
    seq BIGSERIAL PRIMARY KEY, id UUID NOT NULL UNIQUE, subject TEXT NOT NULL, body BYTEA NOT NULL,
    traceparent TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), published_at TIMESTAMPTZ,
    attempts INT NOT NULL DEFAULT 0, last_error TEXT)";

async fn setup() -> (PgPool, jetstream::Context, String) {
    let url = stagecast_testkit::fresh_database().await;
    let pool = PgPool::connect(&url).await.unwrap();
    sqlx::query(DDL).execute(&pool).await.unwrap();
    let js = jetstream::new(async_nats::connect(stagecast_testkit::nats_url()).await.unwrap());
    ensure_stream(&js).await.unwrap();
    let prefix = format!("stagecast.test.{}", uuid::Uuid::new_v4().simple());
    (pool, js, prefix)
}

async fn received(js: &jetstream::Context, filter: &str, want: usize) -> Vec<(String, Envelope)> {
    let stream = js.get_stream("STAGECAST").await.unwrap();
    let consumer = stream
        .create_consumer(pull::Config { filter_subject: filter.into(), deliver_policy: DeliverPolicy::All, ..Default::default() })
        .await
        .unwrap();
    let mut out = Vec::new();
    // Bounded: at most ~2 s of polling; then one more short fetch proves nothing else arrives.
    for _ in 0..8 {
        let mut batch = consumer.fetch().max_messages(100).expires(Duration::from_millis(250)).messages().await.unwrap();
        while let Some(Ok(m)) = batch.next().await {
            out.push((m.subject.to_string(), Envelope::decode(&m.payload).unwrap()));
            m.ack().await.unwrap();
        }
        if out.len() > want {
            break;
        }
    }
    out
}

fn msg(n: u32) -> UserSignedUp {
    UserSignedUp { user_id: n.to_string(), display_name: format!("user {n}") }
}

#[tokio::test]
async fn the_relay_publishes_committed_messages_in_commit_order_and_marks_them() {
    let (pool, js, prefix) = setup().await;
    for n in 0..5 {
        let mut tx = pool.begin().await.unwrap();
        enqueue(&mut tx, &format!("{prefix}.{n}"), &msg(n)).await.unwrap();
        tx.commit().await.unwrap();
    }
    let relay = Relay::new(pool.clone(), js.clone(), "test");
    assert_eq!(relay.relay_once().await.unwrap(), 5);
    assert_eq!(relay.backlog().await.unwrap(), 0);
    let got = received(&js, &format!("{prefix}.>"), 5).await;
    let order: Vec<String> = got.iter().map(|(_, e)| e.open::<UserSignedUp>().unwrap().user_id).collect();
    assert_eq!(order, ["0", "1", "2", "3", "4"]);
}

#[tokio::test]
async fn a_rolled_back_transaction_publishes_nothing() {
    let (pool, js, prefix) = setup().await;
    let mut tx = pool.begin().await.unwrap();
    enqueue(&mut tx, &format!("{prefix}.x"), &msg(1)).await.unwrap();
    tx.rollback().await.unwrap();
    let relay = Relay::new(pool.clone(), js.clone(), "test");
    assert_eq!(relay.relay_once().await.unwrap(), 0);
    assert!(received(&js, &format!("{prefix}.>"), 0).await.is_empty());
}

#[tokio::test]
async fn a_message_published_again_after_a_crash_before_marking_reaches_subscribers_once() {
    let (pool, js, prefix) = setup().await;
    let mut tx = pool.begin().await.unwrap();
    let id = enqueue(&mut tx, &format!("{prefix}.x"), &msg(1)).await.unwrap();
    tx.commit().await.unwrap();
    let relay = Relay::new(pool.clone(), js.clone(), "test");
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    // As if the relay died after JetStream's ack but before its UPDATE committed.
    sqlx::query("UPDATE outbox SET published_at = NULL").execute(&pool).await.unwrap();
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    let got = received(&js, &format!("{prefix}.>"), 1).await;
    assert_eq!(got.len(), 1, "JetStream dropped the copy with the same Nats-Msg-Id");
    assert_eq!(got[0].1.id, id);
}

#[tokio::test]
async fn only_one_relay_of_a_service_publishes_at_a_time() {
    let (pool, js, prefix) = setup().await;
    for n in 0..50 {
        let mut tx = pool.begin().await.unwrap();
        enqueue(&mut tx, &format!("{prefix}.{n}"), &msg(n)).await.unwrap();
        tx.commit().await.unwrap();
    }
    let a = Relay::new(pool.clone(), js.clone(), "test");
    let b = Relay::new(pool.clone(), js.clone(), "test");
    let (ra, rb) = tokio::join!(a.relay_once(), b.relay_once());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra + rb, 50);
    let got = received(&js, &format!("{prefix}.>"), 50).await;
    let order: Vec<u32> = got.iter().map(|(_, e)| e.open::<UserSignedUp>().unwrap().user_id.parse().unwrap()).collect();
    assert_eq!(order, (0..50).collect::<Vec<_>>());
}
