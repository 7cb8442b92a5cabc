use stagecast_proto::auth::v1 as pb;
use tonic::Code;

use crate::helpers::{code, spawn, unique_email};

#[tokio::test]
async fn refresh_rotates_the_token_and_the_old_one_stops_working() {
    let app = spawn().await;
    let s = app.sign_up(&unique_email(), "correct horse battery").await.unwrap();
    let next =
        app.client.clone().refresh(pb::RefreshRequest { refresh_token: s.refresh_token.clone() }).await.unwrap().into_inner();
    assert_ne!(next.refresh_token, s.refresh_token);
    assert_eq!(next.session_id, s.session_id, "rotation stays in the same session");
    let third = app.client.clone().refresh(pb::RefreshRequest { refresh_token: next.refresh_token.clone() }).await;
    assert!(third.is_ok());
}

#[tokio::test]
async fn a_replayed_refresh_token_revokes_the_whole_family() {
    let app = spawn().await;
    let s = app.sign_up(&unique_email(), "correct horse battery").await.unwrap();
    let next =
        app.client.clone().refresh(pb::RefreshRequest { refresh_token: s.refresh_token.clone() }).await.unwrap().into_inner();
    // The attacker (or a confused client) presents the first token again.
    let replay = app.client.clone().refresh(pb::RefreshRequest { refresh_token: s.refresh_token.clone() }).await.unwrap_err();
    assert_eq!(replay.code(), Code::Unauthenticated);
    assert_eq!(code(&replay), "refresh_token_reused");
    // The legitimate newest token of the family is dead too.
    let legit = app.client.clone().refresh(pb::RefreshRequest { refresh_token: next.refresh_token }).await.unwrap_err();
    assert_eq!(code(&legit), "refresh_token_revoked");
    let active = app.client.clone().check_session(pb::CheckSessionRequest { session_id: s.session_id.clone() }).await.unwrap();
    assert!(!active.into_inner().active);
    assert_eq!(app.count("SELECT count(*) FROM auth.outbox WHERE subject LIKE 'stagecast.auth.v1.session.%.revoked'").await, 1);
}

#[tokio::test]
async fn two_sessions_are_independent_when_one_is_revoked() {
    let app = spawn().await;
    let email = unique_email();
    let a = app.sign_up(&email, "correct horse battery").await.unwrap();
    let b = app
        .client
        .clone()
        .sign_in(pb::SignInRequest { email, password: "correct horse battery".into() })
        .await
        .unwrap()
        .into_inner();
    app.client.clone().sign_out(pb::SignOutRequest { refresh_token: a.refresh_token }).await.unwrap();
    assert!(app.client.clone().refresh(pb::RefreshRequest { refresh_token: b.refresh_token }).await.is_ok());
}

#[tokio::test]
async fn sign_out_ends_the_session_and_its_refresh_token() {
    let app = spawn().await;
    let s = app.sign_up(&unique_email(), "correct horse battery").await.unwrap();
    let out =
        app.client.clone().sign_out(pb::SignOutRequest { refresh_token: s.refresh_token.clone() }).await.unwrap().into_inner();
    assert_eq!(out.session_id, s.session_id);
    let err = app.client.clone().refresh(pb::RefreshRequest { refresh_token: s.refresh_token }).await.unwrap_err();
    assert_eq!(code(&err), "refresh_token_revoked");
}

#[tokio::test]
async fn a_garbage_or_unknown_refresh_token_is_refused() {
    let app = spawn().await;
    let err = app.client.clone().refresh(pb::RefreshRequest { refresh_token: "nope".into() }).await.unwrap_err();
    assert_eq!(code(&err), "refresh_token_invalid");
    let unknown = "A".repeat(43);
    let err = app.client.clone().refresh(pb::RefreshRequest { refresh_token: unknown }).await.unwrap_err();
    assert_eq!(code(&err), "refresh_token_invalid");
    let err = app.client.clone().refresh(pb::RefreshRequest { refresh_token: String::new() }).await.unwrap_err();
    assert_eq!(code(&err), "refresh_token_required");
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_let_at_most_one_through() {
    let app = spawn().await;
    let s = app.sign_up(&unique_email(), "correct horse battery").await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut c = app.client.clone();
        let t = s.refresh_token.clone();
        tasks.push(tokio::spawn(async move { c.refresh(pb::RefreshRequest { refresh_token: t }).await.is_ok() }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap() as u32;
    }
    assert!(ok <= 1, "{ok} refreshes succeeded with one token");
}

#[tokio::test]
async fn the_grpc_health_service_reports_serving() {
    let app = spawn().await;
    assert_eq!(
        app.health_of("stagecast.auth.v1.AuthService").await,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test]
async fn deleting_a_guest_removes_them_and_their_session_but_never_an_account_or_another_events_guest() {
    let app = spawn().await;
    let event = uuid::Uuid::now_v7().to_string();
    let guest = |event: &str| {
        let request = pb::CreateGuestRequest { display_name: "Grace".into(), avatar_url: String::new(), event_id: event.into() };
        let mut client = app.client.clone();
        async move { client.create_guest(request).await.unwrap().into_inner() }
    };
    let delete = |user_id: &str, event: &str| {
        let request = pb::DeleteGuestRequest { user_id: user_id.into(), event_id: event.into() };
        let mut client = app.client.clone();
        async move { client.delete_guest(request).await }
    };
    let id = |s: &pb::SessionResponse| s.user.as_ref().unwrap().id.clone();
    let refused = guest(&event).await;
    let kept = id(&guest(&event).await);
    let account = id(&app.sign_up(&unique_email(), "correct horse battery").await.unwrap());

    delete(&id(&refused), &event).await.unwrap();
    let err = app.client.clone().refresh(pb::RefreshRequest { refresh_token: refused.refresh_token.clone() }).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(app.count("SELECT count(*) FROM auth.users WHERE guest_event_id IS NOT NULL").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM auth.sessions WHERE event_id IS NOT NULL").await, 1);
    for (user, on) in [(id(&refused), event.clone()), (account, event.clone()), (kept, uuid::Uuid::now_v7().to_string())] {
        assert_eq!(code(&delete(&user, &on).await.unwrap_err()), "guest_not_found");
    }
    assert_eq!(app.count("SELECT count(*) FROM auth.users").await, 2, "the other guest and the account stay");
}
