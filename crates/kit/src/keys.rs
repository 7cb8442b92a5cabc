//! The auth service's public keys, fetched over gRPC and cached, so tokens are verified locally
//! without a call per request. An unknown `kid` triggers one refresh (key rotation), at most
//! every few seconds so forged kids cannot make us hammer the auth service.
//!
//! One store per audience: the gateway verifies access tokens, the SFU media tokens; the keys
//! are the same, the audience check is not.
use std::time::{Duration, Instant};

use stagecast_authn::{ISSUER, Jwk, Jwks, Verifier};
use stagecast_proto::auth::v1::{GetJwksRequest, auth_service_client::AuthServiceClient};
use stagecast_telemetry::grpc::PropagateTrace;
use tokio::sync::RwLock;
use tonic::{service::interceptor::InterceptedService, transport::Channel};

use crate::ApiError;

const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

pub type AuthClient = AuthServiceClient<InterceptedService<Channel, PropagateTrace>>;

pub struct KeyStore {
    client: AuthClient,
    audience: &'static str,
    cached: RwLock<Cached>,
}

struct Cached {
    jwks: Jwks,
    verifier: Option<Verifier>,
    fetched_at: Option<Instant>,
}

impl KeyStore {
    pub fn new(client: AuthClient, audience: &'static str) -> Self {
        Self { client, audience, cached: RwLock::new(Cached { jwks: Jwks::default(), verifier: None, fetched_at: None }) }
    }

    /// A verifier that knows the key `token` names, refreshing the key set if needed.
    pub async fn verifier_for(&self, token: &str) -> Result<Verifier, ApiError> {
        {
            let c = self.cached.read().await;
            if let Some(v) = &c.verifier {
                let fresh_enough = c.fetched_at.is_some_and(|t| t.elapsed() < MIN_REFRESH_INTERVAL);
                if v.knows_kid_of(token) || fresh_enough {
                    return Ok(v.clone());
                }
            }
        }
        self.refresh().await
    }

    pub async fn jwks(&self) -> Result<Jwks, ApiError> {
        {
            let c = self.cached.read().await;
            if c.verifier.is_some() {
                return Ok(c.jwks.clone());
            }
        }
        self.refresh().await?;
        Ok(self.cached.read().await.jwks.clone())
    }

    async fn refresh(&self) -> Result<Verifier, ApiError> {
        let mut c = self.cached.write().await;
        // Another request may have refreshed while we waited for the lock.
        if let (Some(v), Some(t)) = (&c.verifier, c.fetched_at)
            && t.elapsed() < MIN_REFRESH_INTERVAL
        {
            return Ok(v.clone());
        }
        let resp = self.client.clone().get_jwks(GetJwksRequest {}).await.map_err(|s| ApiError::from_status(&s))?;
        let jwks = Jwks {
            keys: resp
                .into_inner()
                .keys
                .into_iter()
                .map(|k| Jwk { kty: k.kty, crv: k.crv, x: k.x, kid: k.kid, alg: k.alg, use_: k.r#use })
                .collect(),
        };
        let verifier = Verifier::new(&jwks, ISSUER, self.audience).map_err(ApiError::internal)?;
        c.jwks = jwks;
        c.verifier = Some(verifier.clone());
        c.fetched_at = Some(Instant::now());
        Ok(verifier)
    }
}
