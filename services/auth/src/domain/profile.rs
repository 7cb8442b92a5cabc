use stagecast_kit::ApiError;
use stagecast_kit::text;

/// A display name: NFC-normalised, trimmed, 1..=50 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = text::fields::DISPLAY_NAME.max_chars;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        text::clean(raw, &text::fields::DISPLAY_NAME).map(Self)
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
        text::http_url(raw, "avatar_url").map(Self)
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
