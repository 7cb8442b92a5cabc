use stagecast_kit::{ApiError, text};

/// An event title: NFC-normalised, trimmed, 1..=140 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTitle(String);

impl EventTitle {
    pub const MAX_CHARS: usize = text::fields::EVENT_TITLE.max_chars;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        text::clean(raw, &text::fields::EVENT_TITLE).map(Self)
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
    pub const MAX_CHARS: usize = text::fields::EVENT_DESCRIPTION.max_chars;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        text::clean(raw, &text::fields::EVENT_DESCRIPTION).map(Self)
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
        text::http_url(raw, "cover_url").map(Self)
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
