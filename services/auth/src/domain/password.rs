use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use stagecast_kit::ApiError;

/// A password that meets the length policy (NIST 800-63B: at least 8, no composition rules,
/// long passphrases allowed). Its `Debug` never prints it.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: String) -> Result<Self, ApiError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(ApiError::invalid(
                "password_too_short",
                format!("password must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(ApiError::invalid(
                "password_too_long",
                format!("password must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(raw))
    }

    /// For sign-in: any non-empty string up to the maximum may be tried (the policy may have been
    /// different when the account was made); a longer one cannot match and is not hashed.
    pub fn for_sign_in(raw: String) -> Result<Self, ApiError> {
        if raw.is_empty() || raw.chars().count() > Self::MAX_CHARS {
            return Err(ApiError::unauthenticated("invalid_credentials", "email or password is wrong"));
        }
        Ok(Self(raw))
    }

    /// Argon2id with a fresh salt. Takes ~tens of ms of CPU: call from `spawn_blocking`.
    pub fn hash(&self) -> Result<PasswordHash, ApiError> {
        Argon2::default()
            .hash_password(self.0.as_bytes())
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| ApiError::internal(format!("argon2: {e}")))
    }

    /// Constant-time comparison inside argon2; call from `spawn_blocking`.
    pub fn matches(&self, hash: &PasswordHash) -> bool {
        Argon2::default().verify_password(self.0.as_bytes(), hash.0.as_str()).is_ok()
    }
}

/// A PHC-format argon2id hash as stored in the database.
#[derive(Clone)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A real hash of a random password, compared against when the email is unknown so that a
    /// wrong email takes as long as a wrong password (no account enumeration by timing).
    pub fn decoy() -> &'static PasswordHash {
        static DECOY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
        DECOY.get_or_init(|| {
            let pw = Password(format!("{:032x}", rand::random::<u128>()));
            pw.hash().unwrap_or_else(|_| PasswordHash(String::new()))
        })
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies_only_the_same_password() {
        let pw = Password::parse("correct horse".into()).unwrap();
        let h = pw.hash().unwrap();
        assert!(h.as_str().starts_with("$argon2id$"));
        assert!(pw.matches(&h));
        assert!(!Password::parse("correct horsf".into()).unwrap().matches(&h));
    }

    #[test]
    fn short_and_overlong_passwords_are_refused() {
        assert_eq!(Password::parse("1234567".into()).unwrap_err().code, "password_too_short");
        assert_eq!(Password::parse("x".repeat(129)).unwrap_err().code, "password_too_long");
        assert!(Password::parse("12345678".into()).is_ok());
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let pw = Password::parse("hunter22hunter22".into()).unwrap();
        assert!(!format!("{pw:?}").contains("hunter"));
    }
}
