//! Guest invite links: what a link grants, its limits, and the secret a guest presents.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use stagecast_kit::{ApiError, ErrorKind};
use uuid::Uuid;

use super::{Role, UserId};

/// Links last a day unless asked otherwise, and at most a week.
pub const DEFAULT_TTL: Duration = Duration::hours(24);
pub const MAX_TTL: Duration = Duration::days(7);
pub const MAX_USES: u32 = 1000;

/// The secret part of a link, shown once when it is made; only its hash is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(…)")
    }
}

impl LinkToken {
    pub fn generate() -> Self {
        Self(B64.encode(rand::random::<[u8; 32]>()))
    }

    /// Accepts only strings shaped like tokens we issue; anything else cannot be a link.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim();
        if s.len() != 43 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(link_not_found());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

pub fn link_not_found() -> ApiError {
    ApiError::not_found("link_not_found", "this invite link does not exist; ask the host for a new one")
}

/// What a host asks for when making a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSpec {
    /// Speaker or co-host.
    pub role: Role,
    pub ttl: Duration,
    pub max_uses: u32,
    pub needs_approval: bool,
}

impl LinkSpec {
    /// `ttl_secs` 0 means the default; `max_uses` 0 means one use.
    pub fn parse(role: &str, ttl_secs: u32, max_uses: u32, needs_approval: bool) -> Result<Self, ApiError> {
        let role = Role::parse(role)?;
        if !matches!(role, Role::Speaker | Role::CoHost) {
            return Err(ApiError::invalid("invalid_link_role", "an invite link grants the speaker or the cohost role"));
        }
        let ttl = if ttl_secs == 0 { DEFAULT_TTL } else { Duration::seconds(i64::from(ttl_secs)) };
        if ttl < Duration::minutes(1) || ttl > MAX_TTL {
            return Err(ApiError::invalid("invalid_expiry", "a link lasts between 60 seconds and 7 days (expires_in_secs)"));
        }
        let max_uses = if max_uses == 0 { 1 } else { max_uses };
        if max_uses > MAX_USES {
            return Err(ApiError::invalid("invalid_max_uses", format!("a link can be used at most {MAX_USES} times")));
        }
        Ok(Self { role, ttl, max_uses, needs_approval })
    }
}

/// A stored link.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestLink {
    pub id: Uuid,
    pub role: Role,
    pub needs_approval: bool,
    pub max_uses: u32,
    pub uses: u32,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl GuestLink {
    /// Whether a guest may still join with it at `now`; the refusal says why not.
    pub fn check_usable(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        if self.revoked_at.is_some() {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "link_revoked",
                "this invite link was withdrawn; ask the host for a new one",
            ));
        }
        if now >= self.expires_at {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "link_expired",
                "this invite link has expired; ask the host for a new one",
            ));
        }
        if self.uses >= self.max_uses {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "link_exhausted",
                "this invite link has been used as often as it may be; ask the host for a new one",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(now: DateTime<Utc>) -> GuestLink {
        GuestLink {
            id: Uuid::new_v4(),
            role: Role::Speaker,
            needs_approval: false,
            max_uses: 2,
            uses: 0,
            created_by: UserId::from_uuid(Uuid::new_v4()),
            created_at: now,
            expires_at: now + Duration::hours(1),
            revoked_at: None,
        }
    }

    #[test]
    fn a_link_is_usable_until_revoked_expired_or_used_up() {
        let now = Utc::now();
        assert!(link(now).check_usable(now).is_ok());
        assert_eq!(link(now).check_usable(now + Duration::hours(1)).expect_err("expired").code, "link_expired");
        let used = GuestLink { uses: 2, ..link(now) };
        assert_eq!(used.check_usable(now).expect_err("used up").code, "link_exhausted");
        let revoked = GuestLink { revoked_at: Some(now), uses: 2, ..link(now) };
        assert_eq!(revoked.check_usable(now + Duration::hours(2)).expect_err("revoked first").code, "link_revoked");
    }

    #[test]
    fn links_grant_speaker_or_cohost_within_limits() {
        let spec = LinkSpec::parse("speaker", 0, 0, false).expect("defaults");
        assert_eq!((spec.role, spec.ttl, spec.max_uses), (Role::Speaker, DEFAULT_TTL, 1));
        assert_eq!(LinkSpec::parse("moderator", 0, 0, false).expect_err("role").code, "invalid_link_role");
        assert_eq!(LinkSpec::parse("owner", 0, 0, false).expect_err("role").code, "invalid_role");
        assert_eq!(LinkSpec::parse("cohost", 30, 0, false).expect_err("short").code, "invalid_expiry");
        assert_eq!(LinkSpec::parse("cohost", 8 * 86_400, 0, false).expect_err("long").code, "invalid_expiry");
        assert_eq!(LinkSpec::parse("speaker", 0, 1001, false).expect_err("uses").code, "invalid_max_uses");
    }

    #[test]
    fn tokens_are_random_hashed_and_only_our_shape_parses() {
        let (a, b) = (LinkToken::generate(), LinkToken::generate());
        assert_ne!(a, b);
        assert_eq!(LinkToken::parse(a.expose()).expect("parses").hash(), a.hash());
        assert_eq!(a.hash().len(), 32);
        assert!(!format!("{a:?}").contains(a.expose()), "never printed");
        for bad in ["", "short", &"x".repeat(44), &format!("{}!", &"x".repeat(42))] {
            assert_eq!(LinkToken::parse(bad).expect_err("bad").code, "link_not_found");
        }
    }
}
