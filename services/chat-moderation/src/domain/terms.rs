use stagecast_kit::ApiError;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// What happens to a message that contains a blocked term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockedTermMode {
    /// Refused with `blocked_term`; the sender may rephrase.
    #[default]
    Reject,
    /// Accepted but held for a moderator; nobody else sees it until approved.
    Hold,
}

impl BlockedTermMode {
    /// The spelling stored in `room_settings.blocked_term_mode` (see its CHECK constraint).
    pub fn as_str(self) -> &'static str {
        match self {
            BlockedTermMode::Reject => "reject",
            BlockedTermMode::Hold => "hold",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "reject" => Some(BlockedTermMode::Reject),
            "hold" => Some(BlockedTermMode::Hold),
            _ => None,
        }
    }
}

/// One blocked term: NFC-normalised, trimmed, 1..=50 characters, at least one word. It matches
/// whole words only, case-insensitively; a term of several words matches those words in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedTerm {
    /// As the moderator wrote it (normalised), for showing back.
    text: String,
    /// Its words, lowercased: what matching compares.
    words: Vec<String>,
}

impl BlockedTerm {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let text: String = raw.nfc().collect::<String>().trim().to_owned();
        let count = text.chars().count();
        if count == 0 || count > Self::MAX_CHARS || text.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "invalid_blocked_term",
                format!("each blocked term is 1 to {} characters without control characters", Self::MAX_CHARS),
            ));
        }
        let words = words(&text);
        // "!!!" has no words, so it could never match: refusing it beats silently ignoring it.
        if words.is_empty() {
            return Err(ApiError::invalid("invalid_blocked_term", "each blocked term must contain at least one word"));
        }
        Ok(Self { text, words })
    }

    /// A term read back from storage; its words are derived again (derivation only depends on
    /// Unicode data, not on rules that may tighten).
    pub fn from_stored(text: String) -> Self {
        let words = words(&text);
        Self { text, words }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the term's words occur consecutively among `message_words`.
    fn occurs_in(&self, message_words: &[String]) -> bool {
        !self.words.is_empty() && message_words.windows(self.words.len()).any(|window| window == self.words.as_slice())
    }
}

/// Lowercase, then split at Unicode word boundaries (UAX #29), keeping only the words.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase().unicode_words().map(str::to_owned).collect()
}

/// A room's list of blocked terms: at most 100, duplicates (ignoring case) dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockedTerms(Vec<BlockedTerm>);

impl BlockedTerms {
    pub const MAX_TERMS: usize = 100;

    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, ApiError> {
        if raw.len() > Self::MAX_TERMS {
            return Err(ApiError::invalid(
                "too_many_blocked_terms",
                format!("a room has at most {} blocked terms", Self::MAX_TERMS),
            ));
        }
        let mut terms: Vec<BlockedTerm> = Vec::with_capacity(raw.len());
        for r in raw {
            let term = BlockedTerm::parse(r.as_ref())?;
            if !terms.iter().any(|t| t.words == term.words) {
                terms.push(term);
            }
        }
        Ok(Self(terms))
    }

    pub fn from_stored(terms: Vec<String>) -> Self {
        Self(terms.into_iter().map(BlockedTerm::from_stored).collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &BlockedTerm> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn texts(&self) -> Vec<String> {
        self.0.iter().map(|t| t.text.clone()).collect()
    }

    /// The first term that occurs in `text`, if any.
    pub fn find_in(&self, text: &str) -> Option<&BlockedTerm> {
        if self.0.is_empty() {
            return None;
        }
        let message_words = words(text);
        self.0.iter().find(|t| t.occurs_in(&message_words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(list: &[&str]) -> BlockedTerms {
        BlockedTerms::parse(list).expect("valid terms")
    }

    #[test]
    fn terms_match_whole_words_ignoring_case() {
        let t = terms(&["spam"]);
        assert!(t.find_in("buy SPAM now").is_some());
        assert!(t.find_in("Spam!").is_some());
        assert!(t.find_in("spammer here").is_none(), "not a whole word");
        assert!(t.find_in("antispam").is_none());
    }

    #[test]
    fn multi_word_terms_match_consecutive_words() {
        let t = terms(&["free money"]);
        assert!(t.find_in("get FREE   money, today").is_some());
        assert!(t.find_in("free, money").is_some(), "punctuation between words is not a word");
        assert!(t.find_in("free the money").is_none());
        assert!(t.find_in("money free").is_none());
    }

    #[test]
    fn matching_is_unicode_aware() {
        let t = terms(&["ÉCOLE", "straße"]);
        assert!(t.find_in("demain, École!").is_some(), "lowercased on both sides");
        // UAX #29 keeps an apostrophe between letters inside the word.
        assert!(t.find_in("à l'école").is_none());
        assert!(terms(&["L'ÉCOLE"]).find_in("à l'école").is_some());
        assert!(t.find_in("e\u{301}cole").is_none(), "the message is NFC-normalised before it gets here");
        assert!(t.find_in("die STRASSE").is_none(), "lowercasing is not case folding");
        assert!(t.find_in("die Straße").is_some());
        let cjk = terms(&["日本"]);
        assert!(cjk.find_in("日本").is_some());
    }

    #[test]
    fn term_lists_are_bounded_and_terms_checked() {
        let many: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
        assert_eq!(BlockedTerms::parse(&many).expect_err("too many").code, "too_many_blocked_terms");
        assert_eq!(BlockedTerms::parse(&[""]).expect_err("empty").code, "invalid_blocked_term");
        assert_eq!(BlockedTerms::parse(&["!!!"]).expect_err("no word").code, "invalid_blocked_term");
        assert_eq!(BlockedTerms::parse(&["x".repeat(51)]).expect_err("long").code, "invalid_blocked_term");
        assert_eq!(terms(&["Spam", "spam ", "SPAM"]).texts(), vec!["Spam".to_owned()], "duplicates dropped");
        assert!(terms(&[]).find_in("anything").is_none());
    }
}
