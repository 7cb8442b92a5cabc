//! The stage through the public API, against the real events, chat, auth and media services:
//! a hand goes up, an invitation is accepted, roles change the media token and every socket
//! hears it; kicks and bans close connections, and a ban refuses tokens, sockets and chat.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    chat::{Ws, closed_with, connect, event_of, next_of},
    helpers::{Account, TestApp, assert_problem, eventually, spawn},
};

impl TestApp {
    async fn stage_view(&self, event: &str, who: &Account) -> Value {
        let r = self.get(&format!("/api/v1/events/{event}/stage"), Some(&who.access)).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    async fn token_role(&self, event: &str, who: &Account) -> Value {
        let r = self.post(&format!("/api/v1/events/{event}/media-token"), Some(&who.access), json!({})).await;
        assert_eq!(r.status(), StatusCode::OK);
        let b: Value = r.json().await.unwrap();
        json!([b["role"], b["grants"]["publish"]])
    }

    async fn put_role(&self, event: &str, who: &Account, target: &Account, role: &str) -> reqwest::Response {
        self.http
            .put(self.url(&format!("/api/v1/events/{event}/stage/roles/{}", target.user_id)))
            .bearer_auth(&who.access)
            .json(&json!({"role": role}))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_raised_hand_is_invited_and_the_speaker_gets_publishing_rights_while_everyone_hears_it() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let guest = app.sign_up().await;
    let other = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let mut host_ws = connect(&app.base, &event, &host.access).await;
    next_of(&mut host_ws, "hello").await;
    // The guest listens on the other gateway replica: stage frames cross replicas through the bus.
    let mut guest_ws = connect(&app.base2, &event, &guest.access).await;
    next_of(&mut guest_ws, "hello").await;

    let r = app.post(&format!("/api/v1/events/{event}/stage/hand"), Some(&guest.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let frame = next_of(&mut host_ws, "stage").await;
    assert_eq!((&frame["change"]["kind"], &frame["change"]["target_user_id"]), (&json!("hand_raised"), &json!(guest.user_id)));

    let view = app.stage_view(&event, &host).await;
    assert_eq!(view["hands"][0]["user_id"], guest.user_id.as_str());
    assert_eq!(view["hands"][0]["display_name"], "Ada", "the queue names people");
    assert_eq!(view["members"][0]["role"], "host");

    let r = app
        .post(&format!("/api/v1/events/{event}/stage/invitations"), Some(&host.access), json!({"user_id": guest.user_id}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let invited = next_of(&mut guest_ws, "stage").await;
    assert_eq!(invited["change"]["kind"], "hand_raised");
    let invited = next_of(&mut guest_ws, "stage").await;
    assert_eq!(invited["change"]["kind"], "invited");
    let invitation = invited["change"]["invitation"]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.stage_view(&event, &guest).await["invitations"][0]["id"], invitation.as_str());
    assert_eq!(app.token_role(&event, &guest).await, json!(["audience", []]));

    let r =
        app.post(&format!("/api/v1/events/{event}/stage/invitations/{invitation}/accept"), Some(&guest.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["change"]["role"], "speaker");
    assert_eq!(b["grants"]["publish"], json!(["camera", "microphone"]));
    assert_eq!(b["applied_to_media"], true);
    assert_eq!(app.token_role(&event, &guest).await, json!(["speaker", ["camera", "microphone"]]));
    // Accepting twice is refused and changes nothing.
    let r =
        app.post(&format!("/api/v1/events/{event}/stage/invitations/{invitation}/accept"), Some(&guest.access), json!({})).await;
    assert_problem(r, StatusCode::NOT_FOUND, "invitation_not_found").await;

    // An invitation withdrawn by the host cannot be accepted.
    let r = app
        .post(&format!("/api/v1/events/{event}/stage/invitations"), Some(&host.access), json!({"user_id": other.user_id}))
        .await;
    let withdrawn = r.json::<Value>().await.unwrap()["change"]["invitation"]["id"].as_str().unwrap().to_owned();
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/events/{event}/stage/invitations/{withdrawn}")))
        .bearer_auth(&guest.access)
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "not_allowed").await;
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/events/{event}/stage/invitations/{withdrawn}")))
        .bearer_auth(&host.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["change"]["kind"], "invitation_withdrawn");
    let r =
        app.post(&format!("/api/v1/events/{event}/stage/invitations/{withdrawn}/accept"), Some(&other.access), json!({})).await;
    assert_problem(r, StatusCode::NOT_FOUND, "invitation_not_found").await;
    assert_eq!(app.token_role(&event, &other).await[0], "audience");

    // The speaker steps down by themselves.
    let r = app.post(&format!("/api/v1/events/{event}/stage/leave"), Some(&guest.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.token_role(&event, &guest).await, json!(["audience", []]));
    let log: Value = app.get(&format!("/api/v1/events/{event}/stage/log"), Some(&host.access)).await.json().await.unwrap();
    let kinds: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["role_changed", "invitation_withdrawn", "invited", "invitation_accepted", "invited", "hand_raised"]);
    let r = app.get(&format!("/api/v1/events/{event}/stage/log"), Some(&guest.access)).await;
    assert_problem(r, StatusCode::FORBIDDEN, "not_allowed").await;
}

#[tokio::test]
async fn rank_rules_hold_through_the_public_api_and_refusals_change_nothing() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let cohost = app.sign_up().await;
    let moderator = app.sign_up().await;
    let speaker = app.sign_up().await;
    let viewer = app.sign_up().await;
    let event = event_of(&app, &host).await;
    assert_eq!(app.put_role(&event, &host, &cohost, "cohost").await.status(), StatusCode::OK);
    assert_eq!(app.put_role(&event, &cohost, &moderator, "moderator").await.status(), StatusCode::OK);
    assert_eq!(app.put_role(&event, &moderator, &speaker, "speaker").await.status(), StatusCode::OK);
    assert_eq!(app.token_role(&event, &cohost).await[0], "cohost");
    assert_eq!(app.token_role(&event, &moderator).await, json!(["moderator", []]));

    let before = app.stage_view(&event, &host).await;
    assert_problem(app.put_role(&event, &cohost, &viewer, "cohost").await, StatusCode::FORBIDDEN, "not_allowed").await;
    assert_problem(app.put_role(&event, &moderator, &cohost, "audience").await, StatusCode::FORBIDDEN, "not_allowed").await;
    assert_problem(app.put_role(&event, &speaker, &viewer, "speaker").await, StatusCode::FORBIDDEN, "not_allowed").await;
    assert_problem(app.put_role(&event, &host, &viewer, "owner").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_role").await;
    let kick = |who: &Account, target: &Account| {
        let body = json!({"user_id": target.user_id, "reason": "rude"});
        let path = format!("/api/v1/events/{event}/kick");
        let token = who.access.clone();
        let app = &app;
        async move { app.post(&path, Some(&token), body).await }
    };
    assert_problem(kick(&moderator, &cohost).await, StatusCode::FORBIDDEN, "cannot_act_on_higher_role").await;
    assert_problem(kick(&speaker, &viewer).await, StatusCode::FORBIDDEN, "not_allowed").await;
    let r = app.post(&format!("/api/v1/events/{event}/stage/hand"), Some(&speaker.access), json!({})).await;
    assert_problem(r, StatusCode::CONFLICT, "already_on_stage").await;
    let r = app
        .post(
            &format!("/api/v1/events/{event}/stage/invitations/{}/accept", uuid::Uuid::now_v7()),
            Some(&viewer.access),
            json!({}),
        )
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "invitation_not_found").await;
    let r =
        app.post(&format!("/api/v1/events/{event}/stage/invitations"), Some(&host.access), json!({"user_id": "nobody"})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_target_user_id").await;
    assert_eq!(app.stage_view(&event, &host).await, before, "refusals changed nothing");

    // Moderators moderate chat because the stage says so (the chat follows the stage through
    // its bus consumer): they see the audit log.
    let moderates = eventually(async || {
        app.get(&format!("/api/v1/events/{event}/chat/audit"), Some(&moderator.access)).await.status() == StatusCode::OK
    })
    .await;
    assert!(moderates, "a stage moderator moderates the chat within 5 s");
    // Only the host ends the show.
    let r = app.post(&format!("/api/v1/events/{event}/go-live"), Some(&cohost.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.post(&format!("/api/v1/events/{event}/end"), Some(&cohost.access), json!({})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "host_only").await;
}

#[tokio::test]
async fn a_kick_closes_the_socket_and_a_ban_keeps_the_user_out_of_media_sockets_and_chat_until_lifted() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let troll = app.sign_up().await;
    let event = event_of(&app, &host).await;

    let mut ws = connect(&app.base2, &event, &troll.access).await;
    next_of(&mut ws, "hello").await;
    let r = app.post(&format!("/api/v1/events/{event}/kick"), Some(&host.access), json!({"user_id": troll.user_id})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(next_of(&mut ws, "stage").await["change"]["kind"], "kicked");
    assert_eq!(closed_with(&mut ws).await, 4010);
    // A kick is not a ban: they may come back.
    let mut ws = connect(&app.base, &event, &troll.access).await;
    next_of(&mut ws, "hello").await;
    assert_eq!(app.token_role(&event, &troll).await[0], "audience");

    let r = app
        .post(&format!("/api/v1/events/{event}/bans"), Some(&host.access), json!({"user_id": troll.user_id, "reason": "spam"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(closed_with(&mut ws).await, 4003);
    let r = app.post(&format!("/api/v1/events/{event}/media-token"), Some(&troll.access), json!({})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "banned").await;
    let r = app.post(&format!("/api/v1/events/{event}/stage/hand"), Some(&troll.access), json!({})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "banned").await;
    // One ban: the chat refuses them too, and the socket will not open.
    let chat_refuses = eventually(async || {
        let r = app.get(&format!("/api/v1/events/{event}/live"), Some(&troll.access)).await;
        r.status() == StatusCode::FORBIDDEN
    })
    .await;
    assert!(chat_refuses, "the live socket refuses a banned user within 5 s");
    let r = app
        .post(
            &format!("/api/v1/events/{event}/chat/messages"),
            Some(&troll.access),
            json!({"client_msg_id": "b1", "text": "hello?"}),
        )
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "banned").await;
    for read in ["chat/messages", "chat/replay"] {
        let r = app.get(&format!("/api/v1/events/{event}/{read}"), Some(&troll.access)).await;
        assert_problem(r, StatusCode::FORBIDDEN, "banned").await;
    }
    assert_eq!(app.stage_view(&event, &host).await["bans"][0]["user_id"], troll.user_id.as_str());

    let r = app
        .http
        .delete(app.url(&format!("/api/v1/events/{event}/bans/{}", troll.user_id)))
        .bearer_auth(&host.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.token_role(&event, &troll).await[0], "audience");
    let lifted = eventually(async || {
        let r = app
            .post(
                &format!("/api/v1/events/{event}/chat/messages"),
                Some(&troll.access),
                json!({"client_msg_id": "b2", "text": "sorry"}),
            )
            .await;
        r.status().is_success()
    })
    .await;
    assert!(lifted, "chat takes them back within 5 s of the ban being lifted");
    let r = app.get(&format!("/api/v1/events/{event}/chat/messages"), Some(&troll.access)).await;
    assert_eq!(r.status(), StatusCode::OK, "and they read the history again");
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/events/{event}/bans/{}", troll.user_id)))
        .bearer_auth(&host.access)
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::CONFLICT, "not_banned").await;
}

#[tokio::test]
async fn a_guest_joins_through_a_link_without_an_account_and_can_only_take_part_in_that_event() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let cohost = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let other_event = event_of(&app, &host).await;
    assert_eq!(app.put_role(&event, &host, &cohost, "cohost").await.status(), StatusCode::OK);

    let r = app
        .post(&format!("/api/v1/events/{event}/stage/links"), Some(&host.access), json!({"role": "speaker", "max_uses": 2}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: Value = r.json().await.unwrap();
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(made["join_url"].as_str().unwrap().ends_with(&format!("/join/{token}")));
    assert_eq!((&made["link"]["role"], &made["link"]["uses"]), (&json!("speaker"), &json!(0)));
    // Only the host hands out co-host links; a bad role or expiry is named.
    let r = app.post(&format!("/api/v1/events/{event}/stage/links"), Some(&cohost.access), json!({"role": "cohost"})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "not_allowed").await;
    let r = app.post(&format!("/api/v1/events/{event}/stage/links"), Some(&host.access), json!({"role": "moderator"})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_link_role").await;
    let r = app
        .post(
            &format!("/api/v1/events/{event}/stage/links"),
            Some(&host.access),
            json!({"role": "speaker", "expires_in_secs": 5}),
        )
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_expiry").await;

    // The join page needs no account.
    let offer: Value = app.get(&format!("/api/v1/guest-links/{token}"), None).await.json().await.unwrap();
    assert_eq!((&offer["event"]["id"], &offer["role"]), (&json!(event), &json!("speaker")));
    let join = |name: &str| {
        let path = format!("/api/v1/guest-links/{token}/join");
        let body = json!({"display_name": name});
        let app = &app;
        async move { app.post(&path, None, body).await }
    };
    let r = join("Grace").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let grace: Value = r.json().await.unwrap();
    assert_eq!(
        (&grace["role"], &grace["event_id"], &grace["user"]["guest_event_id"]),
        (&json!("speaker"), &json!(event), &json!(event))
    );
    let grace_access = grace["access_token"].as_str().unwrap().to_owned();
    let grace_id = grace["user"]["id"].as_str().unwrap().to_owned();
    let grace_account =
        Account { access: grace_access.clone(), refresh: String::new(), user_id: grace_id.clone(), email: String::new() };
    assert_eq!(app.token_role(&event, &grace_account).await, json!(["speaker", ["camera", "microphone"]]));
    let me: Value = app.get("/api/v1/me", Some(&grace_access)).await.json().await.unwrap();
    assert_eq!(me["display_name"], "Grace");

    // The guest session takes part in this event and nothing else.
    let r = app.post(&format!("/api/v1/events/{other_event}/media-token"), Some(&grace_access), json!({})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "guest_session_scope").await;
    assert_problem(
        app.get("/api/v1/events?status=upcoming", Some(&grace_access)).await,
        StatusCode::FORBIDDEN,
        "guest_session_scope",
    )
    .await;
    let r =
        app.post("/api/v1/events", Some(&grace_access), json!({"title": "Mine", "starts_at": crate::helpers::at(3600)})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "guest_session_scope").await;
    let mut ws = connect(&app.base, &event, &grace_access).await;
    next_of(&mut ws, "hello").await;
    let mut elsewhere = connect(&app.base, &other_event, &grace_access).await;
    assert_eq!(next_of(&mut elsewhere, "error").await["code"], "guest_session_scope");

    // Each guest is somebody of their own; the link runs out after its uses.
    let r = join("Linus").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let linus: Value = r.json().await.unwrap();
    assert_ne!(linus["user"]["id"], grace["user"]["id"]);
    assert_problem(join("Third").await, StatusCode::CONFLICT, "link_exhausted").await;

    // Regenerating stops the old link at once; revoking stops the new one.
    let link_id = made["link"]["id"].as_str().unwrap();
    let r = app.post(&format!("/api/v1/events/{event}/stage/links/{link_id}/regenerate"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let fresh: Value = r.json().await.unwrap();
    assert_problem(app.get(&format!("/api/v1/guest-links/{token}"), None).await, StatusCode::CONFLICT, "link_revoked").await;
    let fresh_token = fresh["token"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/guest-links/{fresh_token}"), None).await.status(), StatusCode::OK);
    let fresh_id = fresh["link"]["id"].as_str().unwrap();
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/events/{event}/stage/links/{fresh_id}")))
        .bearer_auth(&host.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.post(&format!("/api/v1/guest-links/{fresh_token}/join"), None, json!({"display_name": "Late"})).await;
    assert_problem(r, StatusCode::CONFLICT, "link_revoked").await;
    assert_problem(app.get("/api/v1/guest-links/not-a-link", None).await, StatusCode::NOT_FOUND, "link_not_found").await;
    let links: Value = app.get(&format!("/api/v1/events/{event}/stage/links"), Some(&cohost.access)).await.json().await.unwrap();
    assert_eq!(links["links"].as_array().unwrap().len(), 2);
    assert!(links["links"].as_array().unwrap().iter().all(|l| l.get("token").is_none()), "secrets are shown once");

    // Guests are kicked and banned like anyone.
    let r = app.post(&format!("/api/v1/events/{event}/bans"), Some(&host.access), json!({"user_id": grace_id})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(closed_with(&mut ws).await, 4003);
    let r = app.post(&format!("/api/v1/events/{event}/media-token"), Some(&grace_access), json!({})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "banned").await;
}

#[tokio::test]
async fn a_link_with_approval_puts_the_guest_in_the_hand_queue() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let r = app
        .post(
            &format!("/api/v1/events/{event}/stage/links"),
            Some(&host.access),
            json!({"role": "speaker", "needs_approval": true}),
        )
        .await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let r = app.post(&format!("/api/v1/guest-links/{token}/join"), None, json!({"display_name": "Ada Guest"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let guest: Value = r.json().await.unwrap();
    assert_eq!((&guest["role"], &guest["change"]["kind"]), (&json!("audience"), &json!("hand_raised")));
    let view = app.stage_view(&event, &host).await;
    assert_eq!(view["hands"][0]["user_id"], guest["user"]["id"]);
    assert_eq!(view["hands"][0]["display_name"], "Ada Guest");
    let r = app.post(&format!("/api/v1/guest-links/{token}/join"), None, json!({"display_name": ""})).await;
    assert_problem(r, StatusCode::CONFLICT, "link_exhausted").await;
}

#[tokio::test]
async fn a_guest_waits_backstage_unseen_by_the_audience_until_brought_on_air() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let viewer = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let r = app.post(&format!("/api/v1/events/{event}/stage/links"), Some(&host.access), json!({"role": "speaker"})).await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let guest: Value = app
        .post(&format!("/api/v1/guest-links/{token}/join"), None, json!({"display_name": "Green"}))
        .await
        .json()
        .await
        .unwrap();
    let guest_id = guest["user"]["id"].as_str().unwrap().to_owned();
    let guest_access = guest["access_token"].as_str().unwrap().to_owned();
    let guest_account =
        Account { access: guest_access.clone(), refresh: String::new(), user_id: guest_id.clone(), email: String::new() };

    // Backstage: the guest publishes to the green room only, and the audience is not told of them.
    let token: Value =
        app.post(&format!("/api/v1/events/{event}/media-token"), Some(&guest_access), json!({})).await.json().await.unwrap();
    assert_eq!(
        token["grants"],
        json!({"subscribe": true, "publish": ["camera", "microphone"], "hidden": false, "backstage": true, "see_backstage": true})
    );
    let listed = |v: &Value| v["members"].as_array().unwrap().iter().any(|m| m["user_id"] == guest_id.as_str());
    assert!(!listed(&app.stage_view(&event, &viewer).await), "the audience does not see the green room");
    let host_view = app.stage_view(&event, &host).await;
    let member = host_view["members"].as_array().unwrap().iter().find(|m| m["user_id"] == guest_id.as_str()).unwrap().clone();
    assert_eq!((&member["role"], &member["backstage"]), (&json!("speaker"), &json!(true)));
    assert!(listed(&app.stage_view(&event, &guest_account).await), "the guest sees themselves backstage");

    // Nor does the audience's presence list them: the chat knows the green room from the stage
    // changes on the bus (a moment after the join), and the guest's socket is then not listed.
    let db = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let known = eventually(async || {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM chat.backstage WHERE event_id = $1::uuid AND user_id = $2::uuid)",
        )
        .bind(&event)
        .bind(&guest_id)
        .fetch_one(&db)
        .await
        .unwrap()
    })
    .await;
    assert!(known, "the chat learns who is backstage from the bus");
    let mut watching = crate::chat::connect(&app.base, &event, &viewer.access).await;
    crate::chat::next_of(&mut watching, "hello").await;
    let mut green = crate::chat::connect(&app.base2, &event, &guest_access).await;
    let hello = crate::chat::next_of(&mut green, "hello").await;
    let here: Value = app.get(&format!("/api/v1/events/{event}/presence"), Some(&viewer.access)).await.json().await.unwrap();
    let users: Vec<&str> = here["users"].as_array().unwrap().iter().map(|u| u["user_id"].as_str().unwrap()).collect();
    assert_eq!(users, [viewer.user_id.as_str()], "the guest backstage is not listed: {here}");
    assert_eq!(here["viewer_count"], 1);
    assert_eq!(hello["presence"]["viewer_count"], 1);
    drop(green);
    let host_token: Value =
        app.post(&format!("/api/v1/events/{event}/media-token"), Some(&host.access), json!({})).await.json().await.unwrap();
    assert_eq!(host_token["grants"]["see_backstage"], true);
    assert!(app.stage_view(&event, &host).await["members"][0]["backstage"] == false);

    // On air: everyone sees them; back backstage: hidden again. Only the host and co-hosts move people.
    let r = app.post(&format!("/api/v1/events/{event}/stage/on-air/{guest_id}"), Some(&viewer.access), json!({})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "not_allowed").await;
    let r = app.post(&format!("/api/v1/events/{event}/stage/on-air/{guest_id}"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!((&b["change"]["kind"], b["grants"].get("backstage")), (&json!("brought_on_air"), None));
    assert!(listed(&app.stage_view(&event, &viewer).await));
    let r = app.post(&format!("/api/v1/events/{event}/stage/on-air/{guest_id}"), Some(&host.access), json!({})).await;
    assert_problem(r, StatusCode::CONFLICT, "not_backstage").await;
    let r = app.post(&format!("/api/v1/events/{event}/stage/backstage/{guest_id}"), Some(&host.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!listed(&app.stage_view(&event, &viewer).await));
    let r = app.post(&format!("/api/v1/events/{event}/stage/backstage/{guest_id}"), Some(&host.access), json!({})).await;
    assert_problem(r, StatusCode::CONFLICT, "already_backstage").await;
    let r = app.post(&format!("/api/v1/events/{event}/stage/backstage/{}", host.user_id), Some(&host.access), json!({})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "not_allowed").await;
}

/// A socket's frames in the order they came, taken by kind: frames passed over while looking
/// for one kind wait for their own turn instead of being lost.
struct Frames {
    ws: Ws,
    held: std::collections::VecDeque<Value>,
}

impl Frames {
    async fn open(base: &str, event: &str, token: &str) -> Self {
        let mut frames = Frames { ws: connect(base, event, token).await, held: Default::default() };
        frames.next(|f| f["type"] == "hello").await;
        frames
    }

    /// The first frame, held or new, that `wanted` picks; panics after 5 s.
    async fn next(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(k) = self.held.iter().position(&wanted) {
            return self.held.remove(k).unwrap();
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let frame = tokio::time::timeout_at(deadline, futures::StreamExt::next(&mut self.ws)).await;
            let frame = frame.unwrap_or_else(|_| panic!("no such frame within 5 s; passed over: {:?}", self.held));
            match frame {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if wanted(&v) {
                        return v;
                    }
                    self.held.push_back(v);
                }
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(c))) => panic!("closed: {c:?}"),
                Some(Ok(_)) => {}
                other => panic!("socket ended: {other:?}"),
            }
        }
    }

    /// The kinds of the next `n` stage frames.
    async fn stage_kinds(&mut self, n: usize) -> Vec<String> {
        let mut kinds = Vec::new();
        for _ in 0..n {
            let frame = self.next(|f| f["type"] == "stage").await;
            kinds.push(frame["change"]["kind"].as_str().unwrap().to_owned());
        }
        kinds
    }

    /// The next presence frame about `user`.
    async fn presence_of(&mut self, user: &str) -> Value {
        self.next(|f| f["type"] == "presence" && f["user"]["user_id"] == user).await
    }

    /// Every stage frame that has come by now, after a pause for stragglers.
    async fn rest_of_stage(&mut self) -> Vec<String> {
        while let Ok(Some(Ok(m))) =
            tokio::time::timeout(std::time::Duration::from_millis(300), futures::StreamExt::next(&mut self.ws)).await
        {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
                self.held.push_back(serde_json::from_str(&t).unwrap());
            }
        }
        let stage = self.held.iter().filter(|f| f["type"] == "stage");
        stage.map(|f| f["change"]["kind"].as_str().unwrap().to_owned()).collect()
    }
}

impl TestApp {
    /// Who presence lists, and how many.
    async fn present(&self, event: &str, who: &Account) -> (Vec<String>, u64) {
        let here: Value = self.get(&format!("/api/v1/events/{event}/presence"), Some(&who.access)).await.json().await.unwrap();
        let users = here["users"].as_array().unwrap().iter().map(|u| u["user_id"].as_str().unwrap().to_owned()).collect();
        (users, here["viewer_count"].as_u64().unwrap())
    }

    async fn move_guest(&self, event: &str, host: &Account, guest: &str, to: &str) {
        let r = self.post(&format!("/api/v1/events/{event}/stage/{to}/{guest}"), Some(&host.access), json!({})).await;
        assert_eq!(r.status(), StatusCode::OK, "{to}");
    }
}

#[tokio::test]
async fn a_role_change_mid_socket_changes_who_hears_the_green_room_and_who_is_listed_without_reconnecting() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let viewer = app.sign_up().await;
    let promoted = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let r = app
        .post(&format!("/api/v1/events/{event}/stage/links"), Some(&host.access), json!({"role": "speaker", "max_uses": 2}))
        .await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let join = |name: &'static str| {
        let path = format!("/api/v1/guest-links/{token}/join");
        let app = &app;
        async move {
            let guest: Value = app.post(&path, None, json!({"display_name": name})).await.json().await.unwrap();
            (guest["user"]["id"].as_str().unwrap().to_owned(), guest["access_token"].as_str().unwrap().to_owned())
        }
    };
    let (guest_id, guest_access) = join("Green").await;
    // Stays in the green room throughout.
    let (_, waiting_access) = join("Waiting").await;
    // The guests' sockets open backstage (the chat knows it from the bus a moment after the join).
    let db = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let known = eventually(async || {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM chat.backstage WHERE event_id = $1::uuid")
            .bind(&event)
            .fetch_one(&db)
            .await
            .unwrap()
            == 2
    })
    .await;
    assert!(known, "the chat learns who is backstage from the bus");

    let mut host_ws = Frames::open(&app.base, &event, &host.access).await;
    let mut viewer_ws = Frames::open(&app.base, &event, &viewer.access).await;
    // The promoted user and the guest listen on the other replica, which follows their changes.
    let mut promoted_ws = Frames::open(&app.base2, &event, &promoted.access).await;
    let mut green_ws = Frames::open(&app.base2, &event, &guest_access).await;
    let mut waiting_ws = Frames::open(&app.base, &event, &waiting_access).await;
    let (users, count) = app.present(&event, &viewer).await;
    assert!(!users.contains(&guest_id) && count == 3, "the guests backstage are not listed: {users:?} {count}");

    // Made a co-host mid-socket, they hear the green room from then on.
    assert_eq!(app.put_role(&event, &host, &promoted, "cohost").await.status(), StatusCode::OK);
    assert_eq!(promoted_ws.stage_kinds(1).await, ["role_changed"]);
    // Brought on air mid-socket, the guest is listed and counted; sent back, no longer.
    app.move_guest(&event, &host, &guest_id, "on-air").await;
    let arrived = viewer_ws.presence_of(&guest_id).await;
    assert_eq!((&arrived["joined"], &arrived["viewer_count"]), (&json!(true), &json!(4)));
    let (users, count) = app.present(&event, &viewer).await;
    assert!(users.contains(&guest_id) && count == 4, "on air, the guest is listed: {users:?} {count}");
    app.move_guest(&event, &host, &guest_id, "backstage").await;
    let left = viewer_ws.presence_of(&guest_id).await;
    assert_eq!((&left["joined"], &left["viewer_count"]), (&json!(false), &json!(3)));
    let (users, count) = app.present(&event, &viewer).await;
    assert!(!users.contains(&guest_id) && count == 3, "backstage again, the guest is not listed: {users:?} {count}");
    assert_eq!(promoted_ws.stage_kinds(2).await, ["brought_on_air", "sent_backstage"], "the new co-host hears it");

    // Demoted mid-socket, they stop hearing it; frames for everyone still come.
    assert_eq!(app.put_role(&event, &host, &promoted, "audience").await.status(), StatusCode::OK);
    app.move_guest(&event, &host, &guest_id, "on-air").await;
    app.move_guest(&event, &host, &guest_id, "backstage").await;
    let r = app.post(&format!("/api/v1/events/{event}/stage/hand"), Some(&viewer.access), json!({})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        promoted_ws.stage_kinds(3).await,
        ["role_changed", "brought_on_air", "hand_raised"],
        "the former co-host no longer hears the green room"
    );
    // The audience never did; the host and the green room always do.
    let everyone = ["role_changed", "brought_on_air", "role_changed", "brought_on_air", "hand_raised"];
    assert_eq!(viewer_ws.stage_kinds(5).await, everyone);
    let backstage = ["role_changed", "brought_on_air", "sent_backstage", "role_changed", "brought_on_air", "sent_backstage"];
    for ws in [&mut host_ws, &mut green_ws, &mut waiting_ws] {
        assert_eq!(ws.stage_kinds(7).await, [&backstage[..], &["hand_raised"]].concat());
    }
    for ws in [&mut host_ws, &mut viewer_ws, &mut promoted_ws, &mut green_ws, &mut waiting_ws] {
        assert_eq!(ws.rest_of_stage().await, Vec::<String>::new(), "nothing more");
    }
}

#[tokio::test]
async fn two_guests_racing_for_a_links_last_use_leave_one_guest_and_the_other_is_told_the_link_is_used_up() {
    let app = spawn().await;
    let host = app.sign_up().await;
    let event = event_of(&app, &host).await;
    let r = app
        .post(&format!("/api/v1/events/{event}/stage/links"), Some(&host.access), json!({"role": "speaker", "max_uses": 1}))
        .await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let join = |name: &'static str| {
        let path = format!("/api/v1/guest-links/{token}/join");
        let app = &app;
        async move { app.post(&path, None, json!({"display_name": name})).await }
    };
    let (ada, bob) = tokio::join!(join("Ada"), join("Bob"));
    let (won, lost) = if ada.status() == StatusCode::CREATED { (ada, bob) } else { (bob, ada) };
    assert_eq!(won.status(), StatusCode::CREATED);
    let winner = won.json::<Value>().await.unwrap()["user"]["id"].as_str().unwrap().to_owned();
    assert_problem(lost, StatusCode::CONFLICT, "link_exhausted").await;

    let db = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let guests: Vec<String> = sqlx::query_scalar("SELECT id::text FROM auth.users WHERE guest_event_id = $1::uuid")
        .bind(&event)
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(guests, [winner], "the loser's guest identity is not left behind");
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.sessions WHERE event_id = $1::uuid")
        .bind(&event)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(sessions, 1, "nor its session");
}
