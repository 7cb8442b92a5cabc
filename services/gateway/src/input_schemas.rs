//! The schemas of what people type into the API (titles, names, reasons, links, email
//! addresses, ...), each built from the rule the service that receives it checks it with, so
//! that the OpenAPI document says exactly what is accepted: what a schema allows is not refused
//! for its form, and what it does not allow is.
//!
//! The text rules and their patterns are the kit's ([`stagecast_kit::text`]); rules that live
//! in one service only (a guest link's lifetime, an RTMP server's address) are spelled here, and
//! the tests below hold them to that service's own check.
use stagecast_kit::{
    pattern_control, pattern_url_host, pattern_url_port, pattern_white_space,
    text::{self, Field, fields},
};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        RefOr,
        schema::{ObjectBuilder, OneOfBuilder, Schema, Type},
    },
};

fn text_schema(f: &Field, what: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!("{what} {}", f.describe())))
        .min_length(f.required.then_some(1))
        // The length is in the pattern: it counts the text without the white space around it.
        .pattern(Some(f.pattern()))
        .into()
}

/// A named string schema (a component) for one of the kit's text fields.
macro_rules! text_field {
    ($(#[$doc:meta])* $name:ident = $field:expr, $what:literal) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                text_schema(&$field, $what)
            }
        }

        impl ToSchema for $name {}
    };
}

text_field!(EventTitle = fields::EVENT_TITLE, "An event's title.");
text_field!(EventDescription = fields::EVENT_DESCRIPTION, "An event's description.");
text_field!(DisplayName = fields::DISPLAY_NAME, "A person's name as others see it.");
text_field!(ApiKeyName = fields::API_KEY_NAME, "What an API key is for (\"CI deploys\").");
text_field!(ChatMessageText = fields::CHAT_MESSAGE, "A chat message: one line.");
text_field!(ModerationReason = fields::MODERATION_REASON, "Why a moderator acted, for the audit log.");
text_field!(StageReason = fields::STAGE_REASON, "Why, shown to the person concerned.");
text_field!(WebhookDescription = fields::WEBHOOK_DESCRIPTION, "A note for yourself.");

/// A link to an image (a cover, an avatar), or blank for none.
pub struct ImageUrl;

impl PartialSchema for ImageUrl {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An absolute http:// or https:// URL: a host name or IPv4 address, an optional port, then a path, \
                 query or fragment of printable ASCII; or empty for none.",
            ))
            .max_length(Some(text::MAX_URL_BYTES))
            .pattern(Some(text::HTTP_URL_OR_EMPTY))
            .into()
    }
}

impl ToSchema for ImageUrl {}

/// An email address as sign-up takes it.
pub struct Email;

impl PartialSchema for Email {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "`name@domain.tld`: a local part, one `@` and a domain of dot-separated labels, without white space or \
                 control characters; at most 254 bytes. Lowercased (one mailbox, one account).",
            ))
            .max_length(Some(text::MAX_EMAIL_BYTES))
            .pattern(Some(text::EMAIL))
            .examples(["ada@example.com"])
            .into()
    }
}

impl ToSchema for Email {}

/// A string taken as sent (neither trimmed nor normalised): `min`–`max` characters, no control
/// characters.
fn untrimmed_schema(description: &str, min: Option<usize>, max: usize) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(min)
        .max_length(Some(max))
        .pattern(Some(text::NO_CONTROL))
        .into()
}

/// The sender's id of a chat message (the chat service's `ClientMsgId`).
pub struct ClientMsgId;

/// The chat service's `ClientMsgId::MAX_CHARS` (tests hold them equal).
const CLIENT_MSG_ID_MAX_CHARS: usize = 64;

impl PartialSchema for ClientMsgId {
    fn schema() -> RefOr<Schema> {
        untrimmed_schema(
            "Your id for this message, unique per message: a retry with the same id is never duplicated (it gets \
             the first attempt's answer). 1–64 characters, no control characters; taken as is (not trimmed).",
            Some(1),
            CLIENT_MSG_ID_MAX_CHARS,
        )
    }
}

impl ToSchema for ClientMsgId {}

/// A saved destination's name (the broadcast service's check): at most 80 characters, no
/// control characters; blank for the platform's name.
pub struct DestinationName;

/// The broadcast service's `MAX_NAME_LEN`.
const DESTINATION_NAME_MAX_CHARS: usize = 80;

impl PartialSchema for DestinationName {
    fn schema() -> RefOr<Schema> {
        untrimmed_schema(
            "Left out or blank: the platform's name (YouTube, Twitch, Facebook, Custom RTMP). At most 80 characters, \
             no control characters (line breaks, tabs).",
            None,
            DESTINATION_NAME_MAX_CHARS,
        )
    }
}

impl ToSchema for DestinationName {}

/// How long a guest link works (the events service's `LinkSpec`): 0 for the default (a day), or
/// 60 seconds to a week.
pub struct GuestLinkLifetime;

/// The events service's bounds of a link's lifetime, in seconds (tests hold them equal).
const LINK_MIN_SECS: u32 = 60;
const LINK_MAX_SECS: u32 = 604_800;

impl PartialSchema for GuestLinkLifetime {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .description(Some("Seconds the link works: 60 to 604800 (a week); 0 or left out: 86400 (a day)."))
            .item(ObjectBuilder::new().schema_type(Type::Integer).enum_values(Some([0])))
            .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(LINK_MIN_SECS)).maximum(Some(LINK_MAX_SECS)))
            .into()
    }
}

impl ToSchema for GuestLinkLifetime {}

/// Where a custom RTMP(S) server takes streams (the broadcast service's `check_server_url`),
/// or blank for the platform's own.
pub struct RtmpServerUrl;

/// `rtmp://` or `rtmps://`, a host name or IPv4 address, an optional port and an application
/// path of printable ASCII, or empty. Like the kit's link pattern it promises less than the
/// service takes (white space and trailing slashes, which it trims; other hosts and characters),
/// never more; ASCII keeps the service's byte limit a character limit.
pub const RTMP_SERVER_URL_OR_EMPTY: &str =
    concat!("^(?:rtmps?://", pattern_url_host!(), pattern_url_port!(), "(?:/[!-.0-~]+)+)?$");

impl PartialSchema for RtmpServerUrl {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "`rtmp://` or `rtmps://`, a host name or IPv4 address, an optional port and an application path of \
                 printable ASCII, without the stream key; at most 512 characters. Empty: the platform's ingest (a \
                 `custom` destination needs one).",
            ))
            .max_length(Some(512))
            .pattern(Some(RTMP_SERVER_URL_OR_EMPTY))
            .into()
    }
}

impl ToSchema for RtmpServerUrl {}

/// A blocked term of a chat (the chat service's `BlockedTerm`).
pub struct BlockedTerm;

/// One line without control characters or white space around it, holding an ASCII letter or
/// digit. The service asks for a word (UAX #29), which an ASCII letter or digit always makes;
/// it also takes words in other scripts and trims white space around a term, which the pattern
/// does not promise (so that `maxLength` bounds what the service measures).
pub const BLOCKED_TERM: &str = concat!(
    "^(?:[^",
    pattern_control!(),
    pattern_white_space!(),
    "][^",
    pattern_control!(),
    "]*)?",
    "[A-Za-z0-9]",
    "(?:[^",
    pattern_control!(),
    "]*[^",
    pattern_control!(),
    pattern_white_space!(),
    "])?$"
);

/// The chat service's `BlockedTerm::MAX_CHARS` (tests hold them equal).
const BLOCKED_TERM_MAX_CHARS: usize = 50;

impl PartialSchema for BlockedTerm {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "NFC-normalised and trimmed: 1–50 characters, no control characters, at least one word (a letter or \
                 digit). It matches whole words, case-insensitively.",
            ))
            .min_length(Some(1))
            .max_length(Some(BLOCKED_TERM_MAX_CHARS))
            .pattern(Some(BLOCKED_TERM))
            .into()
    }
}

impl ToSchema for BlockedTerm {}

/// A platform's stream key (the broadcast service's `check_key`).
pub struct StreamKey;

/// Printable ASCII but `/`: the service refuses white space, control characters and slashes
/// and counts bytes; ASCII makes its limit a character limit.
pub const STREAM_KEY: &str = "^[!-.0-~]+$";

impl PartialSchema for StreamKey {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "The platform's stream key: 1–512 printable ASCII characters, no spaces or slashes. Stored encrypted \
                 (AES-256-GCM), never returned.",
            ))
            .min_length(Some(1))
            .max_length(Some(512))
            .pattern(Some(STREAM_KEY))
            .into()
    }
}

impl ToSchema for StreamKey {}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;

    fn re(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    #[test]
    fn the_documented_limits_are_the_services_own() {
        use stagecast_chat_moderation::domain::ClientMsgId;
        use stagecast_events::domain::LinkSpec;
        assert!(ClientMsgId::parse(&"x".repeat(CLIENT_MSG_ID_MAX_CHARS)).is_ok());
        assert!(ClientMsgId::parse(&"x".repeat(CLIENT_MSG_ID_MAX_CHARS + 1)).is_err());
        assert_eq!(DESTINATION_NAME_MAX_CHARS, stagecast_broadcast::service::MAX_NAME_LEN);
        for secs in [0, LINK_MIN_SECS, LINK_MAX_SECS] {
            assert!(LinkSpec::parse("speaker", secs, 0, false).is_ok(), "{secs}");
        }
        for secs in [1, LINK_MIN_SECS - 1, LINK_MAX_SECS + 1] {
            assert_eq!(LinkSpec::parse("speaker", secs, 0, false).expect_err("refused").code, "invalid_expiry", "{secs}");
        }
    }

    #[test]
    fn every_server_url_the_pattern_allows_is_accepted_and_blank_takes_the_default() {
        use stagecast_broadcast::service::check_server_url;
        let pattern = re(RTMP_SERVER_URL_OR_EMPTY);
        for url in [
            "rtmp://live.twitch.tv/app",
            "rtmps://a.rtmps.youtube.com:443/live2",
            "rtmp://127.0.0.1:1935/live/x",
            "rtmp://a/b/c?d=e&f",
            "rtmp://h-1.example:65535/~!$&'()*+,;=:@[]",
        ] {
            assert!(pattern.is_match(url), "{url:?}");
            assert!(check_server_url(url).is_ok(), "{url:?}");
        }
        // Empty takes the platform's ingest (api_doc's cross-field rule: not for custom).
        assert!(pattern.is_match(""));
        // Accepted (trimmed), though the pattern does not promise it.
        assert!(check_server_url(" rtmp://a/b// \n").is_ok() && !pattern.is_match(" rtmp://a/b// \n"));
        for url in [
            "http://a/b",
            "rtmp://a",
            "rtmp://a/",
            "rtmp://a//b",
            "rtmp://a/b//c",
            "rtmp://u@a/b",
            "rtmp://a:99999/b",
            "rtmp://a:/b",
            "rtmp://a b/c",
            "rtmp://a/b c",
            "rtmp://a/\u{0}",
            "RTMP://a/b",
        ] {
            assert!(!pattern.is_match(url), "{url:?}");
        }
        let longest = format!("rtmp://a/{}", "b".repeat(512 - "rtmp://a/".len()));
        assert!(pattern.is_match(&longest) && check_server_url(&longest).is_ok());
    }

    #[test]
    fn every_blocked_term_the_pattern_allows_is_accepted() {
        use stagecast_chat_moderation::domain::BlockedTerm;
        let pattern = re(BLOCKED_TERM);
        let max = "x".repeat(BLOCKED_TERM_MAX_CHARS);
        for term in ["a", "spoiler", "dark  web", "?!a", "9", "caf\u{e9} au lait", "b\u{a0}-", max.as_str()] {
            assert!(pattern.is_match(term), "{term:?}");
            assert!(BlockedTerm::parse(term).is_ok(), "{term:?}");
        }
        assert!(BlockedTerm::parse(&format!("{max}x")).is_err());
        for term in ["", " ", "!!!", "a\u{0}", "a\nb", "\u{85}"] {
            assert!(!pattern.is_match(term), "{term:?}");
        }
        // Accepted, though the pattern does not promise them.
        for term in ["日本", " a\n"] {
            assert!(BlockedTerm::parse(term).is_ok() && !pattern.is_match(term), "{term:?}");
        }
    }

    #[test]
    fn every_stream_key_the_pattern_allows_is_accepted() {
        use stagecast_broadcast::service::check_key;
        let pattern = re(STREAM_KEY);
        for key in ["a", "live_123-abc.~!", &"k".repeat(512)] {
            assert!(pattern.is_match(key) && check_key(key).is_ok(), "{key:?}");
        }
        for key in ["", "a/b", "a b", "a\u{0}", "é"] {
            assert!(!pattern.is_match(key), "{key:?}");
        }
    }
}
