//! A stage change as the REST stage answers and the live socket's `stage` frame carry it.
use serde::Serialize;
use stagecast_proto::events::v1 as pb;
use utoipa::ToSchema;

use super::rfc3339;

/// A role in an event (the events service's one role model); everyone without a role of their
/// own is the audience.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names the events service's `Role` parses and answers
pub enum StageRole {
    #[serde(rename = "host")]
    Host,
    #[serde(rename = "cohost")]
    CoHost,
    #[serde(rename = "moderator")]
    Moderator,
    #[serde(rename = "speaker")]
    Speaker,
    #[serde(rename = "audience")]
    Audience,
}

/// What a stage change did.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names of the events service's `ChangeKind`
pub enum StageChangeKind {
    #[serde(rename = "hand_raised")]
    HandRaised,
    #[serde(rename = "hand_lowered")]
    HandLowered,
    #[serde(rename = "invited")]
    Invited,
    #[serde(rename = "invitation_accepted")]
    InvitationAccepted,
    #[serde(rename = "invitation_declined")]
    InvitationDeclined,
    #[serde(rename = "invitation_withdrawn")]
    InvitationWithdrawn,
    #[serde(rename = "role_changed")]
    RoleChanged,
    #[serde(rename = "muted")]
    Muted,
    #[serde(rename = "kicked")]
    Kicked,
    #[serde(rename = "banned")]
    Banned,
    #[serde(rename = "unbanned")]
    Unbanned,
    #[serde(rename = "brought_on_air")]
    BroughtOnAir,
    #[serde(rename = "sent_backstage")]
    SentBackstage,
}

/// The track a `muted` change muted (`stagecast_authn::TrackSource`).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the names `stagecast_authn::TrackSource` parses
pub enum MutedSource {
    #[serde(rename = "camera")]
    Camera,
    #[serde(rename = "microphone")]
    Microphone,
    #[serde(rename = "screen")]
    Screen,
    #[serde(rename = "screen_audio")]
    ScreenAudio,
}

/// An invitation to speak; open for 120 seconds.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = StageInvitation)]
pub struct Invitation {
    #[schema(format = Uuid)]
    id: String,
    /// Who is invited.
    user_id: String,
    invited_by: String,
    #[schema(format = DateTime, required = true)]
    created_at: Option<String>,
    /// When it can no longer be accepted.
    #[schema(format = DateTime, required = true)]
    expires_at: Option<String>,
}

pub fn invitation(i: pb::Invitation) -> Invitation {
    Invitation {
        created_at: rfc3339(i.created_at.as_ref()),
        expires_at: rfc3339(i.expires_at.as_ref()),
        id: i.id,
        user_id: i.user_id,
        invited_by: i.invited_by,
    }
}

/// One stage change, as the REST API and the `stage` WebSocket frame carry it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageChange {
    #[schema(value_type = StageChangeKind)]
    kind: String,
    /// Who made the change (the guest themself, or the link's maker, for a guest who joined).
    actor_id: String,
    target_user_id: String,
    /// The target's role after the change.
    #[schema(value_type = StageRole)]
    role: String,
    /// The target's role before, when it changed (role changes, invitation answers, bans).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<StageRole>, nullable = false)]
    previous_role: Option<String>,
    /// Absent when none was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reason: Option<String>,
    #[schema(format = DateTime, required = true)]
    at: Option<String>,
    /// The invitation, for the invitation changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    invitation: Option<Invitation>,
    // Documented by `MutedSource` (a description here would break the inlined enum).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<MutedSource>, inline, nullable = false)]
    source: Option<String>,
}

pub fn change(c: pb::StageChanged) -> StageChange {
    let some = |s: String| Some(s).filter(|s| !s.is_empty());
    StageChange {
        at: rfc3339(c.at.as_ref()),
        invitation: c.invitation.map(invitation),
        previous_role: some(c.previous_role),
        reason: some(c.reason),
        source: some(c.source),
        kind: c.kind,
        actor_id: c.actor_id,
        target_user_id: c.target_user_id,
        role: c.role,
    }
}
