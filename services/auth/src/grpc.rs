//! The tonic edge: proto in, domain types through the use cases, proto out.
use std::sync::Arc;

use stagecast_authn::{MediaGrants, TrackSource};
use stagecast_ids::EventId;
use stagecast_kit::ApiError;
use stagecast_proto::auth::v1::{self as pb, auth_service_server::AuthService, tokens_service_server::TokensService};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    domain::{ApiKeyName, ApiKeySecret, AvatarUrl, DisplayName, Email, Password, RefreshToken, parse_scopes},
    service::{Auth, Session},
    store::{ApiKeyRow, UserRow},
};

pub struct AuthGrpc {
    auth: Arc<Auth>,
}

impl AuthGrpc {
    pub fn new(auth: Arc<Auth>) -> Self {
        Self { auth }
    }
}

fn profile(u: &UserRow) -> pb::Profile {
    pb::Profile {
        id: u.id.to_string(),
        email: u.email.clone().unwrap_or_default(),
        display_name: u.display_name.clone(),
        avatar_url: u.avatar_url.clone().unwrap_or_default(),
        created_at: Some(prost_types::Timestamp {
            seconds: u.created_at.timestamp(),
            nanos: u.created_at.timestamp_subsec_nanos() as i32,
        }),
        guest_event_id: u.guest_event_id.map(|e| e.to_string()).unwrap_or_default(),
    }
}

fn session(s: Session) -> pb::SessionResponse {
    pb::SessionResponse {
        access_token: s.access_token,
        refresh_token: s.refresh_token.expose().to_owned(),
        expires_in: s.expires_in.as_secs() as i64,
        user: Some(profile(&s.user)),
        session_id: s.session_id.to_string(),
    }
}

fn api_key(k: ApiKeyRow) -> pb::ApiKey {
    pb::ApiKey {
        id: k.id.to_string(),
        name: k.name,
        scopes: k.scopes,
        prefix: k.prefix,
        created_at_unix: k.created_at.timestamp(),
        expires_at_unix: k.expires_at.map(|t| t.timestamp()),
        last_used_at_unix: k.last_used_at.map(|t| t.timestamp()),
        revoked_at_unix: k.revoked_at.map(|t| t.timestamp()),
    }
}

fn user_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::invalid("invalid_user_id", "user_id must be a UUID"))
}

/// The grants of a mint request, as the domain type the token carries. Sources are sorted and
/// deduplicated so equal grants always sign to equal claims.
fn media_grants(g: Option<pb::MediaGrants>) -> Result<MediaGrants, ApiError> {
    let g = g.ok_or_else(|| ApiError::invalid("grants_required", "grants is required"))?;
    let mut publish = g
        .publish
        .iter()
        .map(|s| {
            TrackSource::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "unknown_track_source",
                    format!(
                        "unknown track source {:?}; expected camera, microphone, screen or screen_audio",
                        s.chars().take(40).collect::<String>()
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    publish.sort();
    publish.dedup();
    Ok(MediaGrants { subscribe: g.subscribe, publish, hidden: g.hidden, backstage: g.backstage, see_backstage: g.see_backstage })
}

/// Serves `stagecast.auth.v1.TokensService` on the same use cases (and signing key) as
/// [`AuthGrpc`].
pub struct TokensGrpc {
    auth: Arc<Auth>,
}

impl TokensGrpc {
    pub fn new(auth: Arc<Auth>) -> Self {
        Self { auth }
    }
}

#[tonic::async_trait]
impl TokensService for TokensGrpc {
    async fn mint_media_token(&self, req: Request<pb::MintMediaTokenRequest>) -> Result<Response<pb::MediaToken>, Status> {
        let r = req.into_inner();
        let room = EventId::parse(&r.event_id)?;
        let user = user_id(&r.user_id)?;
        let grants = media_grants(r.grants)?;
        let minted = self.auth.mint_media_token(room, user, grants).await?;
        Ok(Response::new(pb::MediaToken { token: minted.token, expires_in: minted.expires_in.as_secs() as i64 }))
    }
}

#[tonic::async_trait]
impl AuthService for AuthGrpc {
    async fn sign_up(&self, req: Request<pb::SignUpRequest>) -> Result<Response<pb::SessionResponse>, Status> {
        let r = req.into_inner();
        let email = Email::parse(&r.email)?;
        let name = DisplayName::parse(&r.display_name)?;
        let password = Password::parse(r.password)?;
        Ok(Response::new(session(self.auth.sign_up(email, password, name).await?)))
    }

    async fn sign_in(&self, req: Request<pb::SignInRequest>) -> Result<Response<pb::SessionResponse>, Status> {
        let r = req.into_inner();
        // A malformed email cannot have an account: same answer as a wrong password.
        let email =
            Email::parse(&r.email).map_err(|_| ApiError::unauthenticated("invalid_credentials", "email or password is wrong"))?;
        let password = Password::for_sign_in(r.password)?;
        Ok(Response::new(session(self.auth.sign_in(email, password).await?)))
    }

    async fn refresh(&self, req: Request<pb::RefreshRequest>) -> Result<Response<pb::SessionResponse>, Status> {
        let token = RefreshToken::parse(&req.into_inner().refresh_token)?;
        Ok(Response::new(session(self.auth.refresh(token).await?)))
    }

    async fn sign_out(&self, req: Request<pb::SignOutRequest>) -> Result<Response<pb::SignOutResponse>, Status> {
        let token = RefreshToken::parse(&req.into_inner().refresh_token)?;
        let session_id = self.auth.sign_out(token).await?;
        Ok(Response::new(pb::SignOutResponse { session_id: session_id.to_string() }))
    }

    async fn get_profile(&self, req: Request<pb::GetProfileRequest>) -> Result<Response<pb::Profile>, Status> {
        let id = user_id(&req.into_inner().user_id)?;
        Ok(Response::new(profile(&self.auth.profile(id).await?)))
    }

    async fn update_profile(&self, req: Request<pb::UpdateProfileRequest>) -> Result<Response<pb::Profile>, Status> {
        let r = req.into_inner();
        let id = user_id(&r.user_id)?;
        let name = r.display_name.as_deref().map(DisplayName::parse).transpose()?;
        let avatar = r.avatar_url.as_deref().map(AvatarUrl::parse).transpose()?;
        if name.is_none() && avatar.is_none() {
            return Err(ApiError::invalid("nothing_to_update", "give display_name and/or avatar_url").into());
        }
        Ok(Response::new(profile(&self.auth.update_profile(id, name, avatar).await?)))
    }

    async fn get_jwks(&self, _req: Request<pb::GetJwksRequest>) -> Result<Response<pb::Jwks>, Status> {
        let keys = self
            .auth
            .jwks()
            .keys
            .into_iter()
            .map(|k| pb::Jwk { kty: k.kty, crv: k.crv, x: k.x, kid: k.kid, alg: k.alg, r#use: k.use_ })
            .collect();
        Ok(Response::new(pb::Jwks { keys }))
    }

    async fn check_session(&self, req: Request<pb::CheckSessionRequest>) -> Result<Response<pb::CheckSessionResponse>, Status> {
        let id = Uuid::parse_str(&req.into_inner().session_id)
            .map_err(|_| ApiError::invalid("invalid_session_id", "session_id must be a UUID"))?;
        Ok(Response::new(pb::CheckSessionResponse { active: self.auth.check_session(id).await? }))
    }

    async fn list_revoked_sessions(
        &self,
        req: Request<pb::ListRevokedSessionsRequest>,
    ) -> Result<Response<pb::ListRevokedSessionsResponse>, Status> {
        let since = chrono::DateTime::from_timestamp(req.into_inner().revoked_since_unix, 0)
            .ok_or_else(|| ApiError::invalid("invalid_revoked_since", "revoked_since_unix is out of range"))?;
        let ids = self.auth.revoked_sessions_since(since).await?;
        Ok(Response::new(pb::ListRevokedSessionsResponse { session_ids: ids.iter().map(Uuid::to_string).collect() }))
    }

    async fn create_api_key(&self, req: Request<pb::CreateApiKeyRequest>) -> Result<Response<pb::CreatedApiKey>, Status> {
        let r = req.into_inner();
        let user = user_id(&r.user_id)?;
        let name = ApiKeyName::parse(&r.name)?;
        let scopes = parse_scopes(&r.scopes)?;
        let expires_at = r
            .expires_at_unix
            .map(|t| {
                chrono::DateTime::from_timestamp(t, 0)
                    .ok_or_else(|| ApiError::invalid("invalid_expires_at", "expires_at is out of range"))
            })
            .transpose()?;
        let (row, secret) = self.auth.create_api_key(user, name, scopes, expires_at).await?;
        Ok(Response::new(pb::CreatedApiKey { key: Some(api_key(row)), secret: secret.expose().to_owned() }))
    }

    async fn list_api_keys(&self, req: Request<pb::ListApiKeysRequest>) -> Result<Response<pb::ApiKeyList>, Status> {
        let user = user_id(&req.into_inner().user_id)?;
        let keys = self.auth.api_keys(user).await?.into_iter().map(api_key).collect();
        Ok(Response::new(pb::ApiKeyList { keys }))
    }

    async fn revoke_api_key(&self, req: Request<pb::RevokeApiKeyRequest>) -> Result<Response<pb::ApiKey>, Status> {
        let r = req.into_inner();
        let user = user_id(&r.user_id)?;
        let key = Uuid::parse_str(&r.key_id).map_err(|_| ApiError::not_found("api_key_not_found", "no API key with this id"))?;
        Ok(Response::new(api_key(self.auth.revoke_api_key(user, key).await?)))
    }

    async fn verify_api_key(&self, req: Request<pb::VerifyApiKeyRequest>) -> Result<Response<pb::VerifiedApiKey>, Status> {
        let secret = ApiKeySecret::parse(&req.into_inner().secret)?;
        let (row, display_name) = self.auth.verify_api_key(secret).await?;
        Ok(Response::new(pb::VerifiedApiKey {
            key_id: row.id.to_string(),
            user_id: row.user_id.to_string(),
            display_name,
            scopes: row.scopes,
        }))
    }

    async fn create_guest(&self, req: Request<pb::CreateGuestRequest>) -> Result<Response<pb::SessionResponse>, Status> {
        let r = req.into_inner();
        let name = DisplayName::parse(&r.display_name)?;
        let avatar = AvatarUrl::parse(&r.avatar_url)?;
        let event = EventId::parse(&r.event_id)?;
        Ok(Response::new(session(self.auth.create_guest(name, avatar, event).await?)))
    }

    async fn delete_guest(&self, req: Request<pb::DeleteGuestRequest>) -> Result<Response<pb::DeleteGuestResponse>, Status> {
        let r = req.into_inner();
        let id = user_id(&r.user_id)?;
        let event = EventId::parse(&r.event_id)?;
        self.auth.delete_guest(id, event).await?;
        Ok(Response::new(pb::DeleteGuestResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(publish: &[&str]) -> Option<pb::MediaGrants> {
        Some(pb::MediaGrants {
            subscribe: true,
            publish: publish.iter().map(|s| s.to_string()).collect(),
            hidden: false,
            ..Default::default()
        })
    }

    #[test]
    fn media_grants_parse_sources_sorted_and_without_duplicates() {
        let g = media_grants(grants(&["screen", "camera", "screen", "microphone"])).unwrap_or_default();
        assert_eq!(g.publish, vec![TrackSource::Camera, TrackSource::Microphone, TrackSource::Screen]);
        assert!(g.subscribe && !g.hidden);
    }

    #[test]
    fn unknown_track_sources_and_missing_grants_are_refused_with_a_code() {
        let code = |g| media_grants(g).err().map(|e| e.code.into_owned()).unwrap_or_default();
        assert_eq!(code(grants(&["camera", "hologram"])), "unknown_track_source");
        assert_eq!(code(grants(&["Camera"])), "unknown_track_source");
        assert_eq!(code(None), "grants_required");
    }
}
