//! Compact JWS with `alg: EdDSA` (RFC 8037), and the JWK Set that publishes the verifying keys.
//!
//! Why our own few lines instead of a general JWT library: we accept exactly one algorithm, so
//! there is no `alg` negotiation to get wrong (`none`, HS/RS confusion), and the key id is
//! derived from the key itself. Invariants:
//! - a token verifies only if its header says `EdDSA`, its `kid` names a key we hold, the
//!   signature is valid under `verify_strict`, and its `iss`, `aud`, `exp` (and `nbf`) check out;
//! - [`Verifier`] never sees a private key.
#![forbid(unsafe_code)]

pub mod scope;
pub use scope::Scope;

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not EdDSA")]
    UnsupportedAlgorithm,
    #[error("the token was signed by a key we do not know")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued for another issuer or audience")]
    WrongIssuerOrAudience,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid signing key: {0}")]
pub struct KeyError(String);

/// One public key in a JWK Set (RFC 7517 / RFC 8037 `OKP`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// The registered claims every token must carry; checked before the caller's claims are parsed.
#[derive(Deserialize)]
struct Registered {
    iss: String,
    aud: String,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
}

fn kid_for(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    B64.encode(&digest[..12])
}

/// Signs tokens. Holds the private key: lives only in the auth service.
pub struct Signer {
    key: SigningKey,
    /// The same key for signing: aws-lc signs in about half the time of ed25519-dalek, and
    /// Ed25519 signatures are deterministic, so the bytes are the same either way.
    signing: aws_lc_rs::signature::Ed25519KeyPair,
    kid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// From a 32-byte Ed25519 seed, base64 (standard or URL-safe) encoded.
    pub fn from_seed_base64(seed: &str) -> Result<Self, KeyError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(seed.trim())
            .or_else(|_| B64.decode(seed.trim().trim_end_matches('=')))
            .map_err(|_| KeyError("not base64".into()))?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError("must decode to exactly 32 bytes".into()))?;
        Ok(Self::from_seed(seed))
    }

    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let kid = kid_for(&key.verifying_key());
        let signing = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(&seed).expect("any 32 bytes are an Ed25519 seed");
        Self { key, signing, kid }
    }

    /// A fresh random key (for tests and first-run development setups).
    pub fn generate() -> Self {
        Self::from_seed(rand::random())
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: B64.encode(self.key.verifying_key().as_bytes()),
            kid: self.kid.clone(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
        }
    }

    /// Signs `claims`, which must include `iss`, `aud` and `exp` (seconds since the epoch).
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        let header = Header { alg: "EdDSA".into(), typ: "JWT".into(), kid: self.kid.clone() };
        let header = B64.encode(serde_json::to_vec(&header).expect("header serialises"));
        let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let signing_input = format!("{header}.{payload}");
        let sig = self.signing.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(sig.as_ref()))
    }
}

/// Verifies tokens with public keys only.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: HashMap<String, VerifyingKey>,
    issuer: String,
    audience: String,
    /// Clock skew tolerated on `exp` / `nbf`, in seconds.
    leeway: i64,
}

impl Verifier {
    pub fn new(jwks: &Jwks, issuer: impl Into<String>, audience: impl Into<String>) -> Result<Self, KeyError> {
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
                continue;
            }
            let raw = B64.decode(&jwk.x).map_err(|_| KeyError(format!("key {} is not base64url", jwk.kid)))?;
            let raw: [u8; 32] = raw.try_into().map_err(|_| KeyError(format!("key {} is not 32 bytes", jwk.kid)))?;
            let key = VerifyingKey::from_bytes(&raw).map_err(|e| KeyError(format!("key {}: {e}", jwk.kid)))?;
            keys.insert(jwk.kid.clone(), key);
        }
        Ok(Self { keys, issuer: issuer.into(), audience: audience.into(), leeway: 5 })
    }

    pub fn knows_kid_of(&self, token: &str) -> bool {
        parse_header(token).is_ok_and(|h| self.keys.contains_key(&h.kid))
    }

    /// Verifies `token` at time `now` (seconds since the epoch) and returns its claims.
    pub fn verify<C: DeserializeOwned>(&self, token: &str, now: i64) -> Result<C, TokenError> {
        let header = parse_header(token)?;
        if header.alg != "EdDSA" {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let key = self.keys.get(&header.kid).ok_or(TokenError::UnknownKey)?;
        let (signing_input, sig_b64) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let sig = B64.decode(sig_b64).map_err(|_| TokenError::Malformed)?;
        let sig = Signature::from_slice(&sig).map_err(|_| TokenError::Malformed)?;
        key.verify_strict(signing_input.as_bytes(), &sig).map_err(|_| TokenError::BadSignature)?;
        let payload_b64 = signing_input.split_once('.').map(|(_, p)| p).ok_or(TokenError::Malformed)?;
        let payload = B64.decode(payload_b64).map_err(|_| TokenError::Malformed)?;
        let reg: Registered = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if reg.iss != self.issuer || reg.aud != self.audience {
            return Err(TokenError::WrongIssuerOrAudience);
        }
        if now > reg.exp + self.leeway {
            return Err(TokenError::Expired);
        }
        if reg.nbf.is_some_and(|nbf| now + self.leeway < nbf) {
            return Err(TokenError::NotYetValid);
        }
        serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)
    }
}

fn parse_header(token: &str) -> Result<Header, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let raw = B64.decode(h).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&raw).map_err(|_| TokenError::Malformed)
}

/// The claims of a stagecast access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    /// Session id: the refresh-token family this access token was minted from.
    pub sid: String,
    pub name: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// A guest session's event: the token is good for that event only. Absent for accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evt: Option<String>,
}

pub const ISSUER: &str = "stagecast-auth";
pub const ACCESS_AUDIENCE: &str = "stagecast-api";
/// Media tokens are for the SFU only: an access token is never accepted there, nor a media
/// token at the API, because the audiences differ.
pub const MEDIA_AUDIENCE: &str = "stagecast-media";

/// A kind of track a participant may publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    Camera,
    Microphone,
    Screen,
    ScreenAudio,
}

impl TrackSource {
    pub const ALL: [TrackSource; 4] =
        [TrackSource::Camera, TrackSource::Microphone, TrackSource::Screen, TrackSource::ScreenAudio];

    pub fn as_str(self) -> &'static str {
        match self {
            TrackSource::Camera => "camera",
            TrackSource::Microphone => "microphone",
            TrackSource::Screen => "screen",
            TrackSource::ScreenAudio => "screen_audio",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the source carries video (camera, screen) rather than audio.
    pub fn is_video(self) -> bool {
        matches!(self, TrackSource::Camera | TrackSource::Screen)
    }
}

/// What a media token lets its holder do in one room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaGrants {
    /// May receive the room's tracks.
    pub subscribe: bool,
    /// The sources the holder may publish; empty for audience members.
    pub publish: Vec<TrackSource>,
    /// Not announced to other participants (recorders, egress).
    pub hidden: bool,
    /// In the green room: the holder's tracks and presence reach only those who see the
    /// backstage, never the audience.
    #[serde(default, skip_serializing_if = "is_false")]
    pub backstage: bool,
    /// Sees and hears who is backstage (the host, co-hosts, moderators, and the backstage itself).
    #[serde(default, skip_serializing_if = "is_false")]
    pub see_backstage: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl MediaGrants {
    pub fn may_publish(&self, source: TrackSource) -> bool {
        self.publish.contains(&source)
    }
}

/// The claims of a stagecast media token, verified by the SFU with the public key only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaClaims {
    /// User id.
    pub sub: String,
    /// Display name shown to other participants.
    pub name: String,
    /// Avatar URL, empty when the user has none.
    #[serde(default)]
    pub avatar: String,
    /// The room: the event id.
    pub room: String,
    pub grants: MediaGrants,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens signed before the switch to aws-lc and those signed after are the same bytes:
    /// Ed25519 is deterministic, and both libraries implement RFC 8032.
    #[test]
    fn a_token_signature_is_the_rfc_8032_signature_of_its_signing_input() {
        use ed25519_dalek::Signer as _;
        for seed in [[0u8; 32], [7u8; 32], rand::random()] {
            let signer = Signer::from_seed(seed);
            let token = signer.sign(&claims(2_000));
            let (input, sig) = token.rsplit_once('.').unwrap();
            let expected = SigningKey::from_bytes(&seed).sign(input.as_bytes());
            assert_eq!(B64.decode(sig).unwrap(), expected.to_bytes().to_vec());
        }
    }

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            sub: "u1".into(),
            sid: "s1".into(),
            name: "Ada".into(),
            iss: ISSUER.into(),
            aud: ACCESS_AUDIENCE.into(),
            iat: 1_000,
            exp,
            jti: "j1".into(),
            evt: None,
        }
    }

    fn verifier_for(signer: &Signer) -> Verifier {
        Verifier::new(&Jwks { keys: vec![signer.jwk()] }, ISSUER, ACCESS_AUDIENCE).unwrap()
    }

    #[test]
    fn a_signed_token_verifies_with_the_published_key_only() {
        let signer = Signer::generate();
        let token = signer.sign(&claims(2_000));
        let got: AccessClaims = verifier_for(&signer).verify(&token, 1_500).unwrap();
        assert_eq!(got, claims(2_000));
        let other = Signer::generate();
        assert_eq!(verifier_for(&other).verify::<AccessClaims>(&token, 1_500), Err(TokenError::UnknownKey));
    }

    #[test]
    fn a_token_with_a_changed_payload_is_refused() {
        let signer = Signer::generate();
        let token = signer.sign(&claims(2_000));
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims(2_000);
        forged.sub = "admin".into();
        let forged_payload = B64.encode(serde_json::to_vec(&forged).unwrap());
        parts[1] = &forged_payload;
        let forged_token = parts.join(".");
        assert_eq!(verifier_for(&signer).verify::<AccessClaims>(&forged_token, 1_500), Err(TokenError::BadSignature));
    }

    #[test]
    fn an_expired_token_is_refused_after_the_leeway() {
        let signer = Signer::generate();
        let token = signer.sign(&claims(2_000));
        let v = verifier_for(&signer);
        assert!(v.verify::<AccessClaims>(&token, 2_004).is_ok());
        assert_eq!(v.verify::<AccessClaims>(&token, 2_006), Err(TokenError::Expired));
    }

    #[test]
    fn alg_none_and_hs256_headers_are_refused() {
        let signer = Signer::generate();
        let token = signer.sign(&claims(2_000));
        let (_, rest) = token.split_once('.').unwrap();
        for alg in ["none", "HS256"] {
            let header = B64.encode(format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{}"}}"#, signer.kid()));
            let t = format!("{header}.{rest}");
            assert_eq!(verifier_for(&signer).verify::<AccessClaims>(&t, 1_500), Err(TokenError::UnsupportedAlgorithm));
        }
    }

    #[test]
    fn garbage_and_wrong_audience_are_refused() {
        let signer = Signer::generate();
        let v = verifier_for(&signer);
        for t in ["", "a.b", "a.b.c.d", "!!!.???.###"] {
            assert_eq!(v.verify::<AccessClaims>(t, 0), Err(TokenError::Malformed), "{t}");
        }
        let mut c = claims(2_000);
        c.aud = "stagecast-media".into();
        assert_eq!(v.verify::<AccessClaims>(&signer.sign(&c), 1_500), Err(TokenError::WrongIssuerOrAudience));
    }

    #[test]
    fn seed_round_trips_through_base64() {
        let seed = [7u8; 32];
        let a = Signer::from_seed(seed);
        let b = Signer::from_seed_base64(&base64::engine::general_purpose::STANDARD.encode(seed)).unwrap();
        assert_eq!(a.jwk(), b.jwk());
        assert!(Signer::from_seed_base64("c2hvcnQ=").is_err());
    }
}
