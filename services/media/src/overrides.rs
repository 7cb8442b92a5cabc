//! What happened to a user in a room after their media token was minted.
//!
//! A token carries the grants decided when it was minted and lives for minutes. A role change
//! or a removal made since then must win over it: a user promoted while reconnecting joins with
//! the new grants, and a kicked or banned user cannot rejoin with the token they already hold
//! (they need a new one, which the events service refuses while they are banned). Each worker
//! keeps this for its own rooms, so it is consulted on the same thread that admits joins.
use std::collections::HashMap;

use stagecast_authn::{MediaClaims, MediaGrants};

/// How long an entry is kept: longer than any media token lives.
const KEEP_SECS: i64 = 3600;
/// Entries beyond this trigger a sweep of the old ones.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone)]
struct Entry {
    /// Unix seconds of the change.
    at: i64,
    /// The grants since then; `None` after a removal.
    grants: Option<MediaGrants>,
}

/// Per (room, user): the latest change made by the control API.
#[derive(Debug, Default)]
pub struct Overrides {
    entries: HashMap<(String, String), Entry>,
}

/// Why a join was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct Removed;

impl Overrides {
    /// Records a change unless a later one is already known: changes arrive twice (from the
    /// gateway at once and from the bus, services/media/src/stage_feed.rs), and the bus replays
    /// the recent past after a restart.
    fn put(&mut self, room: &str, user: &str, at: i64, grants: Option<MediaGrants>) {
        if self.entries.len() >= SWEEP_AT {
            self.entries.retain(|_, e| e.at > at - KEEP_SECS);
        }
        let key = (room.to_owned(), user.to_owned());
        if self.entries.get(&key).is_some_and(|e| e.at > at) {
            return;
        }
        self.entries.insert(key, Entry { at, grants });
    }

    /// New grants for `user` in `room` as of `at` (unix seconds).
    pub fn grants_changed(&mut self, room: &str, user: &str, grants: MediaGrants, at: i64) {
        self.put(room, user, at, Some(grants));
    }

    /// `user` was removed from `room` at `at`: tokens minted until then no longer admit them.
    pub fn removed(&mut self, room: &str, user: &str, at: i64) {
        self.put(room, user, at, None);
    }

    /// Brings a joining user's claims up to date: tokens minted at or before the last change
    /// take the grants of that change, or are refused after a removal. Token times are whole
    /// seconds, so a token minted in the same second as a removal is refused too (the user asks
    /// again a moment later).
    pub fn apply(&self, claims: &mut MediaClaims) -> Result<(), Removed> {
        let Some(e) = self.entries.get(&(claims.room.clone(), claims.sub.clone())) else { return Ok(()) };
        if claims.iat > e.at {
            return Ok(());
        }
        match &e.grants {
            Some(g) => {
                claims.grants = g.clone();
                Ok(())
            }
            None => Err(Removed),
        }
    }
}

#[cfg(test)]
mod tests {
    use stagecast_authn::TrackSource;

    use super::*;

    fn claims(iat: i64, grants: MediaGrants) -> MediaClaims {
        MediaClaims {
            sub: "u1".into(),
            name: "U".into(),
            avatar: String::new(),
            room: "r1".into(),
            grants,
            iss: "stagecast-auth".into(),
            aud: "stagecast-media".into(),
            iat,
            exp: iat + 300,
            jti: "j".into(),
        }
    }

    fn audience() -> MediaGrants {
        MediaGrants { subscribe: true, publish: vec![], hidden: false, ..Default::default() }
    }

    fn speaker() -> MediaGrants {
        MediaGrants {
            subscribe: true,
            publish: vec![TrackSource::Microphone, TrackSource::Camera],
            hidden: false,
            ..Default::default()
        }
    }

    #[test]
    fn a_token_minted_before_a_promotion_joins_with_the_new_grants_and_a_later_one_keeps_its_own() {
        let mut o = Overrides::default();
        o.grants_changed("r1", "u1", speaker(), 100);
        let mut old = claims(99, audience());
        o.apply(&mut old).expect("admitted");
        assert_eq!(old.grants, speaker());
        let mut newer = claims(101, audience());
        o.apply(&mut newer).expect("admitted");
        assert_eq!(newer.grants, audience(), "a newer token was minted with the newer decision");
        let mut elsewhere = claims(50, audience());
        elsewhere.room = "r2".into();
        o.apply(&mut elsewhere).expect("other rooms are unaffected");
        assert_eq!(elsewhere.grants, audience());
    }

    #[test]
    fn a_removed_user_needs_a_token_minted_after_the_removal() {
        let mut o = Overrides::default();
        o.removed("r1", "u1", 100);
        assert_eq!(o.apply(&mut claims(99, speaker())), Err(Removed));
        assert_eq!(o.apply(&mut claims(100, speaker())), Err(Removed), "same second: refused");
        assert_eq!(o.apply(&mut claims(101, speaker())), Ok(()));
    }

    #[test]
    fn old_entries_are_swept_once_the_map_is_large() {
        let mut o = Overrides::default();
        for i in 0..SWEEP_AT {
            o.removed("r1", &format!("u{i}"), 0);
        }
        o.removed("r1", "fresh", KEEP_SECS + 10);
        assert_eq!(o.entries.len(), 1);
    }
}
