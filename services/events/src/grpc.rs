//! The tonic edge of `stagecast.events.v1.EventsService` and `StageService`.
//!
//! The only place proto messages meet domain types: requests are parsed with `TryFrom` into
//! domain values (so everything past this module holds valid data), and events are turned back
//! into proto with `From`. Errors leave as `ApiError`s, which carry their code in metadata.
use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use stagecast_kit::ApiError;
use stagecast_proto::events::v1::{self as pb, events_service_server::EventsService, stage_service_server::StageService};
use tonic::{Request, Response, Status};

use stagecast_authn::TrackSource;
use uuid::Uuid;

use crate::{
    domain::{
        CoHosts, CoverUrl, Cursor, Description, Event, EventId, EventPatch, EventStatus, EventTitle, GuestLink, Invitation,
        LinkSpec, LinkToken, ListFilter, ListQuery, NewEvent, Page, PageSize, Role, StageChange, Transition, UserId,
        link_not_found, parse_reason,
    },
    service::Events,
    stage::{Outcome, Stages},
};

/// Serves the gRPC API on top of the use cases.
#[derive(Clone)]
pub struct EventsApi {
    events: Events,
}

impl EventsApi {
    pub fn new(events: Events) -> Self {
        Self { events }
    }
}

#[tonic::async_trait]
impl EventsService for EventsApi {
    async fn create_event(&self, request: Request<pb::CreateEventRequest>) -> Result<Response<pb::Event>, Status> {
        let CreateCall { actor, event } = request.into_inner().try_into()?;
        let event = self.events.create(actor, event).await?;
        Ok(Response::new((&event).into()))
    }

    async fn get_event(&self, request: Request<pb::GetEventRequest>) -> Result<Response<pb::Event>, Status> {
        let id = EventId::parse(&request.into_inner().id)?;
        let event = self.events.get(id).await?;
        Ok(Response::new((&event).into()))
    }

    async fn update_event(&self, request: Request<pb::UpdateEventRequest>) -> Result<Response<pb::Event>, Status> {
        let UpdateCall { actor, id, patch } = request.into_inner().try_into()?;
        let event = self.events.update(actor, id, patch).await?;
        Ok(Response::new((&event).into()))
    }

    async fn list_events(&self, request: Request<pb::ListEventsRequest>) -> Result<Response<pb::ListEventsResponse>, Status> {
        let query: ListQuery = request.into_inner().try_into()?;
        let page = self.events.list(query).await?;
        Ok(Response::new(page.into()))
    }

    async fn go_live(&self, request: Request<pb::TransitionRequest>) -> Result<Response<pb::Event>, Status> {
        self.transition(request, Transition::GoLive).await
    }

    async fn end_event(&self, request: Request<pb::TransitionRequest>) -> Result<Response<pb::Event>, Status> {
        self.transition(request, Transition::End).await
    }

    async fn cancel_event(&self, request: Request<pb::TransitionRequest>) -> Result<Response<pb::Event>, Status> {
        self.transition(request, Transition::Cancel).await
    }
}

/// Serves `stagecast.events.v1.StageService`: media grants and the stage, decided by the one
/// role policy.
#[derive(Clone)]
pub struct StageApi {
    stages: Stages,
}

impl StageApi {
    pub fn new(stages: Stages) -> Self {
        Self { stages }
    }
}

/// The event, the actor and (when given) the target of a stage request.
fn stage_call(event_id: &str, actor_id: &str) -> Result<(EventId, UserId), ApiError> {
    Ok((EventId::parse(event_id)?, UserId::parse_actor(actor_id)?))
}

fn target(raw: &str) -> Result<UserId, ApiError> {
    UserId::parse_as(raw, "invalid_target_user_id", |v| format!("target_user_id {v:?} is not a user id (UUID)"))
}

fn outcome(o: Outcome, id: EventId) -> Response<pb::StageChangeResponse> {
    Response::new(pb::StageChangeResponse {
        change: Some(stage_changed(id, &o.change)),
        target_grants: o.grants.as_ref().map(media_grants),
    })
}

#[tonic::async_trait]
impl StageService for StageApi {
    async fn get_media_grants(
        &self,
        request: Request<pb::GetMediaGrantsRequest>,
    ) -> Result<Response<pb::MediaGrantsResponse>, Status> {
        let r = request.into_inner();
        let id = EventId::parse(&r.event_id)?;
        let user = UserId::parse_user(&r.user_id)?;
        let (role, grants) = self.stages.media_grants(id, user).await?;
        Ok(Response::new(pb::MediaGrantsResponse { role: role.as_str().to_owned(), grants: Some(media_grants(&grants)) }))
    }

    async fn get_stage(&self, request: Request<pb::GetStageRequest>) -> Result<Response<pb::Stage>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let v = self.stages.view(id, actor).await?;
        let stage = &v.stage;
        let mut members = vec![pb::StageMember {
            user_id: stage.event.host_id.to_string(),
            role: Role::Host.as_str().to_owned(),
            since: Some(timestamp(stage.event.created_at)),
            backstage: false,
        }];
        members.extend(stage.event.cohosts.ids().iter().map(|u| pb::StageMember {
            user_id: u.to_string(),
            role: Role::CoHost.as_str().to_owned(),
            since: None,
            backstage: stage.is_backstage(*u),
        }));
        let mut others: Vec<_> = stage.members.0.iter().collect();
        others.sort_by_key(|(u, (role, at))| (std::cmp::Reverse(role.rank()), *at, **u));
        members.extend(others.into_iter().map(|(u, (role, at))| pb::StageMember {
            user_id: u.to_string(),
            role: role.as_str().to_owned(),
            since: Some(timestamp(*at)),
            backstage: stage.is_backstage(*u),
        }));
        // The audience learns nothing of the green room.
        let sees_backstage = v.your_role.is_staff() || stage.is_backstage(actor);
        members.retain(|m| sees_backstage || !m.backstage);
        Ok(Response::new(pb::Stage {
            event_id: id.to_string(),
            max_speakers: v.stage.max_speakers,
            members,
            hands: v
                .hands
                .iter()
                .map(|(u, at)| pb::RaisedHand { user_id: u.to_string(), raised_at: Some(timestamp(*at)) })
                .collect(),
            invitations: v.invitations.iter().map(invitation).collect(),
            your_role: v.your_role.as_str().to_owned(),
            bans: v
                .bans
                .iter()
                .map(|(u, by, reason, at)| pb::Ban {
                    user_id: u.to_string(),
                    banned_by: by.to_string(),
                    reason: reason.clone(),
                    banned_at: Some(timestamp(*at)),
                })
                .collect(),
        }))
    }

    async fn raise_hand(&self, request: Request<pb::StageRequest>) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        Ok(outcome(self.stages.raise_hand(id, actor).await?, id))
    }

    async fn lower_hand(&self, request: Request<pb::StageRequest>) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        // Without a target, the caller lowers their own hand.
        let who = if r.target_user_id.is_empty() { actor } else { target(&r.target_user_id)? };
        Ok(outcome(self.stages.lower_hand(id, actor, who).await?, id))
    }

    async fn invite(&self, request: Request<pb::StageRequest>) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let who = target(&r.target_user_id)?;
        if who == actor {
            return Err(ApiError::forbidden("cannot_invite_yourself", "you cannot invite yourself to speak").into());
        }
        Ok(outcome(self.stages.invite(id, actor, who).await?, id))
    }

    async fn answer_invitation(
        &self,
        request: Request<pb::AnswerInvitationRequest>,
    ) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let invitation = Uuid::parse_str(r.invitation_id.trim())
            .map_err(|_| ApiError::not_found("invitation_not_found", "there is no invitation with this id for you"))?;
        Ok(outcome(self.stages.answer(id, actor, invitation, r.accept).await?, id))
    }

    async fn withdraw_invitation(
        &self,
        request: Request<pb::WithdrawInvitationRequest>,
    ) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let invitation = Uuid::parse_str(r.invitation_id.trim())
            .map_err(|_| ApiError::not_found("invitation_not_found", "there is no open invitation with this id"))?;
        Ok(outcome(self.stages.withdraw_invitation(id, actor, invitation).await?, id))
    }

    async fn set_role(&self, request: Request<pb::SetRoleRequest>) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let who = target(&r.target_user_id)?;
        let role = Role::parse(&r.role)?;
        Ok(outcome(self.stages.set_role(id, actor, who, role).await?, id))
    }

    async fn mute(&self, request: Request<pb::StageRequest>) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let who = target(&r.target_user_id)?;
        let source = TrackSource::parse(r.source.trim()).ok_or_else(|| {
            ApiError::invalid("unknown_source", "source must be one of camera, microphone, screen, screen_audio")
        })?;
        Ok(outcome(self.stages.mute(id, actor, who, source).await?, id))
    }

    async fn kick(&self, request: Request<pb::StageRequest>) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let (who, reason) = (target(&r.target_user_id)?, parse_reason(&r.reason)?);
        refuse_self(who, actor)?;
        Ok(outcome(self.stages.kick(id, actor, who, reason).await?, id))
    }

    async fn ban(&self, request: Request<pb::StageRequest>) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let (who, reason) = (target(&r.target_user_id)?, parse_reason(&r.reason)?);
        refuse_self(who, actor)?;
        Ok(outcome(self.stages.ban(id, actor, who, reason).await?, id))
    }

    async fn bring_on_air(&self, request: Request<pb::StageRequest>) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let who = target(&r.target_user_id)?;
        Ok(outcome(self.stages.bring_on_air(id, actor, who).await?, id))
    }

    async fn send_backstage(&self, request: Request<pb::StageRequest>) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        // Without a target, the caller steps backstage.
        let who = if r.target_user_id.is_empty() { actor } else { target(&r.target_user_id)? };
        Ok(outcome(self.stages.send_backstage(id, actor, who).await?, id))
    }

    async fn unban(&self, request: Request<pb::StageRequest>) -> Result<Response<pb::StageChangeResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let who = target(&r.target_user_id)?;
        Ok(outcome(self.stages.unban(id, actor, who).await?, id))
    }

    async fn stage_log(&self, request: Request<pb::StageLogRequest>) -> Result<Response<pb::StageLogResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let entries = self.stages.log(id, actor, r.limit).await?;
        Ok(Response::new(pb::StageLogResponse { entries: entries.iter().map(|c| stage_changed(id, c)).collect() }))
    }

    async fn create_link(&self, request: Request<pb::CreateLinkRequest>) -> Result<Response<pb::LinkCreated>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let spec = LinkSpec::parse(&r.role, r.expires_in_secs, r.max_uses, r.needs_approval)?;
        Ok(Response::new(link_created(self.stages.create_link(id, actor, spec).await?)))
    }

    async fn list_links(&self, request: Request<pb::ListLinksRequest>) -> Result<Response<pb::ListLinksResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let links = self.stages.links(id, actor).await?;
        Ok(Response::new(pb::ListLinksResponse { links: links.iter().map(guest_link).collect() }))
    }

    async fn revoke_link(&self, request: Request<pb::RevokeLinkRequest>) -> Result<Response<pb::RevokeLinkResponse>, Status> {
        let r = request.into_inner();
        let (id, actor) = stage_call(&r.event_id, &r.actor_id)?;
        let (revoked, replacement) = self.stages.revoke_link(id, actor, link_id(&r.link_id)?, r.regenerate).await?;
        Ok(Response::new(pb::RevokeLinkResponse {
            revoked: Some(guest_link(&revoked)),
            replacement: replacement.map(link_created),
        }))
    }

    async fn peek_link(&self, request: Request<pb::PeekLinkRequest>) -> Result<Response<pb::PeekLinkResponse>, Status> {
        let token = LinkToken::parse(&request.into_inner().token)?;
        let (id, link) = self.stages.peek_link(&token).await?;
        Ok(Response::new(pb::PeekLinkResponse { event_id: id.to_string(), link: Some(guest_link(&link)) }))
    }

    async fn redeem_link(&self, request: Request<pb::RedeemLinkRequest>) -> Result<Response<pb::RedeemLinkResponse>, Status> {
        let r = request.into_inner();
        let token = LinkToken::parse(&r.token)?;
        let guest = target(&r.guest_user_id)?;
        let (id, o) = self.stages.redeem_link(&token, guest).await?;
        Ok(Response::new(pb::RedeemLinkResponse { event_id: id.to_string(), result: Some(outcome(o, id).into_inner()) }))
    }
}

fn link_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| link_not_found())
}

fn guest_link(l: &GuestLink) -> pb::GuestLink {
    pb::GuestLink {
        id: l.id.to_string(),
        role: l.role.as_str().to_owned(),
        needs_approval: l.needs_approval,
        max_uses: l.max_uses,
        uses: l.uses,
        created_by: l.created_by.to_string(),
        created_at: Some(timestamp(l.created_at)),
        expires_at: Some(timestamp(l.expires_at)),
        revoked_at: l.revoked_at.map(timestamp),
    }
}

fn link_created((link, token): (GuestLink, LinkToken)) -> pb::LinkCreated {
    pb::LinkCreated { link: Some(guest_link(&link)), token: token.expose().to_owned() }
}

fn refuse_self(target: UserId, actor: UserId) -> Result<(), ApiError> {
    if target == actor {
        return Err(ApiError::forbidden("cannot_act_on_yourself", "you cannot do this to yourself"));
    }
    Ok(())
}

fn invitation(i: &Invitation) -> pb::Invitation {
    pb::Invitation {
        id: i.id.to_string(),
        user_id: i.user_id.to_string(),
        invited_by: i.invited_by.to_string(),
        created_at: Some(timestamp(i.created_at)),
        expires_at: Some(timestamp(i.expires_at)),
    }
}

/// A stage change as the bus and the API carry it.
pub fn stage_changed(id: EventId, c: &StageChange) -> pb::StageChanged {
    pb::StageChanged {
        event_id: id.to_string(),
        kind: c.kind.as_str().to_owned(),
        actor_id: c.actor.to_string(),
        target_user_id: c.target.to_string(),
        role: c.role.as_str().to_owned(),
        reason: c.reason.clone(),
        at: Some(timestamp(c.at)),
        invitation: c.invitation.as_ref().map(invitation),
        source: c.source.clone().unwrap_or_default(),
        previous_role: c.previous_role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
        // Set on the bus message only (announce::enqueue_stage).
        target_grants: None,
    }
}

impl EventsApi {
    async fn transition(
        &self,
        request: Request<pb::TransitionRequest>,
        transition: Transition,
    ) -> Result<Response<pb::Event>, Status> {
        let TransitionCall { actor, id } = request.into_inner().try_into()?;
        let event = self.events.transition(actor, id, transition).await?;
        Ok(Response::new((&event).into()))
    }
}

/// A parsed CreateEvent call.
struct CreateCall {
    actor: UserId,
    event: NewEvent,
}

impl TryFrom<pb::CreateEventRequest> for CreateCall {
    type Error = ApiError;

    fn try_from(r: pb::CreateEventRequest) -> Result<Self, Self::Error> {
        let actor = UserId::parse_actor(&r.actor_id)?;
        let title = EventTitle::parse(&r.title)?;
        let description = Description::parse(&r.description)?;
        let starts_at = r
            .starts_at
            .ok_or_else(|| ApiError::invalid("starts_at_required", "starts_at is required"))
            .and_then(starts_at_from_proto)?;
        let cover_url = CoverUrl::parse(&r.cover_url)?;
        let cohosts = CoHosts::parse(&r.cohost_ids)?;
        Ok(Self { actor, event: NewEvent { title, description, starts_at, cover_url, cohosts } })
    }
}

/// A parsed UpdateEvent call.
struct UpdateCall {
    actor: UserId,
    id: EventId,
    patch: EventPatch,
}

impl TryFrom<pb::UpdateEventRequest> for UpdateCall {
    type Error = ApiError;

    fn try_from(r: pb::UpdateEventRequest) -> Result<Self, Self::Error> {
        let actor = UserId::parse_actor(&r.actor_id)?;
        let id = EventId::parse(&r.id)?;
        // Ignoring the list would silently drop what the caller meant to set.
        if !r.set_cohosts && !r.cohost_ids.is_empty() {
            return Err(ApiError::invalid(
                "set_cohosts_required",
                "cohost_ids is only read when set_cohosts is true; set it to replace the co-host list",
            ));
        }
        let patch = EventPatch {
            title: r.title.as_deref().map(EventTitle::parse).transpose()?,
            description: r.description.as_deref().map(Description::parse).transpose()?,
            starts_at: r.starts_at.map(starts_at_from_proto).transpose()?,
            cover_url: r.cover_url.as_deref().map(CoverUrl::parse).transpose()?,
            // Without `set_cohosts` an empty list means "not sent", not "remove everyone".
            cohosts: if r.set_cohosts { Some(CoHosts::parse(&r.cohost_ids)?) } else { None },
        };
        Ok(Self { actor, id, patch })
    }
}

/// A parsed GoLive / EndEvent / CancelEvent call.
struct TransitionCall {
    actor: UserId,
    id: EventId,
}

impl TryFrom<pb::TransitionRequest> for TransitionCall {
    type Error = ApiError;

    fn try_from(r: pb::TransitionRequest) -> Result<Self, Self::Error> {
        Ok(Self { actor: UserId::parse_actor(&r.actor_id)?, id: EventId::parse(&r.id)? })
    }
}

impl TryFrom<pb::ListEventsRequest> for ListQuery {
    type Error = ApiError;

    fn try_from(r: pb::ListEventsRequest) -> Result<Self, Self::Error> {
        let filter = match pb::ListFilter::try_from(r.filter) {
            Ok(pb::ListFilter::Live) => ListFilter::Live,
            Ok(pb::ListFilter::Upcoming) => ListFilter::Upcoming,
            Ok(pb::ListFilter::Past) => ListFilter::Past,
            Ok(pb::ListFilter::Unspecified) | Err(_) => {
                return Err(ApiError::invalid("invalid_filter", "filter must be one of LIVE, UPCOMING or PAST"));
            }
        };
        let limit = PageSize::parse(r.limit)?;
        let cursor = if r.cursor.is_empty() { None } else { Some(Cursor::decode(&r.cursor)?) };
        Ok(Self { filter, limit, cursor })
    }
}

fn starts_at_from_proto(ts: Timestamp) -> Result<DateTime<Utc>, ApiError> {
    let nanos = u32::try_from(ts.nanos).ok().filter(|n| *n < 1_000_000_000);
    nanos
        .and_then(|nanos| DateTime::from_timestamp(ts.seconds, nanos))
        .ok_or_else(|| ApiError::invalid("invalid_starts_at", "starts_at is not a valid timestamp"))
}

fn timestamp(t: DateTime<Utc>) -> Timestamp {
    // Sub-second nanos are below 2e9 (leap seconds included), so they always fit an i32.
    Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

impl From<EventStatus> for pb::EventStatus {
    fn from(s: EventStatus) -> Self {
        match s {
            EventStatus::Scheduled => pb::EventStatus::Scheduled,
            EventStatus::Live => pb::EventStatus::Live,
            EventStatus::Ended => pb::EventStatus::Ended,
            EventStatus::Cancelled => pb::EventStatus::Cancelled,
        }
    }
}

impl From<&Event> for pb::Event {
    fn from(e: &Event) -> Self {
        pb::Event {
            id: e.id.to_string(),
            title: e.title.as_str().to_owned(),
            description: e.description.as_str().to_owned(),
            starts_at: Some(timestamp(e.starts_at)),
            cover_url: e.cover_url.as_deref().unwrap_or_default().to_owned(),
            status: pb::EventStatus::from(e.status).into(),
            host_id: e.host_id.to_string(),
            cohost_ids: e.cohosts.ids().iter().map(UserId::to_string).collect(),
            created_at: Some(timestamp(e.created_at)),
            updated_at: Some(timestamp(e.updated_at)),
            went_live_at: e.went_live_at.map(timestamp),
            ended_at: e.ended_at.map(timestamp),
            cancelled_at: e.cancelled_at.map(timestamp),
        }
    }
}

pub(crate) fn media_grants(g: &stagecast_authn::MediaGrants) -> pb::MediaGrants {
    pb::MediaGrants {
        subscribe: g.subscribe,
        publish: g.publish.iter().map(|s| s.as_str().to_owned()).collect(),
        hidden: g.hidden,
        backstage: g.backstage,
        see_backstage: g.see_backstage,
    }
}

impl From<Page> for pb::ListEventsResponse {
    fn from(page: Page) -> Self {
        pb::ListEventsResponse {
            events: page.events.iter().map(pb::Event::from).collect(),
            next_cursor: page.next.map(|c| c.encode()).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create_request() -> pb::CreateEventRequest {
        pb::CreateEventRequest {
            actor_id: Uuid::new_v4().to_string(),
            title: "Launch".into(),
            description: String::new(),
            starts_at: Some(timestamp(Utc::now())),
            cover_url: String::new(),
            cohost_ids: vec![],
        }
    }

    fn create_error(r: pb::CreateEventRequest) -> String {
        CreateCall::try_from(r).err().map(|e| e.code.into_owned()).unwrap_or_default()
    }

    #[test]
    fn create_request_fields_are_checked_at_the_edge() {
        assert!(CreateCall::try_from(create_request()).is_ok());
        assert_eq!(create_error(pb::CreateEventRequest { actor_id: "root".into(), ..create_request() }), "invalid_actor");
        assert_eq!(create_error(pb::CreateEventRequest { title: " ".into(), ..create_request() }), "title_required");
        assert_eq!(create_error(pb::CreateEventRequest { starts_at: None, ..create_request() }), "starts_at_required");
        let bad_nanos = Timestamp { seconds: 1, nanos: -1 };
        assert_eq!(create_error(pb::CreateEventRequest { starts_at: Some(bad_nanos), ..create_request() }), "invalid_starts_at");
        let out_of_range = Timestamp { seconds: i64::MAX, nanos: 0 };
        assert_eq!(
            create_error(pb::CreateEventRequest { starts_at: Some(out_of_range), ..create_request() }),
            "invalid_starts_at"
        );
        assert_eq!(create_error(pb::CreateEventRequest { cover_url: "ftp://x".into(), ..create_request() }), "invalid_cover_url");
        assert_eq!(
            create_error(pb::CreateEventRequest { cohost_ids: vec!["x".into()], ..create_request() }),
            "invalid_cohost_id"
        );
    }

    #[test]
    fn cohost_ids_without_set_cohosts_are_refused_rather_than_ignored() {
        let r = pb::UpdateEventRequest {
            actor_id: Uuid::new_v4().to_string(),
            id: Uuid::new_v4().to_string(),
            cohost_ids: vec![Uuid::new_v4().to_string()],
            ..Default::default()
        };
        assert_eq!(UpdateCall::try_from(r).err().map(|e| e.code.into_owned()).as_deref(), Some("set_cohosts_required"));
    }

    #[test]
    fn list_filter_must_be_given() {
        let r = pb::ListEventsRequest { filter: pb::ListFilter::Unspecified.into(), limit: 0, cursor: String::new() };
        assert_eq!(ListQuery::try_from(r).err().map(|e| e.code.into_owned()).as_deref(), Some("invalid_filter"));
        let r = pb::ListEventsRequest { filter: 42, limit: 0, cursor: String::new() };
        assert_eq!(ListQuery::try_from(r).err().map(|e| e.code.into_owned()).as_deref(), Some("invalid_filter"));
    }

    #[test]
    fn timestamps_keep_their_precision_through_proto() {
        let t = DateTime::from_timestamp(1_750_000_000, 123_456_000).expect("in range");
        assert_eq!(starts_at_from_proto(timestamp(t)).expect("valid"), t);
    }
}
