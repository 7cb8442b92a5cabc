use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use sha2::{Digest, Sha256};
use stagecast_kit::ApiError;

/// An opaque refresh token: 32 random bytes, base64url. Only its SHA-256 is stored, so the
/// database never holds a usable token. Its `Debug` never prints it.
pub struct RefreshToken(String);

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken([redacted])")
    }
}

impl RefreshToken {
    pub fn generate() -> Self {
        Self(B64.encode(rand::random::<[u8; 32]>()))
    }

    /// Accepts only strings shaped like tokens we issue; anything else cannot exist in the store.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ApiError::invalid("refresh_token_required", "refresh_token is required"));
        }
        match B64.decode(s) {
            Ok(bytes) if bytes.len() == 32 => Ok(Self(s.to_owned())),
            _ => Err(ApiError::unauthenticated("refresh_token_invalid", "the refresh token is not valid; sign in again")),
        }
    }

    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_differ() {
        let a = RefreshToken::generate();
        let b = RefreshToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(RefreshToken::parse(a.expose()).unwrap().hash(), a.hash());
    }

    #[test]
    fn garbage_is_refused_as_invalid() {
        assert_eq!(RefreshToken::parse("").unwrap_err().code, "refresh_token_required");
        assert_eq!(RefreshToken::parse("abc").unwrap_err().code, "refresh_token_invalid");
        assert_eq!(format!("{:?}", RefreshToken::generate()), "RefreshToken([redacted])");
    }
}
