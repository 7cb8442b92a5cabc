//! The stage use cases: each reads the event under its row lock (so changes to one event's
//! stage run one after another, and of two promotions racing for the last seat exactly one
//! wins), asks the policy, writes the change, its stage-log row and its bus message, and commits.
//! A refusal drops the transaction and leaves no trace.
use chrono::Utc;
use sqlx::{PgConnection, PgPool};
use stagecast_authn::{MediaGrants, TrackSource};
use stagecast_kit::{ApiError, ErrorKind};
use uuid::Uuid;

use crate::{
    announce::{self, Change},
    domain::{
        Action, ChangeKind, EventId, GuestLink, INVITATION_TTL, Invitation, InvitationState, LinkSpec, LinkToken, Members, Role,
        Stage, StageChange, UserId, at_stored_precision, authorize, banned, link_not_found, media_grants_in,
    },
    stage_store, store,
};

/// What a stage change did, and what the target may now do in the media room.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub change: StageChange,
    /// `None` once the event is over (nobody joins its room any more).
    pub grants: Option<MediaGrants>,
}

/// The stage as one caller may see it.
#[derive(Debug, Clone)]
pub struct StageView {
    pub stage: Stage,
    pub your_role: Role,
    pub hands: Vec<(UserId, chrono::DateTime<Utc>)>,
    pub invitations: Vec<Invitation>,
    pub bans: Vec<(UserId, UserId, String, chrono::DateTime<Utc>)>,
}

#[derive(Clone)]
pub struct Stages {
    pool: PgPool,
}

fn event_not_found(id: EventId) -> ApiError {
    ApiError::not_found("event_not_found", format!("there is no event {id}"))
}

fn event_over(stage: &Stage) -> Result<(), ApiError> {
    if stage.event.status.is_closed() {
        return Err(ApiError::new(
            ErrorKind::FailedPrecondition,
            "event_over",
            format!("the event is {}; its stage is closed", stage.event.status),
        ));
    }
    Ok(())
}

/// Reads the stage of `id`, locking the event row for the rest of the transaction.
async fn lock(tx: &mut PgConnection, id: EventId, user: UserId) -> Result<Stage, ApiError> {
    let event = store::find_for_update(tx, id).await?.ok_or_else(|| event_not_found(id))?;
    let members = stage_store::members(&mut *tx, id).await?;
    let max_speakers = stage_store::max_speakers(&mut *tx, id).await?;
    let banned = stage_store::is_banned(&mut *tx, id, user).await?;
    let backstage = stage_store::backstage(&mut *tx, id).await?;
    Ok(Stage { event, max_speakers, members, banned, backstage })
}

/// Reads the stage of `id` without a lock (for reads that change nothing).
async fn read(pool: &PgPool, id: EventId) -> Result<Stage, ApiError> {
    let event = store::find(pool, id).await?.ok_or_else(|| event_not_found(id))?;
    let members = stage_store::members(pool, id).await?;
    let max_speakers = stage_store::max_speakers(pool, id).await?;
    let backstage = stage_store::backstage(pool, id).await?;
    Ok(Stage { event, max_speakers, members, banned: false, backstage })
}

impl Stages {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// What `user` may do in the event's media room, and their role. Banned users get nothing.
    pub async fn media_grants(&self, id: EventId, user: UserId) -> Result<(Role, MediaGrants), ApiError> {
        let stage = read(&self.pool, id).await?;
        if stage_store::is_banned(&self.pool, id, user).await? {
            return Err(banned());
        }
        let role = stage.role_of(user);
        Ok((role, media_grants_in(role, stage.event.status, stage.is_backstage(user))?))
    }

    pub async fn view(&self, id: EventId, actor: UserId) -> Result<StageView, ApiError> {
        let stage = read(&self.pool, id).await?;
        let your_role = stage.role_of(actor);
        let staff = authorize(your_role, Action::SeeQueue).is_ok();
        let mut hands = stage_store::hands(&self.pool, id).await?;
        let mut invitations = stage_store::pending_invitations(&self.pool, id).await?;
        let now = Utc::now();
        invitations.retain(|i| i.expires_at > now);
        let bans = if staff { stage_store::bans(&self.pool, id).await? } else { Vec::new() };
        if !staff {
            // Others see only their own place in the queue and their own invitation.
            hands.retain(|(u, _)| *u == actor);
            invitations.retain(|i| i.user_id == actor);
        }
        Ok(StageView { stage, your_role, hands, invitations, bans })
    }

    pub async fn raise_hand(&self, id: EventId, actor: UserId) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let stage = lock(&mut tx, id, actor).await?;
        refuse_banned(&stage)?;
        event_over(&stage)?;
        let role = stage.role_of(actor);
        authorize(role, Action::RaiseHand)?;
        let now = at_stored_precision(Utc::now());
        if !stage_store::raise_hand(&mut tx, id, actor, now).await? {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "hand_already_raised", "your hand is raised already"));
        }
        let change = StageChange::new(ChangeKind::HandRaised, actor, actor, role, now);
        commit(tx, &stage, change).await
    }

    /// Lowers `target`'s hand: one's own, or anyone's for staff of a higher rank.
    pub async fn lower_hand(&self, id: EventId, actor: UserId, target: UserId) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let stage = lock(&mut tx, id, actor).await?;
        let role = stage.role_of(target);
        if target != actor {
            authorize(stage.role_of(actor), Action::LowerHand { target: role })?;
        }
        if !stage_store::lower_hand(&mut tx, id, target).await? {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "hand_not_raised", "that hand is not raised"));
        }
        let now = at_stored_precision(Utc::now());
        let change = StageChange::new(ChangeKind::HandLowered, actor, target, role, now);
        commit(tx, &stage, change).await
    }

    pub async fn invite(&self, id: EventId, actor: UserId, target: UserId) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let stage = lock(&mut tx, id, actor).await?;
        event_over(&stage)?;
        let role = stage.role_of(target);
        authorize(stage.role_of(actor), Action::Invite { target: role })?;
        if stage_store::is_banned(&mut *tx, id, target).await? {
            return Err(ApiError::forbidden("banned", "they are banned from this event; lift the ban first"));
        }
        stage.check_seat_free()?;
        let now = at_stored_precision(Utc::now());
        let open = stage_store::pending_invitations(&mut *tx, id).await?;
        if open.iter().any(|i| i.user_id == target && i.expires_at > now) {
            return Err(ApiError::new(ErrorKind::Conflict, "already_invited", "they have an open invitation already"));
        }
        // An expired invitation still pending is closed, so the new one is the only open one.
        stage_store::cancel_invitations(&mut tx, id, target, now).await?;
        let invitation = Invitation {
            id: Uuid::now_v7(),
            user_id: target,
            invited_by: actor,
            created_at: now,
            expires_at: now + INVITATION_TTL,
            state: InvitationState::Pending,
        };
        stage_store::insert_invitation(&mut tx, id, &invitation).await?;
        let mut change = StageChange::new(ChangeKind::Invited, actor, target, role, now);
        change.invitation = Some(invitation);
        commit(tx, &stage, change).await
    }

    /// The invitee accepts (takes a speaker's seat) or declines an invitation.
    pub async fn answer(&self, id: EventId, actor: UserId, invitation: Uuid, accept: bool) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let stage = lock(&mut tx, id, actor).await?;
        let now = at_stored_precision(Utc::now());
        let not_found = || ApiError::not_found("invitation_not_found", "there is no invitation with this id for you");
        let mut inv = stage_store::find_invitation(&mut tx, id, invitation).await?.ok_or_else(not_found)?;
        if inv.user_id != actor {
            return Err(not_found());
        }
        inv.check_open(now)?;
        let role = stage.role_of(actor);
        let (kind, state, new_role) = if accept {
            refuse_banned(&stage)?;
            event_over(&stage)?;
            if role.on_stage() {
                return Err(ApiError::new(ErrorKind::FailedPrecondition, "already_on_stage", "you are on the stage already"));
            }
            stage.check_seat_free()?;
            (ChangeKind::InvitationAccepted, InvitationState::Accepted, Role::Speaker)
        } else {
            (ChangeKind::InvitationDeclined, InvitationState::Declined, role)
        };
        stage_store::answer_invitation(&mut tx, inv.id, state, now).await?;
        inv.state = state;
        if accept {
            stage_store::set_member(&mut tx, id, actor, Role::Speaker, inv.invited_by, now).await?;
            stage_store::lower_hand(&mut tx, id, actor).await?;
        }
        let mut change = StageChange::new(kind, actor, actor, new_role, now);
        change.previous_role = Some(role);
        change.invitation = Some(inv);
        commit(tx, &stage, change).await
    }

    /// Staff withdraw an open invitation; the invitee can no longer accept it.
    pub async fn withdraw_invitation(&self, id: EventId, actor: UserId, invitation: Uuid) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let stage = lock(&mut tx, id, actor).await?;
        let not_found = || ApiError::not_found("invitation_not_found", "there is no open invitation with this id");
        let mut inv = stage_store::find_invitation(&mut tx, id, invitation).await?.ok_or_else(not_found)?;
        let role = stage.role_of(inv.user_id);
        authorize(stage.role_of(actor), Action::Invite { target: role }).map_err(|e| {
            // Whoever may invite may withdraw; an invitee who went on stage meanwhile has no
            // open invitation left to withdraw.
            if e.code == "already_on_stage" { not_found() } else { e }
        })?;
        if inv.state != InvitationState::Pending {
            return Err(not_found());
        }
        let now = at_stored_precision(Utc::now());
        stage_store::answer_invitation(&mut tx, inv.id, InvitationState::Cancelled, now).await?;
        inv.state = InvitationState::Cancelled;
        let mut change = StageChange::new(ChangeKind::InvitationWithdrawn, actor, inv.user_id, role, now);
        change.invitation = Some(inv);
        commit(tx, &stage, change).await
    }

    /// Puts `target` on role `to`. Giving oneself the audience role is leaving the stage.
    pub async fn set_role(&self, id: EventId, actor: UserId, target: UserId, to: Role) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let mut stage = lock(&mut tx, id, actor).await?;
        event_over(&stage)?;
        let from = stage.role_of(target);
        let actor_role = stage.role_of(actor);
        if target == actor {
            if actor_role == Role::Host {
                return Err(ApiError::new(
                    ErrorKind::FailedPrecondition,
                    "host_must_hand_over",
                    "the host cannot step down; hand the host role to someone else first",
                ));
            }
            if to != Role::Audience || from == Role::Audience {
                return Err(ApiError::forbidden("not_allowed", "you can only move yourself back to the audience"));
            }
        } else {
            authorize(actor_role, Action::SetRole { target: from, to })?;
        }
        if to != Role::Audience && stage_store::is_banned(&mut *tx, id, target).await? {
            return Err(ApiError::forbidden("banned", "they are banned from this event; lift the ban first"));
        }
        if to.on_stage() && !from.on_stage() {
            stage.check_seat_free()?;
        }
        let now = at_stored_precision(Utc::now());
        let cohosts_changed = apply_role(&mut tx, &mut stage, actor, target, from, to, now).await?;
        if to.on_stage() {
            stage_store::lower_hand(&mut tx, id, target).await?;
            stage_store::cancel_invitations(&mut tx, id, target, now).await?;
        }
        if cohosts_changed {
            // Host and co-hosts are part of the event: subscribers of the event's updates (the
            // chat service's view of a room) learn of them as they learn of any other change.
            stage.event.updated_at = now;
            store::save(&mut tx, &stage.event, true).await?;
            if to == Role::Host {
                stage_store::set_host(&mut tx, id, target, now).await?;
            }
            announce::enqueue(&mut tx, &stage.event, Change::Updated).await?;
        }
        let mut change = StageChange::new(ChangeKind::RoleChanged, actor, target, to, now);
        change.previous_role = Some(from);
        commit(tx, &stage, change).await
    }

    /// Checks and records a server mute; the caller applies it on the SFU.
    pub async fn mute(&self, id: EventId, actor: UserId, target: UserId, source: TrackSource) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let stage = lock(&mut tx, id, actor).await?;
        let role = stage.role_of(target);
        authorize(stage.role_of(actor), Action::Mute { target: role })?;
        let mut change = StageChange::new(ChangeKind::Muted, actor, target, role, at_stored_precision(Utc::now()));
        change.source = Some(source.as_str().to_owned());
        commit(tx, &stage, change).await
    }

    /// Checks and records a kick; the caller closes the user's connections.
    pub async fn kick(&self, id: EventId, actor: UserId, target: UserId, reason: String) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let stage = lock(&mut tx, id, actor).await?;
        let role = stage.role_of(target);
        authorize(stage.role_of(actor), Action::Kick { target: role })?;
        let mut change = StageChange::new(ChangeKind::Kicked, actor, target, role, at_stored_precision(Utc::now()));
        change.reason = reason;
        commit(tx, &stage, change).await
    }

    /// Bans `target` from the event; they lose any role on it.
    pub async fn ban(&self, id: EventId, actor: UserId, target: UserId, reason: String) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let mut stage = lock(&mut tx, id, actor).await?;
        let from = stage.role_of(target);
        authorize(stage.role_of(actor), Action::Ban { target: from })?;
        let now = at_stored_precision(Utc::now());
        if !stage_store::ban(&mut tx, id, target, actor, &reason, now).await? {
            return Err(ApiError::new(ErrorKind::Conflict, "already_banned", "they are banned already"));
        }
        if from != Role::Audience {
            let cohosts_changed = apply_role(&mut tx, &mut stage, actor, target, from, Role::Audience, now).await?;
            if cohosts_changed {
                stage.event.updated_at = now;
                store::save(&mut tx, &stage.event, true).await?;
                announce::enqueue(&mut tx, &stage.event, Change::Updated).await?;
            }
        }
        stage_store::lower_hand(&mut tx, id, target).await?;
        stage_store::cancel_invitations(&mut tx, id, target, now).await?;
        let mut change = StageChange::new(ChangeKind::Banned, actor, target, Role::Audience, now);
        change.previous_role = Some(from);
        change.reason = reason;
        commit(tx, &stage, change).await
    }

    pub async fn unban(&self, id: EventId, actor: UserId, target: UserId) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let stage = lock(&mut tx, id, actor).await?;
        authorize(stage.role_of(actor), Action::Unban)?;
        if !stage_store::unban(&mut tx, id, target).await? {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "not_banned", "they are not banned"));
        }
        let now = at_stored_precision(Utc::now());
        let change = StageChange::new(ChangeKind::Unbanned, actor, target, Role::Audience, now);
        commit(tx, &stage, change).await
    }

    /// Brings a co-host or speaker from the backstage on air: the audience sees and hears them
    /// from now on. Takes a seat.
    pub async fn bring_on_air(&self, id: EventId, actor: UserId, target: UserId) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let mut stage = lock(&mut tx, id, actor).await?;
        event_over(&stage)?;
        let role = stage.role_of(target);
        authorize(stage.role_of(actor), Action::MoveStage { target: role })?;
        if !stage.is_backstage(target) {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "not_backstage", "they are not backstage"));
        }
        // The backstage holds no seat: the seat is taken now.
        stage.backstage.remove(&target);
        if stage.seats_taken() > stage.max_speakers {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "stage_full",
                format!("the stage is full ({} speakers); move someone back first", stage.max_speakers),
            ));
        }
        stage_store::bring_on_air(&mut tx, id, target).await?;
        let change = StageChange::new(ChangeKind::BroughtOnAir, actor, target, role, at_stored_precision(Utc::now()));
        commit(tx, &stage, change).await
    }

    /// Sends a co-host or speaker (or oneself) to the backstage: the audience stops receiving
    /// them at once; the host and the backstage still see and hear them.
    pub async fn send_backstage(&self, id: EventId, actor: UserId, target: UserId) -> Result<Outcome, ApiError> {
        let mut tx = self.pool.begin().await?;
        let mut stage = lock(&mut tx, id, actor).await?;
        event_over(&stage)?;
        let role = stage.role_of(target);
        if target != actor {
            authorize(stage.role_of(actor), Action::MoveStage { target: role })?;
        }
        if !matches!(role, Role::CoHost | Role::Speaker) {
            return Err(ApiError::forbidden("not_allowed", format!("a {} cannot go backstage", role.as_str())));
        }
        if stage.is_backstage(target) {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "already_backstage", "they are backstage already"));
        }
        let now = at_stored_precision(Utc::now());
        stage_store::send_backstage(&mut tx, id, target, now).await?;
        stage.backstage.insert(target);
        let change = StageChange::new(ChangeKind::SentBackstage, actor, target, role, now);
        commit(tx, &stage, change).await
    }

    /// A new guest invite link; its secret is returned once and only its hash is kept.
    pub async fn create_link(&self, id: EventId, actor: UserId, spec: LinkSpec) -> Result<(GuestLink, LinkToken), ApiError> {
        let mut tx = self.pool.begin().await?;
        let stage = lock(&mut tx, id, actor).await?;
        event_over(&stage)?;
        authorize(stage.role_of(actor), Action::ManageLinks { role: spec.role })?;
        let now = at_stored_precision(Utc::now());
        let link = GuestLink {
            id: Uuid::now_v7(),
            role: spec.role,
            needs_approval: spec.needs_approval,
            max_uses: spec.max_uses,
            uses: 0,
            created_by: actor,
            created_at: now,
            expires_at: now + spec.ttl,
            revoked_at: None,
        };
        let token = LinkToken::generate();
        stage_store::insert_link(&mut tx, id, &link, &token.hash()).await?;
        tx.commit().await?;
        tracing::info!(event_id = %id, actor_id = %actor, link_id = %link.id, role = link.role.as_str(), "guest link created");
        Ok((link, token))
    }

    pub async fn links(&self, id: EventId, actor: UserId) -> Result<Vec<GuestLink>, ApiError> {
        let stage = read(&self.pool, id).await?;
        authorize(stage.role_of(actor), Action::ManageLinks { role: Role::Speaker })?;
        Ok(stage_store::links(&self.pool, id).await?)
    }

    /// Withdraws a link at once; with `regenerate`, a new link with the same settings replaces it.
    pub async fn revoke_link(
        &self,
        id: EventId,
        actor: UserId,
        link_id: Uuid,
        regenerate: bool,
    ) -> Result<(GuestLink, Option<(GuestLink, LinkToken)>), ApiError> {
        let mut tx = self.pool.begin().await?;
        let stage = lock(&mut tx, id, actor).await?;
        let mut link = stage_store::find_link(&mut tx, id, link_id).await?.ok_or_else(link_not_found)?;
        authorize(stage.role_of(actor), Action::ManageLinks { role: link.role })?;
        let now = at_stored_precision(Utc::now());
        if link.revoked_at.is_some() && !regenerate {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "link_revoked", "this link was withdrawn already"));
        }
        if link.revoked_at.is_none() {
            stage_store::revoke_link(&mut tx, link.id, now).await?;
            link.revoked_at = Some(now);
        }
        let fresh = if regenerate {
            event_over(&stage)?;
            let new = GuestLink {
                id: Uuid::now_v7(),
                uses: 0,
                created_by: actor,
                created_at: now,
                expires_at: now + (link.expires_at - link.created_at),
                revoked_at: None,
                ..link.clone()
            };
            let token = LinkToken::generate();
            stage_store::insert_link(&mut tx, id, &new, &token.hash()).await?;
            Some((new, token))
        } else {
            None
        };
        tx.commit().await?;
        tracing::info!(event_id = %id, actor_id = %actor, link_id = %link_id, regenerate, "guest link withdrawn");
        Ok((link, fresh))
    }

    /// What a link offers, for the page a guest opens; refused once it cannot be used.
    pub async fn peek_link(&self, token: &LinkToken) -> Result<(EventId, GuestLink), ApiError> {
        let (id, link) = stage_store::link_by_token(&self.pool, &token.hash()).await?.ok_or_else(link_not_found)?;
        link.check_usable(Utc::now())?;
        let event = store::find(&self.pool, id).await?.ok_or_else(|| event_not_found(id))?;
        event_over(&Stage { event, max_speakers: 0, members: Members::default(), banned: false, backstage: Default::default() })?;
        Ok((id, link))
    }

    /// A guest (a new identity made for them) joins through a link: they take its role at once,
    /// or, when the link needs approval, wait in the audience with their hand raised.
    pub async fn redeem_link(&self, token: &LinkToken, guest: UserId) -> Result<(EventId, Outcome), ApiError> {
        let (id, _) = stage_store::link_by_token(&self.pool, &token.hash()).await?.ok_or_else(link_not_found)?;
        let mut tx = self.pool.begin().await?;
        let mut stage = lock(&mut tx, id, guest).await?;
        // Read again under the event's lock: concurrent redemptions of one link queue up here.
        let (_, link) = stage_store::link_by_token(&mut *tx, &token.hash()).await?.ok_or_else(link_not_found)?;
        let now = at_stored_precision(Utc::now());
        link.check_usable(now)?;
        event_over(&stage)?;
        refuse_banned(&stage)?;
        let from = stage.role_of(guest);
        if from != Role::Audience {
            return Err(ApiError::new(
                ErrorKind::FailedPrecondition,
                "already_on_stage",
                "you hold a role in this event already",
            ));
        }
        let change = if link.needs_approval {
            stage_store::raise_hand(&mut tx, id, guest, now).await?;
            let mut change = StageChange::new(ChangeKind::HandRaised, guest, guest, Role::Audience, now);
            change.reason = "joined through an invite link; waiting for approval".into();
            change
        } else {
            // Guests wait in the green room (no seat taken) until the host brings them on air.
            stage_store::send_backstage(&mut tx, id, guest, now).await?;
            stage.backstage.insert(guest);
            let cohosts_changed = apply_role(&mut tx, &mut stage, link.created_by, guest, from, link.role, now).await?;
            if cohosts_changed {
                stage.event.updated_at = now;
                store::save(&mut tx, &stage.event, true).await?;
                announce::enqueue(&mut tx, &stage.event, Change::Updated).await?;
            }
            let mut change = StageChange::new(ChangeKind::RoleChanged, link.created_by, guest, link.role, now);
            change.previous_role = Some(from);
            change.reason = "joined through an invite link".into();
            change
        };
        stage_store::use_link(&mut tx, link.id).await?;
        let outcome = commit(tx, &stage, change).await?;
        Ok((id, outcome))
    }

    pub async fn log(&self, id: EventId, actor: UserId, limit: u32) -> Result<Vec<StageChange>, ApiError> {
        let stage = read(&self.pool, id).await?;
        authorize(stage.role_of(actor), Action::SeeQueue)?;
        let limit = if limit == 0 { 100 } else { limit.min(500) };
        Ok(stage_store::read_log(&self.pool, id, i64::from(limit)).await?)
    }
}

fn refuse_banned(stage: &Stage) -> Result<(), ApiError> {
    if stage.banned { Err(banned()) } else { Ok(()) }
}

/// Moves `target` from role `from` to `to` in the stored rows and in `stage.event`. Returns
/// whether the host or co-hosts changed (the event row must then be saved and announced).
async fn apply_role(
    tx: &mut PgConnection,
    stage: &mut Stage,
    actor: UserId,
    target: UserId,
    from: Role,
    to: Role,
    now: chrono::DateTime<Utc>,
) -> Result<bool, ApiError> {
    let id = stage.event.id;
    let mut cohosts_changed = false;
    if from == Role::CoHost {
        stage.event.cohosts = stage.event.cohosts.without(target);
        cohosts_changed = true;
    }
    if matches!(from, Role::Moderator | Role::Speaker) {
        stage_store::remove_member(tx, id, target).await?;
        stage.members.0.remove(&target);
    }
    if !matches!(to, Role::CoHost | Role::Speaker) && stage.backstage.remove(&target) {
        stage_store::bring_on_air(tx, id, target).await?;
    }
    match to {
        Role::Host => {
            // The old host stays on as a co-host.
            let old = stage.event.host_id;
            stage.event.cohosts = stage.event.cohosts.with(old)?;
            stage.event.host_id = target;
            cohosts_changed = true;
        }
        Role::CoHost => {
            stage.event.cohosts = stage.event.cohosts.with(target)?;
            cohosts_changed = true;
        }
        Role::Moderator | Role::Speaker => {
            stage_store::set_member(tx, id, target, to, actor, now).await?;
            stage.members.0.insert(target, (to, now));
        }
        Role::Audience => {}
    }
    Ok(cohosts_changed)
}

/// Logs the change, announces it and commits; then says what the target may now do.
async fn commit(mut tx: sqlx::Transaction<'_, sqlx::Postgres>, stage: &Stage, change: StageChange) -> Result<Outcome, ApiError> {
    let id = stage.event.id;
    let grants = if change.kind == ChangeKind::Banned {
        None
    } else {
        media_grants_in(change.role, stage.event.status, stage.is_backstage(change.target)).ok()
    };
    stage_store::log(&mut tx, id, &change).await?;
    announce::enqueue_stage(&mut tx, id, &change, grants.as_ref()).await?;
    tx.commit().await?;
    tracing::info!(event_id = %id, actor_id = %change.actor, target_id = %change.target, kind = change.kind.as_str(),
        role = change.role.as_str(), "stage changed");
    Ok(Outcome { change, grants })
}
