//! The one set of rules for free text and links that people type: NFC-normalised (so "é" typed
//! two ways is one string), trimmed, bounded in characters, no control characters; links are
//! absolute http(s) URLs. Each service names its fields; refusal codes follow the field:
//! `{code}_required`, `{code}_too_long`, `invalid_{code}`.
//!
//! Each rule also has its JSON Schema `pattern` here, beside the code that enforces it, so that
//! the gateway's OpenAPI document says what the services accept: a string the pattern matches is
//! accepted, and (for text) one it does not match is refused. The patterns are spelled in the
//! common ground of ECMA-262 (JSON Schema), Python's `re` (schemathesis generates requests from
//! them) and the regex crate (the tests below): character classes with `\xNN` and `\uNNNN`
//! escapes, no `\p{..}`, no look-around.
//!
//! Where lengths meet: a text's pattern holds its length (up to N characters between the white
//! space trimmed away, which may be any length), because the rule counts after trimming. It
//! counts characters as sent, the rule counts them after NFC normalisation, which rarely changes
//! the count: an accent sent as a character of its own joins its letter (a text the pattern calls
//! too long may be accepted), and a few characters such as U+0958 split in two (a text at the
//! limit may be refused as too long). Links and email addresses are documented without the white
//! space the rules trim around them, so that their `maxLength` bounds what the rule measures.
use unicode_normalization::UnicodeNormalization;

use crate::{ApiError, ErrorKind};

// The character classes the rules are made of, spelled once (as the inside of a regex class)
// for every pattern below and for the gateway's patterns of rules that live in one service;
// the tests check them against `char` over every code point. Exported as macros because
// `concat!` composes literals only.

/// `char::is_control` as the inside of a regex class: the C0 and C1 controls and DEL.
#[macro_export]
macro_rules! pattern_control {
    () => {
        r"\x00-\x1f\x7f-\x9f"
    };
}

/// The controls a multi-line field refuses (all but tab, line feed and carriage return), as the
/// inside of a regex class.
#[macro_export]
macro_rules! pattern_control_but_line_breaks {
    () => {
        r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    };
}

/// `char::is_whitespace` (Unicode White_Space), which is what `str::trim` strips, as the inside
/// of a regex class.
#[macro_export]
macro_rules! pattern_white_space {
    () => {
        r"\x09-\x0d\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// Text that trims to at most `max_chars` characters without any of the class `refused` (a
/// class's inside), and to at least one unless `blank_allowed`. The length is in the pattern, not
/// a `maxLength`, because it counts the trimmed text: white space around it may be any length.
/// Refused characters may stand in that white space (a title's trailing line break is trimmed,
/// not refused); the trimmed text starts and ends with a character that is neither.
fn trimmed_text(refused: &str, max_chars: usize, blank_allowed: bool) -> String {
    let ws = pattern_white_space!();
    let text = match max_chars {
        0 => return format!("^[{ws}]*$"),
        1 => format!("[^{refused}{ws}]"),
        _ => format!("[^{refused}{ws}](?:[^{refused}]{{0,{}}}[^{refused}{ws}])?", max_chars - 2),
    };
    if blank_allowed { format!("^[{ws}]*(?:{text}[{ws}]*)?$") } else { format!("^[{ws}]*{text}[{ws}]*$") }
}

/// `pattern` of an opaque token taken as sent (neither trimmed nor normalised): no control
/// characters ([`has_control`]).
pub const NO_CONTROL: &str = concat!("^[^", pattern_control!(), "]*$");

/// Whether `s` holds a control character (the rule [`NO_CONTROL`] states).
pub fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// NFC, then trimmed.
pub fn normalise(raw: &str) -> String {
    raw.nfc().collect::<String>().trim().to_owned()
}

/// How one text field is checked.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// As a person reads it: "display name".
    pub name: &'static str,
    /// As codes spell it: "display_name".
    pub code: &'static str,
    pub max_chars: usize,
    pub required: bool,
    /// Descriptions may keep line breaks and tabs; names and titles may not.
    pub line_breaks: bool,
}

impl Field {
    /// The rule as a JSON Schema `pattern`: it matches what [`clean`] accepts (length included,
    /// so the schema needs no `maxLength`).
    pub fn pattern(&self) -> String {
        let refused = if self.line_breaks { pattern_control_but_line_breaks!() } else { pattern_control!() };
        trimmed_text(refused, self.max_chars, !self.required)
    }

    /// The rule in words, for documents: "NFC-normalised and trimmed: 1–140 characters, no
    /// control characters (line breaks included)."
    pub fn describe(&self) -> String {
        let length = if self.required { format!("1–{}", self.max_chars) } else { format!("at most {}", self.max_chars) };
        let controls = if self.line_breaks {
            "line breaks and tabs allowed, other control characters not"
        } else {
            "no control characters (line breaks included)"
        };
        let blank = if self.required { "" } else { "; may be empty" };
        format!("NFC-normalised and trimmed: {length} characters{blank}; {controls}.")
    }
}

/// The text fields people type, each checked by the service that owns it and stated in the
/// gateway's OpenAPI document from the same definition.
pub mod fields {
    use super::Field;

    pub const EVENT_TITLE: Field = Field { name: "title", code: "title", max_chars: 140, required: true, line_breaks: false };
    pub const EVENT_DESCRIPTION: Field =
        Field { name: "description", code: "description", max_chars: 5000, required: false, line_breaks: true };
    /// A person's name as others see it (accounts and guests).
    pub const DISPLAY_NAME: Field =
        Field { name: "display name", code: "display_name", max_chars: 50, required: true, line_breaks: false };
    pub const API_KEY_NAME: Field =
        Field { name: "name", code: "api_key_name", max_chars: 64, required: true, line_breaks: false };
    /// A chat message; its refusals have codes of their own (the chat service's `MessageText`).
    pub const CHAT_MESSAGE: Field =
        Field { name: "message", code: "message", max_chars: 500, required: true, line_breaks: false };
    /// Why a chat moderator acted (the audit log).
    pub const MODERATION_REASON: Field =
        Field { name: "reason", code: "reason", max_chars: 500, required: false, line_breaks: false };
    /// Why someone was kicked, banned or removed from the stage (shown to them).
    pub const STAGE_REASON: Field = Field { name: "reason", code: "reason", max_chars: 200, required: false, line_breaks: false };
    /// A webhook endpoint's note to its owner.
    pub const WEBHOOK_DESCRIPTION: Field =
        Field { name: "description", code: "description", max_chars: 200, required: false, line_breaks: false };
}

/// The rule a text broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// Nothing left after trimming, in a required field.
    Required,
    TooLong,
    ControlCharacters,
}

/// The cleaned text, or the rule it broke: for fields whose refusals have codes of their own.
pub fn check(raw: &str, f: &Field) -> Result<String, Broken> {
    let s = normalise(raw);
    if f.required && s.is_empty() {
        return Err(Broken::Required);
    }
    if s.chars().count() > f.max_chars {
        return Err(Broken::TooLong);
    }
    // NUL in particular: Postgres text cannot hold it, so letting it through would turn a bad
    // request into an internal error.
    if s.chars().any(|c| c.is_control() && !(f.line_breaks && matches!(c, '\n' | '\r' | '\t'))) {
        return Err(Broken::ControlCharacters);
    }
    Ok(s)
}

fn invalid(code: String, message: String) -> ApiError {
    ApiError::new(ErrorKind::InvalidInput, code, message)
}

/// The cleaned text, or the refusal that names the field and the rule.
pub fn clean(raw: &str, f: &Field) -> Result<String, ApiError> {
    check(raw, f).map_err(|broken| match broken {
        Broken::Required => invalid(format!("{}_required", f.code), format!("{} is required", f.name)),
        Broken::TooLong => {
            invalid(format!("{}_too_long", f.code), format!("{} must be at most {} characters", f.name, f.max_chars))
        }
        Broken::ControlCharacters => {
            let allowed = if f.line_breaks { " other than line breaks and tabs" } else { " (including line breaks)" };
            invalid(format!("invalid_{}", f.code), format!("{} must not contain control characters{allowed}", f.name))
        }
    })
}

/// Longest link accepted, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// A host the URL parser takes as written: a dotted-decimal IPv4 address, or a name of letters
/// and digits with hyphens inside labels. No "--", so never an `xn--` label, which the parser's
/// IDNA step would decode (and may refuse); the last label starts with a letter, because one of
/// digits (or `0x…`) would be read as part of an IPv4 address.
#[macro_export]
macro_rules! pattern_url_host {
    () => {
        concat!(
            r"(?:(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
            r"|(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)"
        )
    };
}

/// A port the URL parser takes, `:0` to `:65535`, or none.
#[macro_export]
macro_rules! pattern_url_port {
    () => {
        r"(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
    };
}

/// A path (`/…`), query (`?…`) and fragment (`#…`) of the characters RFC 3986 allows in each
/// (ASCII letters and digits, `-._~!$&'()*+,;=:@`, `/` and `?` where allowed, `%` and two hex
/// digits), each optional.
macro_rules! pattern_url_rest {
    () => {
        concat!(
            r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?",
            r"(?:\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?",
            r"(?:#(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?"
        )
    };
}

/// `pattern` of [`http_url`]: empty, or `http://` or `https://` in any case, a host name or IPv4
/// address, a port, and a path, query and fragment as RFC 3986 spells them, so that a link is
/// also a URI (`format: uri`, as answers type it; `http_url` stores links as given). With
/// `maxLength` [`MAX_URL_BYTES`] it never matches a link `http_url` refuses (ASCII keeps
/// characters and bytes equal). It leaves out some links `http_url` takes (white space around
/// one, IPv6 hosts, user names, characters the URL parser would percent-encode): the document
/// promises less than the server accepts, never more.
pub const HTTP_URL_OR_EMPTY: &str =
    concat!("^(?:[hH][tT][tT][pP][sS]?://", pattern_url_host!(), pattern_url_port!(), pattern_url_rest!(), ")?$");

/// An absolute http(s) URL of at most [`MAX_URL_BYTES`], or `None` for the empty string (which is
/// how a caller removes a link). Refused as `invalid_{code}`.
pub fn http_url(raw: &str, code: &'static str) -> Result<Option<String>, ApiError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || {
        invalid(
            format!("invalid_{code}"),
            format!("{code} must be empty or an absolute http(s) URL of at most {MAX_URL_BYTES} characters"),
        )
    };
    // Whitespace is checked on the raw text because the URL parser would quietly
    // percent-encode it, and the value is stored as given.
    if s.len() > MAX_URL_BYTES || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad());
    }
    // The URL parser forgives "https:///x" and "https:\\x" (reading host "x"); a stored value
    // that other clients parse less kindly would break their images.
    if s.split_once("://").is_none_or(|(_, rest)| rest.is_empty() || rest.starts_with(['/', '\\'])) {
        return Err(bad());
    }
    let url = url::Url::parse(s).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(Some(s.to_owned()))
}

/// Longest email address accepted, in bytes (RFC 5321's path limit, less the angle brackets).
pub const MAX_EMAIL_BYTES: usize = 254;

/// `pattern` of [`email`]: a local part, one `@`, and a domain of at least two dot-separated
/// labels, without white space or control characters. With `maxLength` [`MAX_EMAIL_BYTES`] it
/// states the rule, but for white space around an address (trimmed, so accepted) and the limit
/// being in bytes after lowercasing (an address near it holding non-ASCII letters is refused).
pub const EMAIL: &str = concat!(
    "^[^@",
    pattern_control!(),
    pattern_white_space!(),
    "]+@",
    "[^@.",
    pattern_control!(),
    pattern_white_space!(),
    "]+(?:\\.[^@.",
    pattern_control!(),
    pattern_white_space!(),
    "]+)+$"
);

/// An email address, trimmed and lowercased so that one mailbox is one account:
/// `name@domain.tld`, at most [`MAX_EMAIL_BYTES`]. Refused as `email_required` or `invalid_email`.
pub fn email(raw: &str) -> Result<String, ApiError> {
    let s = raw.trim().to_lowercase();
    let invalid = || ApiError::invalid("invalid_email", "email must look like name@example.com");
    if s.is_empty() {
        return Err(ApiError::invalid("email_required", "email is required"));
    }
    if s.len() > MAX_EMAIL_BYTES {
        return Err(ApiError::invalid("invalid_email", format!("email must be at most {MAX_EMAIL_BYTES} characters")));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
    if local.is_empty()
        || local.contains('@')
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err(invalid());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;

    const TITLE: Field = Field { name: "title", code: "title", max_chars: 5, required: true, line_breaks: false };
    const NOTE: Field = Field { name: "note", code: "note", max_chars: 10, required: false, line_breaks: true };

    fn re(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    /// Every string of up to `max_len` characters of `alphabet`.
    fn strings(alphabet: &[char], max_len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max_len {
            last = last.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn text_is_normalised_and_each_rule_has_its_code() {
        assert_eq!(clean("  Re\u{301}  ", &TITLE).unwrap(), "R\u{e9}");
        assert_eq!(clean("  ", &TITLE).unwrap_err().code, "title_required");
        assert_eq!(clean("abcdef", &TITLE).unwrap_err().code, "title_too_long");
        assert_eq!(clean("a\nb", &TITLE).unwrap_err().code, "invalid_title");
        assert_eq!(clean("a\nb\tc", &NOTE).unwrap(), "a\nb\tc");
        assert_eq!(clean("a\0b", &NOTE).unwrap_err().code, "invalid_note");
        assert_eq!(clean("", &NOTE).unwrap(), "");
    }

    #[test]
    fn the_pattern_classes_are_rusts_control_and_white_space_over_every_code_point() {
        let control = re(concat!("^[", pattern_control!(), "]$"));
        let refused_in_text = re(concat!("^[", pattern_control_but_line_breaks!(), "]$"));
        let white_space = re(concat!("^[", pattern_white_space!(), "]$"));
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let s = c.to_string();
            assert_eq!(control.is_match(&s), c.is_control(), "{c:?}");
            assert_eq!(refused_in_text.is_match(&s), c.is_control() && !matches!(c, '\t' | '\n' | '\r'), "{c:?}");
            assert_eq!(white_space.is_match(&s), c.is_whitespace(), "{c:?}");
            // What `trim` strips is what the patterns skip around the text.
            assert_eq!(s.trim().is_empty(), c.is_whitespace(), "{c:?}");
        }
    }

    #[test]
    fn each_field_pattern_accepts_exactly_what_the_rule_accepts() {
        // Characters on every edge of the rules: white space that is a control (tab, line feed,
        // VT, NEL) and that is not (space, NBSP, ideographic space), controls that are not white
        // space (NUL, the separators Python calls space), a combining accent NFC folds into the
        // letter before it, a zero-width space (neither), an emoji outside the BMP.
        let alphabet = [
            'a', ' ', '\t', '\n', '\r', '\u{b}', '\u{85}', '\u{a0}', '\u{3000}', '\0', '\u{1c}', '\u{7f}', '\u{301}', '\u{200b}',
            '😀',
        ];
        // Lengths on either side of each limit, and the characters around the text.
        let samples: Vec<String> =
            strings(&alphabet, 3).into_iter().chain(strings(&['a', 'b', ' ', '\n', '\0', '\u{3000}'], 6)).collect();
        for required in [true, false] {
            for line_breaks in [true, false] {
                for max_chars in [1, 2, 3, 10] {
                    let field = Field { name: "f", code: "f", max_chars, required, line_breaks };
                    let pattern = re(&field.pattern());
                    for s in &samples {
                        let result = check(s, &field);
                        // NFC joins "a\u{301}" into one character, so the rule may count fewer
                        // characters than the pattern (which counts what was sent): where the
                        // length decides, such a sample says nothing about the characters.
                        let nfc_shortened = s.nfc().count() < s.chars().count();
                        if nfc_shortened && !matches!(result, Err(Broken::ControlCharacters | Broken::Required)) {
                            continue;
                        }
                        assert_eq!(
                            pattern.is_match(s),
                            result.is_ok(),
                            "{s:?} (required: {required}, line breaks: {line_breaks}, at most {max_chars})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_patterns_of_the_longest_fields_are_not_too_large_for_a_regex_engine() {
        // The regex crate unrolls bounded repetition; jsonschema-rs (schemathesis' validator) is
        // built on it.
        for field in [fields::EVENT_DESCRIPTION, fields::EVENT_TITLE, fields::CHAT_MESSAGE] {
            let pattern = re(&field.pattern());
            assert!(pattern.is_match(&format!(" {} ", "x".repeat(field.max_chars))));
            assert!(!pattern.is_match(&"x".repeat(field.max_chars + 1)));
        }
    }

    #[test]
    fn the_token_pattern_refuses_exactly_the_control_characters() {
        let pattern = re(NO_CONTROL);
        for s in strings(&['a', ' ', '\n', '\u{85}', '\0', '\u{a0}', '😀'], 4) {
            assert_eq!(pattern.is_match(&s), !has_control(&s), "{s:?}");
        }
    }

    #[test]
    fn links_must_be_absolute_http_urls_or_empty() {
        assert_eq!(http_url(" ", "cover_url").unwrap(), None);
        assert_eq!(
            http_url("https://cdn.example.com/a.png", "cover_url").unwrap().as_deref(),
            Some("https://cdn.example.com/a.png")
        );
        for bad in ["javascript:alert(1)", "ftp://x/y", "https://", "https:///x", "https:\\\\x", "https://a b", "x"] {
            assert_eq!(http_url(bad, "avatar_url").unwrap_err().code, "invalid_avatar_url", "{bad}");
        }
        assert!(http_url(&format!("https://e.com/{}", "a".repeat(MAX_URL_BYTES)), "cover_url").is_err());
    }

    #[test]
    fn every_link_the_url_pattern_matches_is_accepted() {
        let pattern = re(HTTP_URL_OR_EMPTY);
        let matched = [
            "",
            "https://cdn.example.com/a.png",
            "HTTP://Example.COM",
            "http://localhost:8080/c.png?v=2#top",
            "https://a.b-c.d/",
            "http://127.0.0.1:65535/",
            "http://255.255.255.255",
            "https://a0.b/%2F/..?y=/?#f/?",
            "http://a?",
            "http://a#",
            "https://z:0",
            "https://e.com/~!$&'()*+,;=:@-._",
        ];
        for s in matched {
            assert!(pattern.is_match(s), "{s:?} should match");
            assert!(http_url(s, "cover_url").is_ok(), "{s:?} matches the pattern, so it must be accepted");
        }
        let refused = [
            "x",
            "https://",
            "https:///x",
            "https:\\\\x",
            "https://a b",
            "ftp://x/y",
            "javascript:alert(1)",
            "http://a:65536",
            "http://a.0",
            "http://1.2.3.4.5",
            "http://256.1.1.1",
            "http://0x1",
            "http://xn--a",
            "http://a/\u{0}",
            "http://a/é",
            "http:// a",
            "http://-a",
            "http://a-",
            "http://a..b",
        ];
        for s in refused {
            assert!(!pattern.is_match(s), "{s:?} should not match");
        }
        // Accepted, though the pattern does not promise them.
        for s in [
            " ",
            "\n https://a.b/ \t",
            "http://[::1]:8080/",
            "https://user@e.com/",
            "https://e.com/é",
            "http://1.2.3",
            "https://a.b/%zz",
            "https://a.b/{x}`|^[]",
            "https://a.b/a\\b",
            "https://a.b/#a#b",
        ] {
            assert!(http_url(s, "cover_url").is_ok(), "{s:?}");
            assert!(!pattern.is_match(s), "{s:?}");
        }
        // The longest link the pattern and maxLength allow is within the byte limit.
        let longest = format!("https://e.com/{}", "a".repeat(MAX_URL_BYTES - "https://e.com/".len()));
        assert!(pattern.is_match(&longest) && http_url(&longest, "cover_url").is_ok());
    }

    #[test]
    fn emails_are_trimmed_lowercased_and_need_a_dotted_domain() {
        assert_eq!(email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@.com",
            "ada@example..com",
        ] {
            let e = email(bad).unwrap_err();
            assert!(e.code == "invalid_email" || e.code == "email_required", "{bad}: {e}");
        }
        assert!(email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn the_email_pattern_accepts_exactly_what_the_rule_accepts_but_surrounding_white_space() {
        let pattern = re(EMAIL);
        for s in strings(&['a', '@', '.', ' ', '\n', '\0', 'É'], 5) {
            assert_eq!(pattern.is_match(&s), email(&s).is_ok() && s.trim() == s, "{s:?}");
        }
    }
}
