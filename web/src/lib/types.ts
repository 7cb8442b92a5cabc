// Shapes of the stagecast REST API and live WebSocket protocol v1 (docs/api.md, docs/websocket.md).
//
// The REST shapes come from the gateway's OpenAPI document (services/gateway/openapi.json) through
// the generated ./api.gen.ts (`npm run gen:api`). This file is the one place that names the
// document's schemas and paths: when the document renames a schema, only the aliases here change.
// Written by hand: the WebSocket frames, narrower names the UI gives some of the document's plain
// strings, and a webhook delivery's `payload` (any JSON; see WebhookDelivery).
import type { components, paths } from './api.gen';

type Schemas = components['schemas'];

export type User = Schemas['User'];
/** PATCH /me: at least one of display_name and avatar_url. */
export type ProfilePatch = Schemas['ProfilePatch'];
export type Tokens = Schemas['Tokens'];

export type StageEvent = Schemas['Event'];
export type EventStatus = StageEvent['status'];
export type EventListStatus = NonNullable<NonNullable<paths['/events']['get']['parameters']['query']>['status']>;
export type EventPage = Schemas['EventPage'];
/** What the event form sends: PATCH /events/{id} takes any of it, a field left out or null being
 * left as it is; POST /events needs `title` and `starts_at` (ApiClient.createEvent always sends
 * them, and leaves the null fields out: POST takes no nulls). */
export type EventInput = Schemas['PatchEvent'];
/** POST /events: what ApiClient.createEvent makes of an EventInput. */
export type EventCreateInput = Schemas['CreateEvent'];

/** RFC 9457 problem document. */
export type Problem = Schemas['Problem'];

export type Author = Schemas['Author'];
export type ChatRole = Schemas['ChatRole'];
export type ChatMessage = Schemas['ChatMessage'];
/** A room's settings, as moderation actions and the hello frame carry them. */
export type ChatSettings = Schemas['ChatRoomSettings'];
/** PUT /events/{id}/chat/settings: what to change. */
export type ChatSettingsInput = Schemas['ChatSettings'];
export type BlockedTermMode = Schemas['BlockedTermMode'];
export type ChatSettingsChanged = Schemas['ChatSettingsChanged'];

/** What a moderation action did (delete_message, timeout, ban, pin, slow_mode…). */
export type ModerationKind = Schemas['ModerationActionKind'];

export type ModerationAction = Schemas['ModerationAction'];
export type Presence = Schemas['Presence'];
export type MessagePage = Schemas['MessagePage'];
export type AuditPage = Schemas['AuditPage'];
export type HeldMessages = Schemas['HeldMessages'];

/** Someone named in a standing list; `display_name` is null when the account is gone. */
export type Person = Schemas['StandingPerson'];
/** `until`: when a timeout ends (timeouts only). */
export type StandingEntry = Schemas['StandingEntry'];
/** Who moderates, who is banned and whose timeout is running (GET …/chat/standing). */
export type Standing = Schemas['Standing'];

// ---- media (docs/api.md "Media"; the SFU's signalling in services/media/src/signal.rs) --------

export type MediaGrants = Schemas['MediaGrants'];
export type TrackSource = MediaGrants['publish'][number];
/** POST /events/{id}/media-token: a ticket to the event's room on the SFU at `url`. */
export type MediaToken = Schemas['MediaToken'];
/** One of a participant's tracks as the stage control API lists it. */
export type StageControlTrack = Schemas['StageTrack'];
/** GET /events/{id}/stage/participants: one connection to the event's SFU room. */
export type StageControlParticipant = Schemas['StageParticipant'];
export type StageParticipantList = Schemas['StageParticipants'];
/** POST /events/{id}/stage/mute: how many tracks stopped being forwarded (0: nothing to mute). */
export type StageMuted = Schemas['StageMuted'];
/** POST /events/{id}/stage/remove: how many connections were closed (0: they had left). */
export type StageRemoved = Schemas['StageRemoved'];

// ---- the stage: hands, invitations, roles, bans (docs/api.md "Stage") ---------------------------

/** One stage change, as every change endpoint and the `stage` WebSocket frame carry it. */
export type StageChange = Schemas['StageChange'];
export type StageChangeKind = Schemas['StageChangeKind'];
export type StageRole = Schemas['StageRole'];
export type StageInvitation = Schemas['StageInvitation'];
/** What every stage change endpoint answers. */
export type StageChanged = Schemas['StageChanged'];

/** Someone on the stage as lists name them: id, name and photo. */
export type StagePerson = Schemas['StagePerson'];
/** Someone holding a role. `backstage`: in the green room, seen and heard only by the host,
 * co-hosts, moderators and the backstage (listed only to them); takes no seat. Always sent. */
export type StageMember = Schemas['StageMember'];
export type StageHand = Schemas['StageHand'];
export type StageBan = Schemas['StageBan'];
/** GET /events/{id}/stage. Staff see every hand, invitation and ban; others see only their own
 * hand and invitation, and no bans. */
export type StageView = Schemas['StageView'];
/** GET /events/{id}/stage/log: the latest changes, newest first. */
export type StageLog = Schemas['StageLog'];

// ---- guest invite links (docs/api.md "Guest invite links") --------------------------------------

/** A guest invite link, without its secret (shown once, when made or regenerated). */
export type GuestLink = Schemas['GuestLink'];
/** The stage role a guest link grants. */
export type GuestLinkRole = Schemas['GuestLinkRole'];
/** POST …/stage/links: `expires_in_secs` 60 to 604800 (default a day), `max_uses` 1 to 1000
 * (default 1). */
export type GuestLinkInput = Schemas['CreateGuestLink'];
/** POST …/stage/links and …/regenerate: the link and its secret, shown this once. `join_url` is
 * `/join/{token}`, relative or absolute. */
export type GuestLinkCreated = Schemas['GuestLinkCreated'];
export type GuestLinkList = Schemas['GuestLinkList'];
/** GET /guest-links/{token}: what the join page shows. */
export type GuestLinkInfo = Schemas['GuestLinkOffer'];
/** POST /guest-links/{token}/join: a guest session, as sign-up answers, plus where it leads.
 * `role` is "audience" when the link needs the host's approval (the guest's hand is up). */
export type GuestJoined = Schemas['GuestJoined'];
/** POST /guest-links/{token}/join: the guest's name and, optionally, photo URL. */
export type GuestJoinInput = Schemas['JoinGuestLink'];

// ---- cloud recording (docs/recording.md) -------------------------------------------------------

export type Recording = Schemas['Recording'];
/** How the composite is laid out: the active speaker large, everyone the same size, or a shared
 * screen large with the cameras beside it. */
export type RecordingLayout = Schemas['RecordingLayout'];
export type RecordingQuality = Schemas['RecordingQuality'];
/** `starting` → `recording` → `stopping` → `ready`; or `failed` (with `error`). */
export type RecordingState = Schemas['RecordingState'];
/** Absent from a recording until its first segment is stored; `mp4_url` once it is `ready`. */
export type RecordingPlayback = Schemas['RecordingPlayback'];
export type RecordingList = Schemas['RecordingList'];
/** POST /events/{id}/recordings: `layout` and `quality` left out (or null) take the defaults. */
export type RecordingStartInput = Schemas['StartRecording'];
/** One message of a recording's chat replay; `offset_ms` counts from the recording's first frame. */
export type ReplayMessage = Schemas['ReplayMessage'];
export type ReplayPage = Schemas['RecordingChatPage'];

// ---- restreaming destinations (docs/api.md "Destinations") ----------------------------------

/** A saved RTMP(S) destination of mine, reusable across events. The stream key is never sent
 * back: `key_hint` is its last 4 characters ("…abcd"). */
export type Destination = Schemas['Destination'];
export type DestinationPlatform = Schemas['DestinationPlatform'];
/** POST /destinations. `name` (1–80 characters) and `server_url` default from the platform;
 * `server_url` is required for `custom`. */
export type DestinationInput = Schemas['CreateDestination'];
export type DestinationList = Schemas['DestinationList'];
/** A destination attached to an event, with its push's state. (The gateway may send a null
 * `destination` if the service lost it; the reducer drops such copies, so the UI never sees one.) */
export type EventDestination = Schemas['EventDestination'];
/** `idle` (attached, never started) → `connecting` → `live`, or `retrying` (reconnecting after a
 * drop) → `live` again, or `failed` (with `error`); `stopped` once stopped. */
export type DestinationState = Schemas['DestinationState'];
/** Why a push failed or is retrying ("" when it is fine). */
export type DestinationErrorCode = Schemas['DestinationErrorCode'];
export type EventDestinationList = Schemas['EventDestinationList'];

// ---- API keys (docs/api.md "API keys") ---------------------------------------------------------

/** What an API key may do. A write scope includes its read scope (events:write gives events:read;
 * chat:write and chat:moderate give chat:read; recordings:write gives recordings:read;
 * profile:write gives profile:read). */
export type ApiKeyScope = Schemas['ApiKeyScope'];
/** An API key, without its secret. `prefix`: the secret's first 12 characters (sck_ and 8 more). */
export type ApiKey = Schemas['ApiKey'];
/** POST /api-keys: `name` 1–64 characters, at least one scope, `expires_at` (RFC 3339, in the
 * future) left out for a key that never expires. */
export type ApiKeyInput = Schemas['CreateApiKey'];
/** POST /api-keys answers the key with its `secret` (sck_…), shown this once. */
export type CreatedApiKey = Schemas['CreatedApiKey'];
export type ApiKeyList = Schemas['ApiKeyList'];

// ---- webhooks (docs/webhooks.md) ---------------------------------------------------------------

/** Why an endpoint is off: "" while enabled, "by_owner" (switched off by its owner) or
 * "failing" (stagecast switched it off after its deliveries kept failing). */
export type WebhookDisabledReason = Schemas['WebhookDisabledReason'];

/** One of my webhook endpoints, without its signing secret. `event_types`: the filters ("*",
 * "event.*", "event.live"…); empty means every event. `failing_since` (absent or null: its
 * deliveries are not failing) and `created_at` may be left out. */
export type WebhookEndpoint = Schemas['WebhookEndpoint'];

/** POST /webhooks and POST /webhooks/{id}/rotate-secret: the endpoint with its signing secret
 * (whsec_…), shown this once. */
export type CreatedWebhook = Schemas['WebhookEndpointWithSecret'];

export type WebhookList = Schemas['WebhookEndpointList'];

/** POST /webhooks. */
export type WebhookInput = Schemas['CreateWebhook'];

/** PATCH /webhooks/{id}: what to change (a field left out or null stays as it is). `enabled: true`
 * also clears the failure clock. */
export type WebhookPatch = Schemas['UpdateWebhook'];

export type WebhookDeliveryState = Schemas['WebhookDeliveryState'];

/** One try of a delivery. `status_code` 0: no HTTP answer came (`error` says why). */
export type WebhookAttempt = Schemas['WebhookAttempt'];

/** One event sent (or being sent) to an endpoint, with its attempts, oldest first. `payload` is
 * the JSON body sent ({type, timestamp, data}): the document says only "object", which the
 * generator renders as an object without keys, and the gateway answers null for a payload it
 * cannot read, so the UI takes it as any JSON value (it only shows it). */
export type WebhookDelivery = Omit<Schemas['WebhookDelivery'], 'payload'> & { payload: unknown };

/** GET /webhooks/{id}/deliveries: the newest first. */
export type WebhookDeliveryList = Omit<Schemas['WebhookDeliveryList'], 'deliveries'> & { deliveries: WebhookDelivery[] };

/** A destination of the event changed state (host and co-hosts' sockets). */
export interface DestinationFrame {
  type: 'destination';
  destination: EventDestination;
}

// ---- WebSocket frames -------------------------------------------------------------------------

export interface HelloFrame {
  type: 'hello';
  protocol: number;
  event_id: string;
  you: Author;
  history: ChatMessage[];
  pinned: ChatMessage | null;
  settings: ChatSettings | null;
  timed_out_until: string | null;
  presence: Presence;
  heartbeat_secs: number;
}

export type ServerFrame =
  | HelloFrame
  | { type: 'chat.message'; message: ChatMessage }
  | { type: 'chat.ack'; client_msg_id: string; message: ChatMessage; held: boolean }
  | { type: 'chat.deleted'; message_id: string }
  | { type: 'moderation'; action: ModerationAction }
  | { type: 'presence'; viewer_count: number; user: Author; joined: boolean }
  | { type: 'error'; client_msg_id?: string; code: string; message: string; retry_after?: number }
  | { type: 'pong'; nonce: string | null }
  | { type: 'stage'; change: StageChange }
  | RecordingFrame
  | DestinationFrame;

/** A recording of the event changed state or layout (docs/recording.md). */
export interface RecordingFrame {
  type: 'recording';
  recording: Recording;
}

export type ClientFrame =
  | { type: 'chat.send'; client_msg_id: string; text: string }
  | { type: 'ping'; nonce?: string };

/** WebSocket close codes of protocol v1. */
export const CloseCode = {
  GoingAway: 1001,
  Banned: 4003,
  /** Kicked from the event by its staff (reconnecting is allowed, e.g. by reloading). */
  Kicked: 4010,
  TooSlow: 4008,
  HeartbeatMissed: 4009,
  ProtocolError: 4400,
} as const;
