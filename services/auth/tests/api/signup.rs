use stagecast_authn::{ACCESS_AUDIENCE, AccessClaims, ISSUER, Jwk, Jwks, Verifier};
use stagecast_proto::auth::v1 as pb;
use tonic::Code;

use crate::helpers::{code, spawn, unique_email};

async fn verifier(app: &crate::helpers::TestApp) -> Verifier {
    let jwks = app.client.clone().get_jwks(pb::GetJwksRequest {}).await.unwrap().into_inner();
    let jwks = Jwks {
        keys: jwks
            .keys
            .into_iter()
            .map(|k| Jwk { kty: k.kty, crv: k.crv, x: k.x, kid: k.kid, alg: k.alg, use_: k.r#use })
            .collect(),
    };
    Verifier::new(&jwks, ISSUER, ACCESS_AUDIENCE).unwrap()
}

#[tokio::test]
async fn sign_up_returns_an_access_token_that_verifies_with_the_published_keys() {
    let app = spawn().await;
    let email = unique_email();
    let s = app.sign_up(&email, "correct horse battery").await.unwrap();
    let claims: AccessClaims = verifier(&app).await.verify(&s.access_token, chrono_now()).unwrap();
    let user = s.user.unwrap();
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.sid, s.session_id);
    assert_eq!(user.email, email);
    assert_eq!(s.expires_in, 900);
    // Only a hash of the password is stored, and it is argon2id.
    assert_eq!(app.count("SELECT count(*) FROM auth.users WHERE password_hash LIKE '$argon2id$%'").await, 1);
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_and_creates_nothing() {
    let app = spawn().await;
    let email = unique_email();
    app.sign_up(&email, "correct horse battery").await.unwrap();
    let err = app.sign_up(&email.to_uppercase(), "another password").await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(code(&err), "email_taken");
    assert_eq!(app.count("SELECT count(*) FROM auth.users").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM auth.sessions").await, 1);
}

#[tokio::test]
async fn invalid_sign_up_input_is_refused_with_a_specific_code_and_changes_nothing() {
    let app = spawn().await;
    let cases = [
        ("not-an-email", "correct horse battery", "Ada", "invalid_email"),
        (&unique_email() as &str, "short", "Ada", "password_too_short"),
        (&unique_email() as &str, "correct horse battery", "   ", "display_name_required"),
    ];
    for (email, password, name, want) in cases {
        let err = app
            .client
            .clone()
            .sign_up(pb::SignUpRequest { email: email.into(), password: password.into(), display_name: name.into() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{want}");
        assert_eq!(code(&err), want);
    }
    assert_eq!(app.count("SELECT count(*) FROM auth.users").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM auth.outbox").await, 0);
}

#[tokio::test]
async fn sign_in_accepts_the_right_password_and_refuses_a_wrong_one_or_unknown_email_alike() {
    let app = spawn().await;
    let email = unique_email();
    app.sign_up(&email, "correct horse battery").await.unwrap();
    let ok =
        app.client.clone().sign_in(pb::SignInRequest { email: email.clone(), password: "correct horse battery".into() }).await;
    assert!(ok.is_ok());
    let wrong =
        app.client.clone().sign_in(pb::SignInRequest { email, password: "wrong horse battery".into() }).await.unwrap_err();
    let unknown = app
        .client
        .clone()
        .sign_in(pb::SignInRequest { email: unique_email(), password: "correct horse battery".into() })
        .await
        .unwrap_err();
    for err in [&wrong, &unknown] {
        assert_eq!(err.code(), Code::Unauthenticated);
        assert_eq!(code(err), "invalid_credentials");
        assert_eq!(err.message(), "email or password is wrong");
    }
}

#[tokio::test]
async fn profile_can_be_read_and_updated_and_bad_values_are_refused() {
    let app = spawn().await;
    let s = app.sign_up(&unique_email(), "correct horse battery").await.unwrap();
    let id = s.user.unwrap().id;
    let p = app
        .client
        .clone()
        .update_profile(pb::UpdateProfileRequest {
            user_id: id.clone(),
            display_name: Some("Grace".into()),
            avatar_url: Some("https://cdn.example.com/g.png".into()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((p.display_name.as_str(), p.avatar_url.as_str()), ("Grace", "https://cdn.example.com/g.png"));
    let err = app
        .client
        .clone()
        .update_profile(pb::UpdateProfileRequest {
            user_id: id.clone(),
            display_name: None,
            avatar_url: Some("javascript:x".into()),
        })
        .await
        .unwrap_err();
    assert_eq!(code(&err), "invalid_avatar_url");
    let got = app.client.clone().get_profile(pb::GetProfileRequest { user_id: id }).await.unwrap().into_inner();
    assert_eq!(got.avatar_url, "https://cdn.example.com/g.png");
}

#[tokio::test]
async fn sign_up_announces_the_new_user_on_the_bus_exactly_once() {
    use futures::StreamExt;
    let app = spawn().await;
    let s = app.sign_up(&unique_email(), "correct horse battery").await.unwrap();
    let user_id = s.user.unwrap().id;
    let nats = async_nats::connect(stagecast_testkit::nats_url()).await.unwrap();
    let js = async_nats::jetstream::new(nats);
    let stream = js.get_stream("STAGECAST").await.unwrap();
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            filter_subject: format!("stagecast.auth.v1.user.{user_id}.>"),
            deliver_policy: async_nats::jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..20 {
        let mut batch =
            consumer.fetch().max_messages(10).expires(std::time::Duration::from_millis(250)).messages().await.unwrap();
        while let Some(Ok(m)) = batch.next().await {
            got.push(stagecast_bus::Envelope::decode(&m.payload).unwrap());
            m.ack().await.unwrap();
        }
        if !got.is_empty() && app.count("SELECT count(*) FROM auth.outbox WHERE published_at IS NULL").await == 0 {
            break;
        }
    }
    assert_eq!(got.len(), 1, "one message per sign-up");
    let msg: pb::UserSignedUp = got[0].open().unwrap();
    assert_eq!(msg.user_id, user_id);
}
