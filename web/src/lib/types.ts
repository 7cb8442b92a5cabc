// Shapes of the stagecast REST API and live WebSocket protocol v1 (docs/api.md, docs/websocket.md).

export interface User {
  id: string;
  email: string;
  display_name: string;
  avatar_url: string | null;
  created_at: string;
  /** Set for a guest (joined through an invite link): the one event their session works for. */
  guest_event_id?: string | null;
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
  session_id: string;
  user: User;
}

export type EventStatus = 'scheduled' | 'live' | 'ended' | 'cancelled';
export type EventListStatus = 'live' | 'upcoming' | 'past';

export interface StageEvent {
  id: string;
  title: string;
  description: string;
  starts_at: string;
  cover_url: string | null;
  status: EventStatus;
  host_id: string;
  cohost_ids: string[];
  created_at: string;
  updated_at: string;
  went_live_at: string | null;
  ended_at: string | null;
  cancelled_at: string | null;
}

export interface EventPage {
  events: StageEvent[];
  next_cursor: string | null;
}

export interface EventInput {
  title?: string;
  description?: string;
  starts_at?: string;
  cover_url?: string;
  cohost_ids?: string[];
}

/** RFC 9457 problem document. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail: string;
  code: string;
  retry_after?: number;
}

export type ChatRole = 'host' | 'cohost' | 'moderator' | 'viewer';

export interface Author {
  user_id: string;
  display_name: string;
  avatar_url: string | null;
  role: ChatRole;
}

export interface ChatMessage {
  id: string;
  event_id: string;
  author: Author;
  text: string;
  sent_at: string | null;
  client_msg_id: string;
}

export type BlockedTermMode = 'reject' | 'hold';

export interface ChatSettings {
  slow_mode_secs: number;
  blocked_terms: string[];
  blocked_term_mode: BlockedTermMode;
}

export type ModerationKind =
  | 'delete_message'
  | 'timeout'
  | 'ban'
  | 'unban'
  | 'add_moderator'
  | 'remove_moderator'
  | 'slow_mode'
  | 'blocked_terms'
  | 'pin'
  | 'unpin'
  | 'approve'
  | 'deny';

export interface ModerationAction {
  id: string;
  kind: ModerationKind | string;
  actor_id: string;
  target_user_id: string | null;
  target_message_id: string | null;
  reason: string | null;
  at: string | null;
  duration_secs: number | null;
  message: ChatMessage | null;
  settings: ChatSettings | null;
}

export interface Presence {
  viewer_count: number;
  users: Author[];
}

export interface MessagePage {
  messages: ChatMessage[];
  next_before: string | null;
}

export interface AuditPage {
  actions: ModerationAction[];
  next_before: string | null;
}

/** Someone named in a standing list; `display_name` is null when the account is gone. */
export interface Person {
  user_id: string;
  display_name: string | null;
  avatar_url: string | null;
}

export interface StandingEntry {
  user: Person;
  by: Person;
  since: string | null;
  /** When a timeout ends. */
  until?: string;
}

/** Who moderates, who is banned and whose timeout is running (GET …/chat/standing). */
export interface Standing {
  moderators: StandingEntry[];
  banned: StandingEntry[];
  timed_out: StandingEntry[];
}

// ---- media (docs/api.md "Media"; the SFU's signalling in services/media/src/signal.rs) --------

export type TrackSource = 'camera' | 'microphone' | 'screen' | 'screen_audio';

export interface MediaGrants {
  subscribe: boolean;
  publish: TrackSource[];
  hidden: boolean;
  /** In the green room: this participant's media reaches only those who see the backstage. */
  backstage?: boolean;
  /** Receives the backstage's media (host, co-hosts, moderators and the backstage itself). */
  see_backstage?: boolean;
}

/** POST /events/{id}/media-token: a ticket to the event's room on the SFU at `url`. */
export interface MediaToken {
  token: string;
  expires_in: number;
  url: string;
  room: string;
  role: string;
  grants: MediaGrants;
}

/** One of a participant's tracks as the stage control API lists it. */
export interface StageControlTrack {
  source: TrackSource;
  kind: 'audio' | 'video';
  muted: boolean;
}

/** GET /events/{id}/stage/participants: one connection to the event's SFU room. */
export interface StageControlParticipant {
  participant_id: string;
  user_id: string;
  name: string;
  /** The media connection is up (false while it is still being set up). */
  connected: boolean;
  tracks: StageControlTrack[];
}

export interface StageParticipantList {
  participants: StageControlParticipant[];
}

/** POST /events/{id}/stage/mute: how many tracks stopped being forwarded (0: nothing to mute). */
export interface StageMuted {
  tracks_muted: number;
}

/** POST /events/{id}/stage/remove: how many connections were closed (0: they had left). */
export interface StageRemoved {
  participants_removed: number;
}

// ---- the stage: hands, invitations, roles, bans (docs/api.md "Stage") ---------------------------

export type StageRole = 'host' | 'cohost' | 'moderator' | 'speaker' | 'audience';

export interface StageMember {
  user_id: string;
  display_name: string;
  avatar_url: string | null;
  role: StageRole;
  since: string | null;
  /** In the green room: seen and heard only by the host, co-hosts, moderators and the backstage
   * (listed only to them); takes no seat. Absent means false. */
  backstage?: boolean;
}

export interface StageHand {
  user_id: string;
  display_name: string;
  avatar_url: string | null;
  raised_at: string | null;
}

export interface StageInvitation {
  id: string;
  user_id: string;
  invited_by: string;
  created_at: string | null;
  expires_at: string | null;
}

export interface StageBan {
  user_id: string;
  display_name: string;
  avatar_url: string | null;
  banned_by: string;
  reason: string;
  banned_at: string | null;
}

/** GET /events/{id}/stage. Staff see every hand, invitation and ban; others see only their own
 * hand and invitation, and no bans. */
export interface StageView {
  event_id: string;
  max_speakers: number;
  your_role: StageRole;
  /** Host, co-hosts, moderators and speakers (everyone else is the audience). */
  members: StageMember[];
  hands: StageHand[];
  invitations: StageInvitation[];
  bans: StageBan[];
}

export type StageChangeKind =
  | 'hand_raised'
  | 'hand_lowered'
  | 'invited'
  | 'invitation_accepted'
  | 'invitation_declined'
  | 'invitation_withdrawn'
  | 'role_changed'
  | 'muted'
  | 'kicked'
  | 'banned'
  | 'unbanned'
  | 'brought_on_air'
  | 'sent_backstage';

/** One stage change, as every change endpoint and the `stage` WebSocket frame carry it. */
export interface StageChange {
  kind: StageChangeKind | string;
  actor_id: string;
  target_user_id: string;
  role: StageRole | string;
  previous_role?: StageRole | string;
  reason?: string;
  at: string | null;
  invitation?: StageInvitation;
  source?: TrackSource | string;
}

/** What every stage change endpoint answers. */
export interface StageChanged {
  change: StageChange;
  /** The target's new media rights (absent once banned or the event is over). */
  grants?: MediaGrants;
  /** False when the SFU could not be reached (the next media token carries the new rights). */
  applied_to_media: boolean;
}

export interface StageLog {
  entries: StageChange[];
}

// ---- guest invite links (docs/api.md "Guest invite links") ------------------------------------

/** The stage role a guest link grants. */
export type GuestLinkRole = 'speaker' | 'cohost';

/** A guest invite link, without its secret (shown once, when made or regenerated). */
export interface GuestLink {
  id: string;
  role: GuestLinkRole;
  needs_approval: boolean;
  max_uses: number;
  uses: number;
  created_by: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface GuestLinkInput {
  role: GuestLinkRole;
  /** 60 to 604800 (default a day). */
  expires_in_secs?: number;
  /** 1 to 1000 (default 1). */
  max_uses?: number;
  needs_approval?: boolean;
}

/** POST …/stage/links and …/regenerate: the link and its secret, shown this once. */
export interface GuestLinkCreated {
  link: GuestLink;
  token: string;
  /** `/join/{token}`, relative or absolute. */
  join_url: string;
}

export interface GuestLinkList {
  links: GuestLink[];
}

/** GET /guest-links/{token}: what the join page shows. */
export interface GuestLinkInfo {
  event: Pick<StageEvent, 'id' | 'title' | 'description' | 'starts_at' | 'cover_url' | 'status' | 'host_id'> & Partial<StageEvent>;
  role: GuestLinkRole;
  needs_approval: boolean;
  expires_at: string;
}

/** POST /guest-links/{token}/join: a guest session, as sign-up answers, plus where it leads.
 * `role` is "audience" when the link needs the host's approval (the guest's hand is up). */
export interface GuestJoined extends Tokens {
  event_id: string;
  role: GuestLinkRole | 'audience';
  change?: StageChange | null;
}

// ---- cloud recording (docs/recording.md) -------------------------------------------------------

/** How the composite is laid out: the active speaker large, everyone the same size, or a shared
 * screen large with the cameras beside it. */
export type RecordingLayout = 'speaker' | 'grid' | 'screen';
export type RecordingQuality = '720p' | '1080p';
/** `starting` → `recording` → `stopping` → `ready`; or `failed` (with `error`). */
export type RecordingState = 'starting' | 'recording' | 'stopping' | 'ready' | 'failed';

export interface RecordingPlayback {
  /** The HLS playlist (an EVENT playlist that grows while recording). */
  hls_url: string;
  /** The MP4 download (exists once the recording is `ready`). */
  mp4_url: string;
}

export interface Recording {
  id: string;
  event_id: string;
  event_title: string;
  host_id: string;
  state: RecordingState | string;
  layout: RecordingLayout | string;
  quality: RecordingQuality | string;
  started_at: string | null;
  ended_at: string | null;
  duration_ms: number | null;
  size_bytes: number | null;
  thumbnail_url: string | null;
  layout_changes?: { at_ms: number; layout: RecordingLayout | string }[];
  gaps?: { at_ms: number; duration_ms: number; reason: string }[];
  /** Why a `failed` recording failed. */
  error?: string | null;
  /** Absent until the first segment is stored. */
  playback?: RecordingPlayback | null;
  /** Not in the contract (yet): when the server last changed this recording. Used, when present,
   * to tell an older copy from a newer one. */
  updated_at?: string | null;
}

export interface RecordingList {
  recordings: Recording[];
}

export interface RecordingStartInput {
  layout?: RecordingLayout;
  quality?: RecordingQuality;
}

/** One message of a recording's chat replay; `offset_ms` counts from the recording's first frame. */
export interface ReplayMessage {
  message_id: string;
  user_id: string;
  display_name: string;
  text: string;
  offset_ms: number;
}

export interface ReplayPage {
  messages: ReplayMessage[];
}

// ---- restreaming destinations (docs/api.md "Destinations") ----------------------------------

export type DestinationPlatform = 'youtube' | 'twitch' | 'facebook' | 'custom';

/** A saved RTMP(S) destination of mine, reusable across events. The stream key is never sent
 * back: `key_hint` is its last 4 characters ("…abcd"). */
export interface Destination {
  id: string;
  platform: DestinationPlatform | string;
  name: string;
  /** The server and application path, without the key. */
  server_url: string;
  key_hint: string;
  created_at: string | null;
}

/** POST /destinations. `name` (1–80 characters) and `server_url` default from the platform;
 * `server_url` is required for `custom`. */
export interface DestinationInput {
  platform: DestinationPlatform;
  name?: string;
  server_url?: string;
  stream_key: string;
}

export interface DestinationList {
  destinations: Destination[];
}

/** `idle` (attached, never started) → `connecting` → `live`, or `retrying` (reconnecting after a
 * drop) → `live` again, or `failed` (with `error`); `stopped` once stopped. */
export type DestinationState = 'idle' | 'connecting' | 'live' | 'retrying' | 'failed' | 'stopped';

/** Why a push failed or is retrying ("" when it is fine). */
export type DestinationErrorCode = 'key_refused' | 'unreachable' | 'stalled' | 'disconnected' | 'tls' | 'invalid_url' | '';

/** A destination attached to an event, with its push's state. (The gateway may send a null
 * `destination` if the service lost it; the reducer drops such copies, so the UI never sees one.) */
export interface EventDestination {
  event_id: string;
  destination: Destination;
  /** Starts by itself when the event goes live. */
  auto_start: boolean;
  state: DestinationState | string;
  bitrate_bps: number;
  bytes_sent: number;
  /** When the push last became live (RFC 3339), null when it is not. */
  live_since: string | null;
  retries: number;
  /** Why it failed or is retrying, in words for the host. */
  error: string;
  error_code: DestinationErrorCode | string;
  /** Moves with every change. */
  updated_at: string | null;
}

export interface EventDestinationList {
  destinations: EventDestination[];
}

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
