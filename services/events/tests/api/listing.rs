//! Listing live, upcoming and past events, page by page.
use prost_types::Timestamp;
use stagecast_proto::events::v1::{self as pb, ListFilter};
use tonic::Code;

use crate::helpers::{assert_refused, minutes_from_now, spawn_app, user};

fn ids(pages: &[Vec<pb::Event>]) -> Vec<String> {
    pages.iter().flatten().map(|e| e.id.clone()).collect()
}

fn page_sizes(pages: &[Vec<pb::Event>]) -> Vec<usize> {
    pages.iter().map(Vec::len).collect()
}

#[tokio::test]
async fn upcoming_lists_scheduled_events_soonest_first_across_pages() {
    let app = spawn_app().await;
    let host = user();
    // Created latest-start first, so creation order and listing order disagree.
    let mut scheduled = Vec::new();
    for hours in (1..=5).rev() {
        scheduled.push(app.create_with(host, minutes_from_now(hours * 60), &[]).await);
    }
    let live = app.create(host).await;
    app.go_live(host, &live.id).await.expect("go live");
    let cancelled = app.create(host).await;
    app.cancel(host, &cancelled.id).await.expect("cancel");

    let pages = app.all_pages(ListFilter::Upcoming, 2).await;

    assert_eq!(page_sizes(&pages), vec![2, 2, 1]);
    let expected: Vec<String> = scheduled.iter().rev().map(|e| e.id.clone()).collect();
    assert_eq!(ids(&pages), expected, "soonest first; live and cancelled events are not upcoming");
    assert!(pages.iter().flatten().all(|e| e.status() == pb::EventStatus::Scheduled));
}

#[tokio::test]
async fn live_lists_the_most_recently_started_first_across_pages() {
    let app = spawn_app().await;
    let (host, cohost) = (user(), user());
    let mut went_live = Vec::new();
    for _ in 0..5 {
        let event = app.create_with(host, minutes_from_now(60), &[cohost]).await;
        went_live.push(app.go_live(host, &event.id).await.expect("go live").id);
    }
    let ended = went_live.remove(0);
    app.end(host, &ended).await.expect("end");
    app.create(host).await; // scheduled, not live

    let pages = app.all_pages(ListFilter::Live, 3).await;

    assert_eq!(page_sizes(&pages), vec![3, 1]);
    let expected: Vec<String> = went_live.iter().rev().cloned().collect();
    assert_eq!(ids(&pages), expected);
    assert!(pages.iter().flatten().all(|e| e.cohost_ids == vec![cohost.to_string()]), "co-hosts are included");
}

#[tokio::test]
async fn past_lists_the_most_recently_ended_first_across_pages() {
    let app = spawn_app().await;
    let (host, cohost) = (user(), user());
    let mut events = Vec::new();
    for _ in 0..5 {
        let event = app.create_with(host, minutes_from_now(60), &[cohost]).await;
        app.go_live(host, &event.id).await.expect("go live");
        events.push(event.id);
    }
    // Ended in a different order from the one they went live in.
    let end_order = [&events[3], &events[0], &events[4], &events[1], &events[2]];
    for id in end_order {
        app.end(host, id).await.expect("end");
    }

    let pages = app.all_pages(ListFilter::Past, 2).await;

    assert_eq!(page_sizes(&pages), vec![2, 2, 1]);
    let expected: Vec<String> = end_order.iter().rev().map(|id| (*id).clone()).collect();
    assert_eq!(ids(&pages), expected);
    for event in pages.iter().flatten() {
        assert_eq!(event.status(), pb::EventStatus::Ended);
        assert!(event.ended_at.is_some() && event.went_live_at.is_some());
        assert_eq!(event.cohost_ids, vec![cohost.to_string()]);
    }
}

#[tokio::test]
async fn events_with_the_same_start_time_page_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let host = user();
    let same_start = Timestamp { seconds: minutes_from_now(90).seconds, nanos: 0 };
    let mut created = Vec::new();
    for _ in 0..7 {
        created.push(app.create_with(host, same_start, &[]).await.id);
    }

    let pages = app.all_pages(ListFilter::Upcoming, 3).await;

    assert_eq!(page_sizes(&pages), vec![3, 3, 1]);
    let mut expected = created.clone();
    expected.sort(); // ties break on id
    assert_eq!(ids(&pages), expected);
}

#[tokio::test]
async fn an_unset_limit_gives_pages_of_twenty() {
    let app = spawn_app().await;
    let host = user();
    for _ in 0..21 {
        app.create(host).await;
    }
    let pages = app.all_pages(ListFilter::Upcoming, 0).await;
    assert_eq!(page_sizes(&pages), vec![20, 1]);
}

#[tokio::test]
async fn an_exactly_full_last_page_has_no_next_cursor() {
    let app = spawn_app().await;
    let host = user();
    for _ in 0..4 {
        app.create(host).await;
    }
    let pages = app.all_pages(ListFilter::Upcoming, 2).await;
    assert_eq!(page_sizes(&pages), vec![2, 2], "no trailing empty page");
    let empty = app.list(ListFilter::Live, 2, "").await.expect("list live");
    assert!(empty.events.is_empty() && empty.next_cursor.is_empty());
}

#[tokio::test]
async fn bad_list_requests_are_refused() {
    let app = spawn_app().await;
    let host = user();
    for _ in 0..3 {
        let event = app.create(host).await;
        app.go_live(host, &event.id).await.expect("go live");
    }
    let live_cursor = app.list(ListFilter::Live, 1, "").await.expect("list live").next_cursor;
    assert!(!live_cursor.is_empty());

    assert_refused(app.list(ListFilter::Live, 101, "").await, Code::InvalidArgument, "invalid_limit");
    assert_refused(app.list(ListFilter::Unspecified, 10, "").await, Code::InvalidArgument, "invalid_filter");
    assert_refused(app.list(ListFilter::Live, 10, "not-a-cursor!").await, Code::InvalidArgument, "invalid_cursor");
    assert_refused(app.list(ListFilter::Live, 10, &live_cursor[..10]).await, Code::InvalidArgument, "invalid_cursor");
    assert_eq!(app.list(ListFilter::Live, 10, &live_cursor).await.expect("the cursor works where it came from").events.len(), 2);
    // A cursor is a position (a time and an id): another listing continues its own order from it.
    assert!(app.list(ListFilter::Past, 10, &live_cursor).await.expect("a position in any listing").events.is_empty());
}
