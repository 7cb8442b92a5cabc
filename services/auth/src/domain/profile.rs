use stagecast_kit::ApiError;
use unicode_normalization::UnicodeNormalization;

/// A display name: NFC-normalised, trimmed, 1..=50 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s: String = raw.nfc().collect::<String>().trim().to_owned();
        if s.is_empty() {
            return Err(ApiError::invalid("display_name_required", "display name is required"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(ApiError::invalid(
                "display_name_too_long",
                format!("display name must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(ApiError::invalid("invalid_display_name", "display name must not contain control characters"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An avatar image address: an absolute http(s) URL of at most 2048 bytes, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarUrl(Option<String>);

impl AvatarUrl {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim();
        if s.is_empty() {
            return Ok(Self(None));
        }
        let bad =
            || ApiError::invalid("invalid_avatar_url", "avatar_url must be an absolute http(s) URL of at most 2048 characters");
        if s.len() > 2048 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad());
        }
        let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).ok_or_else(bad)?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad());
        }
        Ok(Self(Some(s.to_owned())))
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_is_normalised_and_bounded() {
        // "é" as e + combining acute becomes the single precomposed character.
        assert_eq!(DisplayName::parse("  Re\u{301}my ").unwrap().as_str(), "R\u{e9}my");
        assert_eq!(DisplayName::parse("   ").unwrap_err().code, "display_name_required");
        assert_eq!(DisplayName::parse(&"x".repeat(51)).unwrap_err().code, "display_name_too_long");
        assert_eq!(DisplayName::parse("a\u{7}b").unwrap_err().code, "invalid_display_name");
    }

    #[test]
    fn avatar_url_must_be_http_or_empty() {
        assert_eq!(AvatarUrl::parse("").unwrap().as_deref(), None);
        assert!(AvatarUrl::parse("https://cdn.example.com/a.png").is_ok());
        for bad in ["javascript:alert(1)", "ftp://x/y", "https://", "https:///x", "https://a b"] {
            assert_eq!(AvatarUrl::parse(bad).unwrap_err().code, "invalid_avatar_url", "{bad}");
        }
    }
}
