use stagecast_kit::ApiError;

/// How many messages or audit entries one page holds: 0 asks for the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    /// History, Join history and the audit log: default 50, at most 200.
    pub fn history(limit: u32) -> Result<Self, ApiError> {
        Self::parse(limit, 50, 200)
    }

    /// Replay: default 100, at most 500.
    pub fn replay(limit: u32) -> Result<Self, ApiError> {
        Self::parse(limit, 100, 500)
    }

    fn parse(limit: u32, default: u32, max: u32) -> Result<Self, ApiError> {
        match limit {
            0 => Ok(Self(default)),
            n if n <= max => Ok(Self(n)),
            _ => Err(ApiError::invalid("invalid_limit", format!("limit is 1 to {max} (0 for the default of {default})"))),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn as_usize(self) -> usize {
        self.0 as usize
    }
}

/// Where a replay page starts: milliseconds since the event went live, not negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayOffset(i64);

impl ReplayOffset {
    /// Beyond this (about 292 years) the offset cannot be added to a timestamp.
    const MAX_MS: i64 = i64::MAX / 1_000_000;

    pub fn parse(ms: i64) -> Result<Self, ApiError> {
        if !(0..=Self::MAX_MS).contains(&ms) {
            return Err(ApiError::invalid("invalid_from_offset", "from_offset_ms is a non-negative number of milliseconds"));
        }
        Ok(Self(ms))
    }

    pub fn ms(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(PageSize::history(0).expect("default").get(), 50);
        assert_eq!(PageSize::history(200).expect("max").get(), 200);
        assert_eq!(PageSize::history(201).expect_err("too big").code, "invalid_limit");
        assert_eq!(PageSize::replay(0).expect("default").get(), 100);
        assert_eq!(PageSize::replay(500).expect("max").get(), 500);
        assert_eq!(PageSize::replay(501).expect_err("too big").code, "invalid_limit");
    }

    #[test]
    fn replay_offsets_are_not_negative() {
        assert_eq!(ReplayOffset::parse(0).expect("start").ms(), 0);
        assert_eq!(ReplayOffset::parse(-1).expect_err("negative").code, "invalid_from_offset");
        assert!(ReplayOffset::parse(i64::MAX).is_err());
    }
}
