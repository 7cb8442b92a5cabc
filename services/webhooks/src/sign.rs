//! Standard Webhooks signatures (standardwebhooks.com): HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}` with the base64-decoded secret, sent as
//! `v1,{base64}`; several space-separated during a secret rotation.
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use ring::hmac;

pub const SECRET_PREFIX: &str = "whsec_";

/// A signing secret: `whsec_` and 24 random bytes in base64. Its `Debug` never prints it.
#[derive(Clone)]
pub struct SigningSecret(String);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

impl SigningSecret {
    pub fn generate() -> Self {
        Self(format!("{SECRET_PREFIX}{}", B64.encode(rand_bytes())))
    }

    /// A secret as stored (opened from its seal).
    pub fn parse(raw: &str) -> Option<Self> {
        let key = raw.strip_prefix(SECRET_PREFIX)?;
        B64.decode(key).ok().filter(|k| !k.is_empty())?;
        Some(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> hmac::Key {
        let raw = B64.decode(&self.0[SECRET_PREFIX.len()..]).unwrap_or_default();
        hmac::Key::new(hmac::HMAC_SHA256, &raw)
    }

    /// `v1,{base64 signature}` of one message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &str) -> String {
        let content = format!("{msg_id}.{timestamp}.{body}");
        format!("v1,{}", B64.encode(hmac::sign(&self.key(), content.as_bytes()).as_ref()))
    }
}

fn rand_bytes() -> [u8; 24] {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 24];
    SystemRandom::new().fill(&mut b).expect("the system has randomness");
    b
}

/// The `webhook-signature` header: one signature per secret, current first.
pub fn header(secrets: &[SigningSecret], msg_id: &str, timestamp: i64, body: &str) -> String {
    secrets.iter().map(|s| s.sign(msg_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Verifies a `webhook-signature` header as a receiver does: any listed `v1` signature made
/// with `secret` over this id, timestamp and body (constant-time comparison).
pub fn verify(secret: &SigningSecret, msg_id: &str, timestamp: i64, body: &str, header: &str) -> bool {
    let content = format!("{msg_id}.{timestamp}.{body}");
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| B64.decode(s).ok())
        .any(|sig| hmac::verify(&secret.key(), content.as_bytes(), &sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's reference vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_reference_vector_signs_and_verifies() {
        let s = SigningSecret::parse(SECRET).unwrap();
        assert_eq!(s.sign(MSG_ID, TIMESTAMP, BODY), SIGNATURE);
        assert!(verify(&s, MSG_ID, TIMESTAMP, BODY, SIGNATURE));
    }

    #[test]
    fn a_changed_body_id_or_timestamp_or_another_secret_does_not_verify() {
        let s = SigningSecret::parse(SECRET).unwrap();
        assert!(!verify(&s, MSG_ID, TIMESTAMP, r#"{"test": 2432232315}"#, SIGNATURE));
        assert!(!verify(&s, "msg_other", TIMESTAMP, BODY, SIGNATURE));
        assert!(!verify(&s, MSG_ID, TIMESTAMP + 1, BODY, SIGNATURE));
        assert!(!verify(&SigningSecret::generate(), MSG_ID, TIMESTAMP, BODY, SIGNATURE));
        assert!(!verify(&s, MSG_ID, TIMESTAMP, BODY, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn during_a_rotation_both_secrets_sign_and_either_verifies() {
        let (old, new) = (SigningSecret::generate(), SigningSecret::generate());
        let h = header(&[new.clone(), old.clone()], MSG_ID, TIMESTAMP, BODY);
        assert_eq!(h.split(' ').count(), 2);
        assert!(verify(&old, MSG_ID, TIMESTAMP, BODY, &h));
        assert!(verify(&new, MSG_ID, TIMESTAMP, BODY, &h));
    }

    #[test]
    fn secrets_have_the_prefix_differ_and_never_print() {
        let (a, b) = (SigningSecret::generate(), SigningSecret::generate());
        assert!(a.expose().starts_with("whsec_"));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "SigningSecret([redacted])");
        assert!(SigningSecret::parse("whsec_").is_none());
        assert!(SigningSecret::parse("sk_abc").is_none());
    }
}
