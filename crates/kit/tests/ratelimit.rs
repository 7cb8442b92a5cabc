//! The shared GCRA limiter against the test Redis.
#![allow(clippy::unwrap_used)]
use std::time::Duration;

use stagecast_kit::ratelimit::{Rate, take};

async fn redis() -> redis::aio::ConnectionManager {
    stagecast_kit::cache::connect(&stagecast_testkit::redis_url()).await.unwrap()
}

fn bucket() -> String {
    format!("test:{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn a_burst_of_the_limit_passes_then_requests_are_spaced_and_never_double_at_an_edge() {
    let mut r = redis().await;
    let key = bucket();
    // 5 per 2 s: one every 400 ms once the burst is spent.
    let rate = Rate { limit: 5, period: Duration::from_secs(2) };
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let d = take(&mut r, &key, rate).await.unwrap();
        assert!(d.allowed);
        remaining.push(d.remaining);
    }
    assert_eq!(remaining, vec![4, 3, 2, 1, 0]);
    let refused = take(&mut r, &key, rate).await.unwrap();
    assert!(!refused.allowed);
    assert!(refused.retry_after > Duration::ZERO && refused.retry_after <= Duration::from_millis(400), "{refused:?}");
    // Once the wait it named has passed, exactly one more passes: a fixed window would let a
    // whole new burst through here.
    tokio::time::sleep(refused.retry_after + Duration::from_millis(20)).await;
    assert!(take(&mut r, &key, rate).await.unwrap().allowed);
    assert!(!take(&mut r, &key, rate).await.unwrap().allowed);
}

#[tokio::test]
async fn buckets_count_apart() {
    let mut r = redis().await;
    let (a, b) = (bucket(), bucket());
    let rate = Rate { limit: 1, period: Duration::from_secs(60) };
    assert!(take(&mut r, &a, rate).await.unwrap().allowed);
    let refused = take(&mut r, &a, rate).await.unwrap();
    assert!(!refused.allowed);
    assert!(refused.retry_after > Duration::from_secs(55), "{refused:?}");
    assert!(take(&mut r, &b, rate).await.unwrap().allowed);
}
