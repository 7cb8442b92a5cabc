use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use sha2::{Digest, Sha256};
use stagecast_authn::Scope;
use stagecast_kit::{
    ApiError,
    text::{self, fields},
};

/// Every key starts with this, so a secret found in a log or a repository is recognisable (and
/// the gateway tells keys from access tokens without trying to parse them).
pub const SECRET_PREFIX: &str = "sck_";

/// How many characters of a secret are kept to tell keys apart ("sck_" and 8 more).
const SHOWN_CHARS: usize = 12;

/// An API key's secret: `sck_` and 32 random bytes in base64url. Only its SHA-256 is stored.
/// Its `Debug` never prints it.
pub struct ApiKeySecret(String);

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeySecret([redacted])")
    }
}

fn invalid_key() -> ApiError {
    ApiError::unauthenticated("api_key_invalid", "the API key is not valid; create a new one under /api/v1/api-keys")
}

impl ApiKeySecret {
    pub fn generate() -> Self {
        Self(format!("{SECRET_PREFIX}{}", B64.encode(rand::random::<[u8; 32]>())))
    }

    /// Accepts only strings shaped like secrets we issue; anything else cannot exist in the store.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let rest = raw.trim().strip_prefix(SECRET_PREFIX).ok_or_else(invalid_key)?;
        match B64.decode(rest) {
            Ok(bytes) if bytes.len() == 32 => Ok(Self(raw.trim().to_owned())),
            _ => Err(invalid_key()),
        }
    }

    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    pub fn prefix(&self) -> String {
        self.0.chars().take(SHOWN_CHARS).collect()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What a key is for, as its owner calls it ("CI deploys").
pub struct ApiKeyName(String);

impl ApiKeyName {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        text::clean(raw, &fields::API_KEY_NAME).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// At least one known scope; sorted and without duplicates, so equal grants store equally.
pub fn parse_scopes(raw: &[String]) -> Result<Vec<Scope>, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::invalid("scopes_required", "give the key at least one scope, e.g. [\"events:read\"]"));
    }
    let mut scopes = Vec::with_capacity(raw.len());
    for name in raw {
        let scope = Scope::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::invalid("unknown_scope", format!("unknown scope {name:?}; known scopes: {}", known.join(", ")))
        })?;
        scopes.push(scope);
    }
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_differ_and_never_print() {
        let a = ApiKeySecret::generate();
        let b = ApiKeySecret::generate();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("sck_"));
        assert_eq!(ApiKeySecret::parse(a.expose()).unwrap().hash(), a.hash());
        assert_eq!(a.prefix().len(), 12);
        assert_eq!(format!("{a:?}"), "ApiKeySecret([redacted])");
    }

    #[test]
    fn strings_that_are_not_our_secrets_are_refused_as_invalid_keys() {
        for bad in ["", "sck_", "sck_abc", "eyJhbGciOi.x.y", &format!("sk_{}", B64.encode([0u8; 32]))] {
            assert_eq!(ApiKeySecret::parse(bad).unwrap_err().code, "api_key_invalid", "{bad}");
        }
    }

    #[test]
    fn scopes_are_sorted_deduplicated_and_unknown_ones_refused_by_name() {
        let s = parse_scopes(&["events:write".into(), "chat:read".into(), "events:write".into()]).unwrap();
        assert_eq!(s, vec![Scope::EventsWrite, Scope::ChatRead]);
        let e = parse_scopes(&["events:write".into(), "root".into()]).unwrap_err();
        assert_eq!(e.code, "unknown_scope");
        assert!(e.message.contains("\"root\""));
        assert_eq!(parse_scopes(&[]).unwrap_err().code, "scopes_required");
    }
}
