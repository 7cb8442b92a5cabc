//! The events domain, free of I/O: values that parse (holding one means it is valid), the event
//! aggregate with its lifecycle and who may do what, the grants on the media stage, and the
//! listing/paging rules.
//!
//! Every refusal is an [`stagecast_kit::ApiError`] with a specific code, so the edge passes it on
//! unchanged.
mod cohosts;
mod event;
mod ids;
mod links;
mod listing;
mod policy;
mod stage;
mod status;
mod text;

pub use cohosts::CoHosts;
pub use event::{CLOCK_SKEW, Changes, Event, EventPatch, NewEvent, at_stored_precision};
pub use ids::{EventId, UserId};
pub use links::{GuestLink, LinkSpec, LinkToken, link_not_found};
pub use listing::{Cursor, ListFilter, ListQuery, Page, PageSize};
pub use policy::{Action, ChatRights, Role, authorize, chat_rights, media_grants, media_grants_in};
pub use stage::{ChangeKind, INVITATION_TTL, Invitation, InvitationState, Members, Stage, StageChange, banned, parse_reason};
pub use status::{EventStatus, Transition};
pub use text::{CoverUrl, Description, EventTitle};
