use stagecast_kit::{ApiError, ErrorKind};

use super::UserId;

/// The co-hosts of an event: at most 10 distinct users, kept sorted so that the order a caller
/// sent them in does not matter and every read returns the same list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CoHosts(Vec<UserId>);

impl CoHosts {
    pub const MAX: usize = 10;

    /// Parses a co-host list. Repeating an id is harmless and is collapsed; the limit counts
    /// distinct users. Whether the host is among them is checked by [`CoHosts::exclude_host`],
    /// because the host is not always known at the edge.
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, ApiError> {
        let mut ids = raw.iter().map(|s| super::ids::parse_cohost(s.as_ref())).collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        ids.dedup();
        if ids.len() > Self::MAX {
            return Err(ApiError::invalid(
                "too_many_cohosts",
                format!("an event can have at most {} co-hosts, {} were given", Self::MAX, ids.len()),
            ));
        }
        Ok(Self(ids))
    }

    /// Refuses a list that names the host: the host already has every right a co-host has, and a
    /// host listed twice would keep co-host rights after a hand-over.
    pub fn exclude_host(&self, host: UserId) -> Result<(), ApiError> {
        if self.contains(host) {
            return Err(ApiError::new(ErrorKind::InvalidInput, "host_cannot_be_cohost", "the host cannot also be a co-host"));
        }
        Ok(())
    }

    /// Co-host ids read back from storage (the store returns them sorted).
    pub fn from_stored(mut ids: Vec<UserId>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        Self(ids)
    }

    pub fn contains(&self, user: UserId) -> bool {
        self.0.binary_search(&user).is_ok()
    }

    pub fn ids(&self) -> &[UserId] {
        &self.0
    }

    /// The list with `user` added (a stage promotion), within the same limit as a parsed list.
    pub fn with(&self, user: UserId) -> Result<Self, ApiError> {
        let mut ids = self.0.clone();
        ids.push(user);
        let next = Self::from_stored(ids);
        if next.0.len() > Self::MAX {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "too_many_cohosts",
                format!("an event can have at most {} co-hosts", Self::MAX),
            ));
        }
        Ok(next)
    }

    /// The list without `user`.
    pub fn without(&self, user: UserId) -> Self {
        Self(self.0.iter().copied().filter(|u| *u != user).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|_| Uuid::new_v4().to_string()).collect()
    }

    #[test]
    fn cohosts_are_sorted_and_duplicates_collapse() {
        let mut raw = ids(3);
        raw.push(raw[0].clone());
        let parsed = CoHosts::parse(&raw).expect("valid");
        assert_eq!(parsed.ids().len(), 3);
        assert!(parsed.ids().windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn at_most_ten_distinct_cohosts() {
        assert!(CoHosts::parse(&ids(10)).is_ok());
        assert_eq!(CoHosts::parse(&ids(11)).expect_err("eleven").code, "too_many_cohosts");
        let mut ten_with_repeats = ids(10);
        ten_with_repeats.extend(ten_with_repeats.clone());
        assert!(CoHosts::parse(&ten_with_repeats).is_ok());
    }

    #[test]
    fn a_cohost_id_that_is_not_a_uuid_is_refused() {
        let mut raw = ids(2);
        raw.push("alice".into());
        assert_eq!(CoHosts::parse(&raw).expect_err("bad id").code, "invalid_cohost_id");
    }

    #[test]
    fn the_host_cannot_be_a_cohost() {
        let raw = ids(2);
        let cohosts = CoHosts::parse(&raw).expect("valid");
        let host = UserId::parse_actor(&raw[1]).expect("valid");
        assert_eq!(cohosts.exclude_host(host).expect_err("host listed").code, "host_cannot_be_cohost");
        let other = UserId::parse_actor(&Uuid::new_v4().to_string()).expect("valid");
        assert!(cohosts.exclude_host(other).is_ok());
    }
}
