//! Event and user ids come from the shared `stagecast-ids`; only the co-host field is ours.
pub use stagecast_ids::{EventId, UserId};
use stagecast_kit::ApiError;

/// Parses one entry of a co-host list.
pub fn parse_cohost(raw: &str) -> Result<UserId, ApiError> {
    UserId::parse_as(raw, "invalid_cohost_id", |v| format!("co-host id {v:?} is not a user id (UUID)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cohost_that_is_not_a_user_id_names_the_field() {
        assert_eq!(parse_cohost("bob").expect_err("not a uuid").code, "invalid_cohost_id");
    }
}
