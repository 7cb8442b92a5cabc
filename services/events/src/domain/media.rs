//! Who may do what in an event's media room. The auth service signs whatever this decides, and
//! the SFU enforces the signed grants, so this function is the whole policy.
use stagecast_authn::{MediaGrants, TrackSource};
use stagecast_kit::{ApiError, ErrorKind};

use super::{EventStatus, Role};

/// What a user is in the media room, as named in the API.
pub fn stage_role(role: Role) -> &'static str {
    match role {
        Role::Host => "host",
        Role::CoHost => "cohost",
        Role::Outsider => "audience",
    }
}

/// The grants for a user with `role` in an event that is `status`.
///
/// The host and co-hosts publish every source, also while the event is still scheduled (a
/// backstage preview before going live); everyone else only watches. Once the event has ended
/// or was cancelled nobody joins its room any more. Nobody is hidden: hidden grants are for
/// recorders, which do not come through here.
pub fn media_grants(role: Role, status: EventStatus) -> Result<MediaGrants, ApiError> {
    if status.is_closed() {
        return Err(ApiError::new(
            ErrorKind::FailedPrecondition,
            "event_over",
            format!("the event is {status}; its stage is closed"),
        ));
    }
    let publish = match role {
        Role::Host | Role::CoHost => TrackSource::ALL.to_vec(),
        Role::Outsider => Vec::new(),
    };
    Ok(MediaGrants { subscribe: true, publish, hidden: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_cohosts_publish_every_source_while_scheduled_or_live() {
        for role in [Role::Host, Role::CoHost] {
            for status in [EventStatus::Scheduled, EventStatus::Live] {
                let g = media_grants(role, status).expect("open event");
                assert!(g.subscribe, "{role:?} {status}");
                assert_eq!(g.publish, TrackSource::ALL.to_vec(), "{role:?} {status}");
                assert!(!g.hidden);
            }
        }
    }

    #[test]
    fn the_audience_only_subscribes() {
        for status in [EventStatus::Scheduled, EventStatus::Live] {
            let g = media_grants(Role::Outsider, status).expect("open event");
            assert_eq!(g, MediaGrants { subscribe: true, publish: vec![], hidden: false }, "{status}");
        }
    }

    #[test]
    fn nobody_joins_an_ended_or_cancelled_event() {
        for status in [EventStatus::Ended, EventStatus::Cancelled] {
            for role in [Role::Host, Role::CoHost, Role::Outsider] {
                let e = media_grants(role, status).expect_err("closed event");
                assert_eq!((e.kind, e.code.as_ref()), (ErrorKind::FailedPrecondition, "event_over"), "{role:?} {status}");
            }
        }
    }

    #[test]
    fn roles_have_their_api_names() {
        assert_eq!([Role::Host, Role::CoHost, Role::Outsider].map(stage_role), ["host", "cohost", "audience"]);
    }
}
