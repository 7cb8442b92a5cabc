//! The chat domain, free of I/O: values that parse (holding one means it is valid), rooms and
//! roles, blocked-term matching, and the moderation rules of who may do what to whom.
//!
//! Every refusal is an [`stagecast_kit::ApiError`] with a specific code, so the edge passes it
//! on unchanged.
mod ids;
mod message;
mod moderation;
mod paging;
mod room;
mod settings;
mod terms;
mod text;

pub use ids::{ActionId, EventId, MessageId, UserId, parse_uuid as parse_uuid_field};
pub use message::{Author, ChatMessage, Sent, at_stored_precision};
pub use moderation::{ActionKind, Command, ModerationAction, ensure_can_be_moderated};
pub use paging::{PageSize, ReplayOffset};
pub use room::{ChatRole, Room, RoomStatus};
pub use settings::{RoomSettings, SlowMode, TimeoutDuration};
pub use terms::{BlockedTerm, BlockedTermMode, BlockedTerms};
pub use text::{AvatarUrl, ClientMsgId, DisplayName, MessageText, Reason};
