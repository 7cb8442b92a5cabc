// NFC first (kit's normalise), so that text typed two ways ("é" precomposed or as e + accent)
// counts, compares and matches blocked terms the same; then trimmed.
use stagecast_kit::{
    ApiError,
    text::{self, normalise},
};

/// The text of a chat message: NFC-normalised, trimmed, 1..=500 characters (not bytes), no
/// control characters. Line breaks count as control characters: chat lines are single lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub const MAX_CHARS: usize = text::fields::CHAT_MESSAGE.max_chars;

    /// The kit's rule for [`text::fields::CHAT_MESSAGE`] (stated as a pattern in the API
    /// document), with the chat's own refusal codes.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        text::check(raw, &text::fields::CHAT_MESSAGE).map(Self).map_err(|broken| match broken {
            text::Broken::Required => ApiError::invalid("message_empty", "the message is empty"),
            text::Broken::TooLong => {
                ApiError::invalid("message_too_long", format!("a message is at most {} characters", Self::MAX_CHARS))
            }
            text::Broken::ControlCharacters => {
                ApiError::invalid("control_characters", "a message must not contain control characters (including line breaks)")
            }
        })
    }

    /// Text read back from storage or from our own bus messages: it was parsed when it was
    /// accepted, and re-parsing would make old messages unreadable the day the rules tighten.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The sender's id for one message, which makes a retried Send idempotent: at most 64
/// characters, required, printable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::invalid(
                "invalid_client_msg_id",
                format!("client_msg_id is required: 1 to {} printable characters", Self::MAX_CHARS),
            )
        };
        // Not trimmed or normalised: it is an opaque token, and "a" and "a " may well be two
        // different messages of a client (the API document states it as `text::NO_CONTROL`).
        if raw.is_empty() || raw.chars().count() > Self::MAX_CHARS || text::has_control(raw) {
            return Err(bad());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a moderator did something, shown in the audit log: at most 500 characters, may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = text::fields::MODERATION_REASON.max_chars;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        text::clean(raw, &text::fields::MODERATION_REASON).map(Self)
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name shown beside a message, as the gateway read it from the author's profile:
/// at most 100 characters, no control characters; may be empty (guests).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = normalise(raw);
        if s.chars().count() > Self::MAX_CHARS || s.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "invalid_display_name",
                format!("display_name is at most {} characters without control characters", Self::MAX_CHARS),
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

/// The author's avatar address, passed through from their profile: at most 2048 characters,
/// no whitespace or control characters; may be empty. The auth service checked its form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AvatarUrl(String);

impl AvatarUrl {
    pub const MAX_CHARS: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim();
        if s.chars().count() > Self::MAX_CHARS || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ApiError::invalid(
                "invalid_avatar_url",
                format!("avatar_url is at most {} characters without whitespace", Self::MAX_CHARS),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_text_is_normalised_trimmed_and_bounded_in_characters() {
        assert_eq!(MessageText::parse("  hi  ").expect("valid").as_str(), "hi");
        assert_eq!(MessageText::parse("Cafe\u{301}").expect("valid").as_str(), "Caf\u{e9}");
        assert!(MessageText::parse(&"é".repeat(500)).is_ok(), "500 characters, 1000 bytes");
        assert_eq!(MessageText::parse(" \t ").expect_err("blank").code, "message_empty");
        assert_eq!(MessageText::parse(&"x".repeat(501)).expect_err("long").code, "message_too_long");
        assert_eq!(MessageText::parse("a\nb").expect_err("newline").code, "control_characters");
        assert_eq!(MessageText::parse("a\0b").expect_err("nul").code, "control_characters");
    }

    #[test]
    fn client_msg_id_is_required_short_and_printable() {
        assert_eq!(ClientMsgId::parse("c-42").expect("valid").as_str(), "c-42");
        assert!(ClientMsgId::parse(&"x".repeat(64)).is_ok());
        for bad in ["", "a\u{7}", &"x".repeat(65)] {
            assert_eq!(ClientMsgId::parse(bad).expect_err(bad).code, "invalid_client_msg_id");
        }
    }

    #[test]
    fn reason_may_be_empty_but_not_long() {
        assert_eq!(Reason::parse("").expect("empty").as_str(), "");
        assert!(Reason::parse(&"r".repeat(500)).is_ok());
        assert_eq!(Reason::parse(&"r".repeat(501)).expect_err("long").code, "reason_too_long");
        assert_eq!(Reason::parse("a\u{1b}b").expect_err("escape").code, "invalid_reason");
    }

    #[test]
    fn author_fields_are_bounded() {
        assert_eq!(DisplayName::parse(" Ada ").expect("valid").as_str(), "Ada");
        assert_eq!(DisplayName::parse(&"n".repeat(101)).expect_err("long").code, "invalid_display_name");
        assert_eq!(AvatarUrl::parse("https://x/a b.png").expect_err("space").code, "invalid_avatar_url");
        assert_eq!(AvatarUrl::parse("").expect("empty").as_str(), "");
    }
}
