//! The one set of rules for free text and links that people type: NFC-normalised (so "é" typed
//! two ways is one string), trimmed, bounded in characters, no control characters; links are
//! absolute http(s) URLs. Each service names its fields; refusal codes follow the field:
//! `{code}_required`, `{code}_too_long`, `invalid_{code}`.
use unicode_normalization::UnicodeNormalization;

use crate::{ApiError, ErrorKind};

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

fn invalid(code: String, message: String) -> ApiError {
    ApiError::new(ErrorKind::InvalidInput, code, message)
}

/// The cleaned text, or the refusal that names the field and the rule.
pub fn clean(raw: &str, f: &Field) -> Result<String, ApiError> {
    let s = normalise(raw);
    if f.required && s.is_empty() {
        return Err(invalid(format!("{}_required", f.code), format!("{} is required", f.name)));
    }
    if s.chars().count() > f.max_chars {
        return Err(invalid(format!("{}_too_long", f.code), format!("{} must be at most {} characters", f.name, f.max_chars)));
    }
    // NUL in particular: Postgres text cannot hold it, so letting it through would turn a bad
    // request into an internal error.
    if s.chars().any(|c| c.is_control() && !(f.line_breaks && matches!(c, '\n' | '\r' | '\t'))) {
        let allowed = if f.line_breaks { " other than line breaks and tabs" } else { " (including line breaks)" };
        return Err(invalid(format!("invalid_{}", f.code), format!("{} must not contain control characters{allowed}", f.name)));
    }
    Ok(s)
}

/// Longest link accepted, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

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

#[cfg(test)]
mod tests {
    use super::*;

    const TITLE: Field = Field { name: "title", code: "title", max_chars: 5, required: true, line_breaks: false };
    const NOTE: Field = Field { name: "note", code: "note", max_chars: 10, required: false, line_breaks: true };

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
}
