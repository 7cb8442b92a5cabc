//! EdDSA (Ed25519) JSON Web Tokens through jsonwebtoken, and the JWK Set that publishes the
//! verifying keys.
//!
//! Invariants:
//! - a token verifies only if its header says `EdDSA` (no `alg` negotiation: `none` and HS/RS
//!   confusion are refused before any key is looked at), its `kid` names a key we hold, its
//!   signature is valid, and its `iss`, `aud`, `exp` (and `nbf`) check out;
//! - the key id is derived from the key itself;
//! - [`Verifier`] never sees a private key.
#![forbid(unsafe_code)]

pub mod scope;
pub use scope::Scope;

mod provider;

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
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

/// The registered claims every token must carry; checked before the caller's claims are parsed.
#[derive(Deserialize)]
struct Registered {
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
}

fn kid_for(public_key: &[u8]) -> String {
    let digest = Sha256::digest(public_key);
    B64.encode(&digest[..12])
}

/// Signs tokens. Holds the private key: lives only in the auth service.
pub struct Signer {
    key: EncodingKey,
    header: Header,
    public_key: Vec<u8>,
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
        use aws_lc_rs::signature::KeyPair as _;
        provider::install();
        let pair = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(&seed).expect("any 32 bytes are an Ed25519 seed");
        let public_key = pair.public_key().as_ref().to_vec();
        let pkcs8 = pair.to_pkcs8().expect("an Ed25519 key pair encodes as PKCS#8");
        let kid = kid_for(&public_key);
        let header = Header { typ: Some("JWT".into()), kid: Some(kid.clone()), ..Header::new(Algorithm::EdDSA) };
        Self { key: EncodingKey::from_ed_der(pkcs8.as_ref()), header, public_key, kid }
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
            x: B64.encode(&self.public_key),
            kid: self.kid.clone(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
        }
    }

    /// Signs `claims`, which must include `iss`, `aud` and `exp` (seconds since the epoch).
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        // Cannot fail: the key was made here as an Ed25519 PKCS#8 document, the header says EdDSA,
        // and the claims are plain structs.
        jsonwebtoken::encode(&self.header, claims, &self.key).expect("an EdDSA token signs")
    }
}

/// Verifies tokens with public keys only.
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    /// Checks the algorithm, the signature, `iss` and `aud`; `exp` and `nbf` are checked here
    /// against the caller's clock instead, so that time is an input (and tests can set it).
    validation: Validation,
    /// Clock skew tolerated on `exp` / `nbf`, in seconds.
    leeway: i64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("kids", &self.keys.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl Verifier {
    pub fn new(jwks: &Jwks, issuer: impl Into<String>, audience: impl Into<String>) -> Result<Self, KeyError> {
        provider::install();
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
                continue;
            }
            let raw = B64.decode(&jwk.x).map_err(|_| KeyError(format!("key {} is not base64url", jwk.kid)))?;
            if raw.len() != 32 {
                return Err(KeyError(format!("key {} is not 32 bytes", jwk.kid)));
            }
            let key = DecodingKey::from_ed_components(&jwk.x).map_err(|e| KeyError(format!("key {}: {e}", jwk.kid)))?;
            keys.insert(jwk.kid.clone(), key);
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[issuer.into()]);
        validation.set_audience(&[audience.into()]);
        Ok(Self { keys, validation, leeway: 5 })
    }

    pub fn knows_kid_of(&self, token: &str) -> bool {
        jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid).is_some_and(|kid| self.keys.contains_key(&kid))
    }

    /// Verifies `token` at time `now` (seconds since the epoch) and returns its claims.
    pub fn verify<C: DeserializeOwned>(&self, token: &str, now: i64) -> Result<C, TokenError> {
        if token.split('.').count() != 3 {
            return Err(TokenError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| refusal_of_header(token))?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let key = header.kid.as_deref().and_then(|kid| self.keys.get(kid)).ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<serde_json::Value>(token, key, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => TokenError::UnsupportedAlgorithm,
            ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => TokenError::WrongIssuerOrAudience,
            _ => TokenError::Malformed,
        })?;
        let reg = Registered::deserialize(&data.claims).map_err(|_| TokenError::Malformed)?;
        if now > reg.exp + self.leeway {
            return Err(TokenError::Expired);
        }
        if reg.nbf.is_some_and(|nbf| now + self.leeway < nbf) {
            return Err(TokenError::NotYetValid);
        }
        C::deserialize(data.claims).map_err(|_| TokenError::Malformed)
    }
}

/// Why a header jsonwebtoken could not read is refused: an algorithm it does not know at all
/// (`none`) is still an unsupported algorithm, anything else is a malformed token.
fn refusal_of_header(token: &str) -> TokenError {
    #[derive(Deserialize)]
    struct Alg {
        alg: String,
    }
    let alg = token.split('.').next().and_then(|h| B64.decode(h).ok()).and_then(|raw| serde_json::from_slice::<Alg>(&raw).ok());
    match alg {
        Some(a) if a.alg != "EdDSA" => TokenError::UnsupportedAlgorithm,
        _ => TokenError::Malformed,
    }
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

    /// RFC 8032 §7.1, test 1: the key a seed makes is the RFC's, so the published JWK (and the
    /// key id derived from it) is what any Ed25519 implementation derives from that seed.
    #[test]
    fn a_seed_publishes_the_rfc_8032_public_key() {
        let seed: [u8; 32] = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").try_into().unwrap();
        let jwk = Signer::from_seed(seed).jwk();
        assert_eq!(B64.decode(&jwk.x).unwrap(), hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
        assert_eq!((jwk.kty.as_str(), jwk.crv.as_str(), jwk.alg.as_str()), ("OKP", "Ed25519", "EdDSA"));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// A token signed by the hand-written JWS code this crate had before jsonwebtoken (its header
    /// fields in another order) still verifies: tokens in flight survive a rolling deploy.
    #[test]
    fn a_token_from_before_jsonwebtoken_still_verifies() {
        let seed = [3u8; 32];
        let signer = Signer::from_seed(seed);
        let header = B64.encode(format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#, signer.kid()));
        let payload = B64.encode(serde_json::to_vec(&claims(2_000)).unwrap());
        let input = format!("{header}.{payload}");
        let pair = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        let token = format!("{input}.{}", B64.encode(pair.sign(input.as_bytes()).as_ref()));
        assert_eq!(verifier_for(&signer).verify::<AccessClaims>(&token, 1_500), Ok(claims(2_000)));
    }

    #[test]
    fn a_token_carries_the_eddsa_header_with_the_key_id() {
        let signer = Signer::generate();
        let token = signer.sign(&claims(2_000));
        let header: serde_json::Value = serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": signer.kid()}));
    }

    #[test]
    fn a_token_before_its_not_before_time_is_refused() {
        #[derive(Serialize)]
        struct WithNbf {
            #[serde(flatten)]
            claims: AccessClaims,
            nbf: i64,
        }
        let signer = Signer::generate();
        let token = signer.sign(&WithNbf { claims: claims(3_000), nbf: 2_000 });
        let v = verifier_for(&signer);
        assert_eq!(v.verify::<AccessClaims>(&token, 1_990), Err(TokenError::NotYetValid));
        assert!(v.verify::<AccessClaims>(&token, 1_996).is_ok());
    }

    #[test]
    fn a_token_without_an_audience_is_refused() {
        let signer = Signer::generate();
        let token = signer.sign(&serde_json::json!({"iss": ISSUER, "exp": 2_000, "sub": "u1"}));
        assert_eq!(verifier_for(&signer).verify::<serde_json::Value>(&token, 1_500), Err(TokenError::Malformed));
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
        for alg in ["none", "HS256", "RS256", "ES256"] {
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
