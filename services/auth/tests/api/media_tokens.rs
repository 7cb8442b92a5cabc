//! Media tokens: minted for the SFU, verifiable with the public keys under the media audience only.

use stagecast_authn::{
    ACCESS_AUDIENCE, AccessClaims, ISSUER, Jwks, MEDIA_AUDIENCE, MediaClaims, TokenError, TrackSource, Verifier,
};
use stagecast_proto::auth::v1 as pb;
use tonic::Code;

use crate::helpers::{TestApp, code, spawn, unique_email};

fn host_grants() -> pb::MediaGrants {
    pb::MediaGrants {
        subscribe: true,
        publish: vec!["camera".into(), "microphone".into(), "screen".into(), "screen_audio".into()],
        hidden: false,
        ..Default::default()
    }
}

fn request(event_id: &str, user_id: &str, grants: pb::MediaGrants) -> pb::MintMediaTokenRequest {
    pb::MintMediaTokenRequest { event_id: event_id.into(), user_id: user_id.into(), grants: Some(grants) }
}

fn event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl TestApp {
    async fn jwks(&self) -> Jwks {
        let keys = self.client.clone().get_jwks(pb::GetJwksRequest {}).await.unwrap().into_inner().keys;
        Jwks {
            keys: keys
                .into_iter()
                .map(|k| stagecast_authn::Jwk { kty: k.kty, crv: k.crv, x: k.x, kid: k.kid, alg: k.alg, use_: k.r#use })
                .collect(),
        }
    }

    async fn mint(&self, r: pb::MintMediaTokenRequest) -> Result<pb::MediaToken, tonic::Status> {
        self.tokens.clone().mint_media_token(r).await.map(|r| r.into_inner())
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_media_token_verifies_with_the_jwks_and_carries_the_profile_and_grants() {
    let app = spawn().await;
    let user = app.sign_up(&unique_email(), "correct horse battery").await.unwrap().user.unwrap();
    let room = event_id();
    let minted = app.mint(request(&room, &user.id, host_grants())).await.unwrap();
    assert_eq!(minted.expires_in, 300);

    let verifier = Verifier::new(&app.jwks().await, ISSUER, MEDIA_AUDIENCE).unwrap();
    let claims: MediaClaims = verifier.verify(&minted.token, now()).unwrap();
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.name, "Ada Lovelace");
    assert_eq!(claims.avatar, "");
    assert_eq!(claims.room, room);
    assert_eq!(claims.grants.publish, TrackSource::ALL.to_vec());
    assert!(claims.grants.subscribe && !claims.grants.hidden);
    assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISSUER, MEDIA_AUDIENCE));
    assert_eq!(claims.exp - claims.iat, 300);
    assert!((claims.iat - now()).abs() <= 5);
    assert_eq!(verifier.verify::<MediaClaims>(&minted.token, claims.exp + 10), Err(TokenError::Expired));
}

#[tokio::test]
async fn a_media_token_is_refused_where_access_tokens_are_checked() {
    let app = spawn().await;
    let session = app.sign_up(&unique_email(), "correct horse battery").await.unwrap();
    let user = session.user.unwrap();
    let minted = app.mint(request(&event_id(), &user.id, host_grants())).await.unwrap();
    let jwks = app.jwks().await;
    let api = Verifier::new(&jwks, ISSUER, ACCESS_AUDIENCE).unwrap();
    assert_eq!(api.verify::<AccessClaims>(&minted.token, now()), Err(TokenError::WrongIssuerOrAudience));
    // And the other way round: the SFU does not take an access token.
    let media = Verifier::new(&jwks, ISSUER, MEDIA_AUDIENCE).unwrap();
    assert_eq!(media.verify::<MediaClaims>(&session.access_token, now()), Err(TokenError::WrongIssuerOrAudience));
}

#[tokio::test]
async fn a_media_token_shows_the_current_display_name_and_avatar() {
    let app = spawn().await;
    let user = app.sign_up(&unique_email(), "correct horse battery").await.unwrap().user.unwrap();
    app.client
        .clone()
        .update_profile(pb::UpdateProfileRequest {
            user_id: user.id.clone(),
            display_name: Some("Countess".into()),
            avatar_url: Some("https://cdn.example.com/ada.png".into()),
        })
        .await
        .unwrap();
    let audience = pb::MediaGrants { subscribe: true, publish: vec![], hidden: false, ..Default::default() };
    let minted = app.mint(request(&event_id(), &user.id, audience)).await.unwrap();
    let claims: MediaClaims =
        Verifier::new(&app.jwks().await, ISSUER, MEDIA_AUDIENCE).unwrap().verify(&minted.token, now()).unwrap();
    assert_eq!((claims.name.as_str(), claims.avatar.as_str()), ("Countess", "https://cdn.example.com/ada.png"));
    assert!(claims.grants.publish.is_empty());
}

#[tokio::test]
async fn minting_for_an_unknown_user_is_not_found() {
    let app = spawn().await;
    let err = app.mint(request(&event_id(), &uuid::Uuid::new_v4().to_string(), host_grants())).await.unwrap_err();
    assert_eq!((err.code(), code(&err).as_str()), (Code::NotFound, "user_not_found"));
}

#[tokio::test]
async fn a_bad_event_id_or_an_unknown_source_is_an_invalid_argument() {
    let app = spawn().await;
    let user = app.sign_up(&unique_email(), "correct horse battery").await.unwrap().user.unwrap();
    let err = app.mint(request("not-an-event", &user.id, host_grants())).await.unwrap_err();
    assert_eq!((err.code(), code(&err).as_str()), (Code::InvalidArgument, "invalid_event_id"));
    let bad = pb::MediaGrants { publish: vec!["camera".into(), "smell".into()], ..host_grants() };
    let err = app.mint(request(&event_id(), &user.id, bad)).await.unwrap_err();
    assert_eq!((err.code(), code(&err).as_str()), (Code::InvalidArgument, "unknown_track_source"));
    assert!(err.message().contains("\"smell\""), "{}", err.message());
    let err = app.mint(request(&event_id(), "someone", host_grants())).await.unwrap_err();
    assert_eq!(code(&err), "invalid_user_id");
}

#[tokio::test]
async fn the_tokens_service_reports_serving_on_the_health_service() {
    let app = spawn().await;
    assert_eq!(
        app.health_of("stagecast.auth.v1.TokensService").await,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}
