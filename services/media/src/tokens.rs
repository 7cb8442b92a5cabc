//! Media tokens, checked here with the auth service's public key: the SFU never calls auth per
//! join, and a token for another audience (an API access token) is refused.
use http::HeaderMap;
use stagecast_authn::{MediaClaims, TokenError, Verifier};
use stagecast_kit::{ApiError, keys::KeyStore};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The bearer token in `headers`, or why there is none.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthenticated(
                "missing_token",
                "send a media token as Authorization: Bearer <token> (POST /api/v1/events/{id}/media-token)",
            )
        })
}

/// The claims of `token` at time `now`, with the refusal a client can act on.
pub fn verify(verifier: &Verifier, token: &str, now: i64) -> Result<MediaClaims, ApiError> {
    verifier.verify::<MediaClaims>(token, now).map_err(|e| {
        let code = match e {
            TokenError::Expired => "token_expired",
            _ => "invalid_token",
        };
        ApiError::unauthenticated(code, format!("{e}; get a new media token for this event"))
    })
}

/// The verified claims of the bearer token in `headers`.
pub async fn verify_bearer(keys: &KeyStore, headers: &HeaderMap) -> Result<MediaClaims, ApiError> {
    let token = bearer(headers)?;
    let verifier = keys.verifier_for(token).await?;
    verify(&verifier, token, now())
}

#[cfg(test)]
mod tests {
    use stagecast_authn::{ACCESS_AUDIENCE, ISSUER, Jwks, MEDIA_AUDIENCE, MediaGrants, Signer};

    use super::*;

    fn claims(aud: &str, exp: i64) -> MediaClaims {
        MediaClaims {
            sub: "u1".into(),
            name: "Ada".into(),
            avatar: String::new(),
            room: "r1".into(),
            grants: MediaGrants { subscribe: true, publish: vec![], hidden: false, ..Default::default() },
            iss: ISSUER.into(),
            aud: aud.into(),
            iat: 1_000,
            exp,
            jti: "j".into(),
        }
    }

    fn verifier(signer: &Signer) -> Verifier {
        Verifier::new(&Jwks { keys: vec![signer.jwk()] }, ISSUER, MEDIA_AUDIENCE).expect("verifier")
    }

    #[test]
    fn an_expired_media_token_is_refused_with_a_code_that_says_so() {
        let signer = Signer::generate();
        let token = signer.sign(&claims(MEDIA_AUDIENCE, 2_000));
        assert!(verify(&verifier(&signer), &token, 1_500).is_ok());
        let e = verify(&verifier(&signer), &token, 2_100).expect_err("expired");
        assert_eq!(e.code, "token_expired");
        assert!(e.message.contains("new media token"), "{}", e.message);
    }

    #[test]
    fn a_forged_token_or_one_for_the_api_is_invalid() {
        let signer = Signer::generate();
        let api = signer.sign(&claims(ACCESS_AUDIENCE, 2_000));
        assert_eq!(verify(&verifier(&signer), &api, 1_500).expect_err("wrong audience").code, "invalid_token");
        let other = Signer::generate().sign(&claims(MEDIA_AUDIENCE, 2_000));
        assert_eq!(verify(&verifier(&signer), &other, 1_500).expect_err("unknown key").code, "invalid_token");
    }

    #[test]
    fn a_missing_or_empty_bearer_is_named() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h).expect_err("none").code, "missing_token");
        h.insert(http::header::AUTHORIZATION, "Bearer  ".parse().expect("header"));
        assert_eq!(bearer(&h).expect_err("empty").code, "missing_token");
        h.insert(http::header::AUTHORIZATION, "Bearer abc".parse().expect("header"));
        assert_eq!(bearer(&h).expect("present"), "abc");
    }
}
