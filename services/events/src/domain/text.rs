use stagecast_kit::ApiError;
use unicode_normalization::UnicodeNormalization;

/// An event title: NFC-normalised, trimmed, 1..=140 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTitle(String);

impl EventTitle {
    pub const MAX_CHARS: usize = 140;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        // Normalised first so that "é" typed two ways counts (and compares) the same.
        let s: String = raw.nfc().collect::<String>().trim().to_owned();
        if s.is_empty() {
            return Err(ApiError::invalid("title_required", "title is required"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(ApiError::invalid("title_too_long", format!("title must be at most {} characters", Self::MAX_CHARS)));
        }
        if s.chars().any(char::is_control) {
            return Err(ApiError::invalid("invalid_title", "title must not contain control characters (including line breaks)"));
        }
        Ok(Self(s))
    }

    /// A title read back from storage. It was parsed when it was written; parsing it again would
    /// make old events unreadable the day the rules get stricter.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text description: NFC-normalised, trimmed, at most 5000 characters; may be empty.
/// Line breaks and tabs are allowed, other control characters are not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 5000;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s: String = raw.nfc().collect::<String>().trim().to_owned();
        if s.chars().count() > Self::MAX_CHARS {
            return Err(ApiError::invalid(
                "description_too_long",
                format!("description must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        // NUL in particular: Postgres text cannot hold it, so letting it through would turn a bad
        // request into an internal error.
        if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(ApiError::invalid(
                "invalid_description",
                "description must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(Self(s))
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The address of the cover image: an absolute http(s) URL of at most 2048 bytes, or none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CoverUrl(Option<String>);

impl CoverUrl {
    pub const MAX_BYTES: usize = 2048;

    /// The empty string means "no cover", which is also how a caller removes one.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim();
        if s.is_empty() {
            return Ok(Self(None));
        }
        let bad = || {
            ApiError::invalid(
                "invalid_cover_url",
                format!("cover_url must be empty or an absolute http(s) URL of at most {} characters", Self::MAX_BYTES),
            )
        };
        // Whitespace is checked on the raw text because the URL parser would quietly
        // percent-encode it, and the value is stored as given.
        if s.len() > Self::MAX_BYTES || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad());
        }
        // The URL parser forgives "https:///x" and "https:\\x" (reading host "x"); a stored
        // value that other clients parse less kindly would break their cover images.
        if s.split_once("://").is_none_or(|(_, rest)| rest.is_empty() || rest.starts_with(['/', '\\'])) {
            return Err(bad());
        }
        let url = url::Url::parse(s).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(bad());
        }
        Ok(Self(Some(s.to_owned())))
    }

    pub fn from_stored(s: Option<String>) -> Self {
        Self(s)
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_is_trimmed_normalised_and_bounded() {
        assert_eq!(EventTitle::parse("  Launch  ").expect("valid").as_str(), "Launch");
        assert_eq!(EventTitle::parse("Cafe\u{301}").expect("valid").as_str(), "Caf\u{e9}");
        assert_eq!(EventTitle::parse(" \t ").expect_err("blank").code, "title_required");
        assert!(EventTitle::parse(&"é".repeat(140)).is_ok(), "140 characters, more than 140 bytes");
        assert_eq!(EventTitle::parse(&"x".repeat(141)).expect_err("long").code, "title_too_long");
        assert_eq!(EventTitle::parse("a\nb").expect_err("newline").code, "invalid_title");
        assert_eq!(EventTitle::parse("a\0b").expect_err("nul").code, "invalid_title");
    }

    #[test]
    fn description_may_be_empty_and_keeps_line_breaks() {
        assert_eq!(Description::parse("").expect("empty is fine").as_str(), "");
        assert_eq!(Description::parse("line one\nline two\n").expect("valid").as_str(), "line one\nline two");
        assert!(Description::parse(&"x".repeat(5000)).is_ok());
        assert_eq!(Description::parse(&"x".repeat(5001)).expect_err("long").code, "description_too_long");
        assert_eq!(Description::parse("a\0b").expect_err("nul").code, "invalid_description");
    }

    #[test]
    fn cover_url_must_be_http_or_empty() {
        assert_eq!(CoverUrl::parse("  ").expect("empty").as_deref(), None);
        assert_eq!(
            CoverUrl::parse("https://cdn.example.com/c.png?v=2").expect("valid").as_deref(),
            Some("https://cdn.example.com/c.png?v=2")
        );
        assert!(CoverUrl::parse("http://localhost:8080/c.png").is_ok());
        let long = format!("https://example.com/{}", "a".repeat(2048));
        for bad in [
            "javascript:alert(1)",
            "ftp://x/y",
            "https://",
            "https:///x",
            "https://a b",
            "example.com/x",
            "data:image/png;base64,AAAA",
            long.as_str(),
        ] {
            assert_eq!(CoverUrl::parse(bad).expect_err(bad).code, "invalid_cover_url", "{bad}");
        }
    }
}
