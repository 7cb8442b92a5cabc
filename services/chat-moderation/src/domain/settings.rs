use std::time::Duration;

use stagecast_kit::ApiError;

use super::{BlockedTermMode, BlockedTerms};

/// Seconds each viewer must wait between messages; 0 turns slow mode off. At most an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlowMode(u32);

impl SlowMode {
    pub const MAX_SECS: u32 = 3600;

    pub fn parse(secs: u32) -> Result<Self, ApiError> {
        if secs > Self::MAX_SECS {
            return Err(ApiError::invalid("invalid_slow_mode", format!("slow mode is 0 (off) to {} seconds", Self::MAX_SECS)));
        }
        Ok(Self(secs))
    }

    /// A value read back from storage, where a CHECK constraint keeps it in range.
    pub fn from_stored(secs: i32) -> Self {
        Self(u32::try_from(secs).unwrap_or(0).min(Self::MAX_SECS))
    }

    pub fn secs(self) -> u32 {
        self.0
    }

    pub fn is_off(self) -> bool {
        self.0 == 0
    }
}

/// How long a timeout keeps a user quiet: 1 second to 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutDuration(u32);

impl TimeoutDuration {
    pub const MAX_SECS: u32 = 86_400;

    pub fn parse(secs: u32) -> Result<Self, ApiError> {
        if secs == 0 || secs > Self::MAX_SECS {
            return Err(ApiError::invalid(
                "invalid_timeout_duration",
                format!("a timeout lasts 1 to {} seconds", Self::MAX_SECS),
            ));
        }
        Ok(Self(secs))
    }

    pub fn secs(self) -> u32 {
        self.0
    }

    pub fn as_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0))
    }
}

/// What moderators have set for a room. A room nobody configured has the defaults: no slow
/// mode, no blocked terms, mode reject.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoomSettings {
    pub slow_mode: SlowMode,
    pub blocked_terms: BlockedTerms,
    pub blocked_term_mode: BlockedTermMode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_mode_is_off_or_up_to_an_hour() {
        assert!(SlowMode::parse(0).expect("off").is_off());
        assert_eq!(SlowMode::parse(3600).expect("an hour").secs(), 3600);
        assert_eq!(SlowMode::parse(3601).expect_err("too long").code, "invalid_slow_mode");
    }

    #[test]
    fn timeouts_last_one_second_to_a_day() {
        assert_eq!(TimeoutDuration::parse(0).expect_err("zero").code, "invalid_timeout_duration");
        assert_eq!(TimeoutDuration::parse(86_401).expect_err("too long").code, "invalid_timeout_duration");
        assert_eq!(TimeoutDuration::parse(86_400).expect("a day").as_duration(), Duration::from_secs(86_400));
    }
}
