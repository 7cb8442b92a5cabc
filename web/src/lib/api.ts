// The REST client: same-origin `/api/v1`, Bearer tokens, problem documents turned into ApiError,
// and one token refresh (shared by concurrent callers) when an access token has expired.
import { type Session, type SessionStore, jwtExpiry, sessionFromTokens } from './session';
import type {
  AuditPage,
  Standing,
  ChatMessage,
  ChatSettings,
  Destination,
  DestinationInput,
  DestinationList,
  EventDestination,
  EventDestinationList,
  EventInput,
  EventListStatus,
  EventPage,
  GuestJoined,
  GuestLink,
  GuestLinkCreated,
  GuestLinkInfo,
  GuestLinkInput,
  GuestLinkList,
  MessagePage,
  ModerationAction,
  MediaToken,
  Presence,
  Problem,
  Recording,
  RecordingLayout,
  RecordingList,
  RecordingStartInput,
  ReplayPage,
  StageEvent,
  StageChanged,
  StageLog,
  StageMuted,
  StageParticipantList,
  StageRole,
  StageView,
  StageRemoved,
  Tokens,
  TrackSource,
  User,
} from './types';

export const API_BASE = '/api/v1';

/** An error to show the user: `detail` comes from the server's problem document. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly retryAfter?: number;

  constructor(problem: Problem) {
    super(problem.detail);
    this.name = 'ApiError';
    this.status = problem.status;
    this.code = problem.code;
    this.detail = problem.detail;
    this.retryAfter = problem.retry_after;
  }
}

/** 401 codes after which the session is over (only an expired access token is worth a refresh). */
const SESSION_OVER = new Set(['missing_token', 'token_invalid', 'token_revoked']);

export function networkError(): ApiError {
  return new ApiError({
    status: 0,
    code: 'network',
    detail: 'Could not reach stagecast. Check your connection and try again.',
  });
}

export async function problemOf(res: Response): Promise<ApiError> {
  let body: Partial<Problem> | null = null;
  try {
    body = (await res.json()) as Partial<Problem>;
  } catch {
    body = null;
  }
  if (body && typeof body.detail === 'string' && typeof body.code === 'string') {
    return new ApiError({ ...body, status: res.status } as Problem);
  }
  // Not a problem document (a proxy, or the gateway is down): still say what to do.
  const detail =
    res.status >= 500
      ? `stagecast is not answering right now (HTTP ${res.status}). Try again in a moment.`
      : `The request failed (HTTP ${res.status}). Reload the page and try again.`;
  return new ApiError({ status: res.status, code: `http_${res.status}`, detail });
}

export interface RequestOptions {
  body?: unknown;
  /** A body sent as is (an image upload) instead of JSON. */
  raw?: { data: Blob; contentType: string };
  /** Send the access token (default true). */
  auth?: boolean;
  query?: Record<string, string | number | undefined | null>;
  signal?: AbortSignal;
}

export interface ApiClientOptions {
  store: SessionStore;
  fetch?: typeof fetch;
  /** Called once the session is gone (refresh failed, token revoked): go to sign-in. */
  onSignedOut?: (reason: ApiError) => void;
  /** Called whenever tokens change (sign in, refresh). */
  onSession?: (session: Session | null) => void;
  now?: () => number;
}

export class ApiClient {
  private readonly store: SessionStore;
  private readonly fetchImpl: typeof fetch;
  private readonly onSignedOut?: (reason: ApiError) => void;
  private readonly onSession?: (session: Session | null) => void;
  private readonly now: () => number;
  private refreshing: Promise<Session> | null = null;

  constructor(opts: ApiClientOptions) {
    this.store = opts.store;
    this.fetchImpl = opts.fetch ?? ((...args) => globalThis.fetch(...args));
    this.onSignedOut = opts.onSignedOut;
    this.onSession = opts.onSession;
    this.now = opts.now ?? Date.now;
  }

  get session(): Session | null {
    return this.store.get();
  }

  private setSession(s: Session | null) {
    this.store.set(s);
    this.onSession?.(s);
  }

  private signOutLocally(reason: ApiError) {
    if (this.store.get() === null) return;
    this.setSession(null);
    this.onSignedOut?.(reason);
  }

  private url(path: string, query?: RequestOptions['query']): string {
    let url = API_BASE + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    return url;
  }

  private async send(method: string, path: string, opts: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.raw) headers['Content-Type'] = opts.raw.contentType;
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await this.fetchImpl(this.url(path, opts.query), {
        method,
        headers,
        body: opts.raw ? opts.raw.data : opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw networkError();
    }
  }

  /**
   * Exchanges the refresh token for a new pair. Concurrent callers share one request: refresh
   * tokens rotate, and presenting a spent one ends the session.
   */
  refresh(): Promise<Session> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<Session> {
    const current = this.store.get();
    if (!current) throw new ApiError({ status: 401, code: 'missing_token', detail: 'Sign in to continue.' });
    const res = await this.send('POST', '/auth/refresh', { body: { refresh_token: current.refresh_token } }, null);
    if (!res.ok) {
      const err = await problemOf(res);
      if (err.status === 401 || err.status === 422) {
        // Another tab may have refreshed first and spent our refresh token: use its tokens.
        const latest = this.store.get();
        if (latest && latest.refresh_token !== current.refresh_token) return latest;
        this.signOutLocally(
          new ApiError({ ...err, status: err.status, detail: 'Your session has ended. Sign in again to continue.', code: err.code }),
        );
      }
      throw err;
    }
    let session = sessionFromTokens((await res.json()) as Tokens);
    // A guest stays a guest: keep the event their session is for if the answer leaves it out.
    const guestEvent = current.user?.guest_event_id;
    if (guestEvent && session.user && session.user.id === current.user.id && !session.user.guest_event_id) {
      session = { ...session, user: { ...session.user, guest_event_id: guestEvent } };
    }
    this.setSession(session);
    return session;
  }

  /** An access token valid for at least `marginSecs` more (refreshing if needed), for the WebSocket. */
  async freshAccessToken(marginSecs = 30): Promise<string> {
    const s = this.store.get();
    if (!s) throw new ApiError({ status: 401, code: 'missing_token', detail: 'Sign in to continue.' });
    const exp = jwtExpiry(s.access_token);
    if (exp !== null && exp * 1000 - this.now() > marginSecs * 1000) return s.access_token;
    return (await this.refresh()).access_token;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const auth = opts.auth ?? true;
    const used = auth ? (this.store.get()?.access_token ?? null) : null;
    let res = await this.send(method, path, opts, used);
    if (auth && res.status === 401) {
      const err = await problemOf(res);
      if (err.code !== 'token_expired') {
        if (SESSION_OVER.has(err.code)) this.signOutLocally(err);
        throw err;
      }
      // Expired: refresh once (unless another request already did) and retry once.
      const latest = this.store.get();
      const token = latest && latest.access_token !== used ? latest.access_token : (await this.refresh()).access_token;
      res = await this.send(method, path, opts, token);
      if (res.status === 401) {
        const again = await problemOf(res);
        this.signOutLocally(again);
        throw again;
      }
    }
    if (!res.ok) throw await problemOf(res);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // ---- accounts ----

  async signUp(email: string, password: string, display_name: string): Promise<Session> {
    const t = await this.request<Tokens>('POST', '/auth/signup', { auth: false, body: { email, password, display_name } });
    const s = sessionFromTokens(t);
    this.setSession(s);
    return s;
  }

  async signIn(email: string, password: string): Promise<Session> {
    const t = await this.request<Tokens>('POST', '/auth/login', { auth: false, body: { email, password } });
    const s = sessionFromTokens(t);
    this.setSession(s);
    return s;
  }

  async signOut(): Promise<void> {
    const s = this.store.get();
    this.setSession(null);
    if (s) {
      // Best effort: the local session is gone either way.
      await this.request('POST', '/auth/logout', { auth: false, body: { refresh_token: s.refresh_token } }).catch(() => undefined);
    }
  }

  me = () => this.request<User>('GET', '/me');

  /** Whether the signed-in user is a guest whose session works for one event only. */
  get guestEventId(): string | null {
    return this.store.get()?.user?.guest_event_id ?? null;
  }

  // ---- guest invite links ----

  /** The join page's view of a link (no sign-in needed). */
  guestLinkInfo = (token: string) => this.request<GuestLinkInfo>('GET', `/guest-links/${encodeURIComponent(token)}`, { auth: false });

  /** Joins the link's event as a guest; the guest session replaces any session in this browser. */
  async joinAsGuest(token: string, display_name: string, avatar_url?: string): Promise<GuestJoined> {
    const body = avatar_url ? { display_name, avatar_url } : { display_name };
    const joined = await this.request<GuestJoined>('POST', `/guest-links/${encodeURIComponent(token)}/join`, { auth: false, body });
    const previous = this.store.get();
    const s = sessionFromTokens(joined);
    if (s.user && !s.user.guest_event_id) s.user = { ...s.user, guest_event_id: joined.event_id };
    this.setSession(s);
    // Best effort: end the account's session this browser held (the guest one took its place).
    if (previous) await this.request('POST', '/auth/logout', { auth: false, body: { refresh_token: previous.refresh_token } }).catch(() => undefined);
    return joined;
  }

  async updateMe(patch: { display_name?: string; avatar_url?: string }): Promise<User> {
    const user = await this.request<User>('PATCH', '/me', { body: patch });
    const s = this.store.get();
    if (s) this.setSession({ ...s, user });
    return user;
  }

  /** Uploads a profile photo (PNG, JPEG or WebP, at most 2 MiB); answers the updated user. */
  async uploadAvatar(data: Blob, contentType: string): Promise<User> {
    const user = await this.request<User>('PUT', '/me/avatar', { raw: { data, contentType } });
    const s = this.store.get();
    if (s) this.setSession({ ...s, user });
    return user;
  }

  async removeAvatar(): Promise<User> {
    const user = await this.request<User>('DELETE', '/me/avatar');
    const s = this.store.get();
    if (s) this.setSession({ ...s, user });
    return user;
  }

  // ---- events ----

  listEvents = (status: EventListStatus, cursor?: string | null, limit = 10) =>
    this.request<EventPage>('GET', '/events', { query: { status, cursor, limit } });
  getEvent = (id: string) => this.request<StageEvent>('GET', `/events/${encodeURIComponent(id)}`);
  createEvent = (input: EventInput) => this.request<StageEvent>('POST', '/events', { body: input });
  updateEvent = (id: string, input: EventInput) => this.request<StageEvent>('PATCH', `/events/${encodeURIComponent(id)}`, { body: input });
  transition = (id: string, action: 'go-live' | 'end' | 'cancel') =>
    this.request<StageEvent>('POST', `/events/${encodeURIComponent(id)}/${action}`);

  // ---- media ----

  /** A media token for the event's room on the SFU (one per join: they are short-lived). */
  mediaToken = (id: string) => this.request<MediaToken>('POST', `/events/${encodeURIComponent(id)}/media-token`);

  // ---- stage control (hosts and co-hosts) ----

  /** Who is connected to the event's SFU room, with their tracks. */
  stageParticipants = (id: string) => this.request<StageParticipantList>('GET', `/events/${encodeURIComponent(id)}/stage/participants`);
  /** Stops forwarding a user's track at once; only they can unmute it. */
  stageMute = (id: string, userId: string, source: TrackSource) =>
    this.request<StageMuted>('POST', `/events/${encodeURIComponent(id)}/stage/mute`, { body: { user_id: userId, source } });
  /** Disconnects a user from the stage (the SFU tells them `reason`). */
  stageRemove = (id: string, userId: string, reason?: string) =>
    this.request<StageRemoved>('POST', `/events/${encodeURIComponent(id)}/stage/remove`, {
      body: reason ? { user_id: userId, reason } : { user_id: userId },
    });

  // ---- the stage: hands, invitations, roles, kicks and bans ----

  private stagePath(id: string, rest = '') {
    return `/events/${encodeURIComponent(id)}${rest}`;
  }

  /** Who is on stage, the hand queue, pending invitations and bans (staff see all of them). */
  stage = (id: string) => this.request<StageView>('GET', this.stagePath(id, '/stage'));
  raiseHand = (id: string) => this.request<StageChanged>('POST', this.stagePath(id, '/stage/hand'));
  lowerHand = (id: string) => this.request<StageChanged>('DELETE', this.stagePath(id, '/stage/hand'));
  /** Staff: lowers someone else's hand. */
  lowerHandOf = (id: string, userId: string) =>
    this.request<StageChanged>('DELETE', this.stagePath(id, `/stage/hands/${encodeURIComponent(userId)}`));
  /** Staff: invites someone to speak (the invitation expires after 120 s). */
  invite = (id: string, userId: string) => this.request<StageChanged>('POST', this.stagePath(id, '/stage/invitations'), { body: { user_id: userId } });
  answerInvitation = (id: string, invitationId: string, answer: 'accept' | 'decline') =>
    this.request<StageChanged>('POST', this.stagePath(id, `/stage/invitations/${encodeURIComponent(invitationId)}/${answer}`));
  /** Staff: withdraws an open invitation to speak (the invitee can no longer accept it). */
  withdrawInvitation = (id: string, invitationId: string) =>
    this.request<StageChanged>('DELETE', this.stagePath(id, `/stage/invitations/${encodeURIComponent(invitationId)}`));
  /** Promotes, demotes ("audience") or hands over the host role ("host"). */
  setStageRole = (id: string, userId: string, role: StageRole) =>
    this.request<StageChanged>('PUT', this.stagePath(id, `/stage/roles/${encodeURIComponent(userId)}`), { body: { role } });
  /** Back to the audience by oneself. */
  leaveStage = (id: string) => this.request<StageChanged>('POST', this.stagePath(id, '/stage/leave'));
  /** The green room: brings a backstage co-host or speaker on air (host, co-hosts by rank). */
  bringOnAir = (id: string, userId: string) =>
    this.request<StageChanged>('POST', this.stagePath(id, `/stage/on-air/${encodeURIComponent(userId)}`));
  /** Sends an on-air co-host or speaker backstage (host, co-hosts by rank; or oneself). */
  sendBackstage = (id: string, userId: string) =>
    this.request<StageChanged>('POST', this.stagePath(id, `/stage/backstage/${encodeURIComponent(userId)}`));
  kick = (id: string, userId: string, reason?: string) =>
    this.request<StageChanged>('POST', this.stagePath(id, '/kick'), { body: reason ? { user_id: userId, reason } : { user_id: userId } });
  banFromEvent = (id: string, userId: string, reason?: string) =>
    this.request<StageChanged>('POST', this.stagePath(id, '/bans'), { body: reason ? { user_id: userId, reason } : { user_id: userId } });
  unbanFromEvent = (id: string, userId: string) => this.request<StageChanged>('DELETE', this.stagePath(id, `/bans/${encodeURIComponent(userId)}`));
  /** Staff: the latest stage changes, newest first. */
  stageLog = (id: string, limit = 50) => this.request<StageLog>('GET', this.stagePath(id, '/stage/log'), { query: { limit } });

  // ---- guest invite links (host and co-hosts) ----

  guestLinks = (id: string) => this.request<GuestLinkList>('GET', this.stagePath(id, '/stage/links'));
  createGuestLink = (id: string, input: GuestLinkInput) => this.request<GuestLinkCreated>('POST', this.stagePath(id, '/stage/links'), { body: input });
  /** Withdraws a link: its URL stops working at once. */
  withdrawGuestLink = (id: string, linkId: string) => this.request<GuestLink>('DELETE', this.stagePath(id, `/stage/links/${encodeURIComponent(linkId)}`));
  /** Replaces a link by a new one with the same settings (the old URL stops working at once). */
  regenerateGuestLink = (id: string, linkId: string) =>
    this.request<GuestLinkCreated>('POST', this.stagePath(id, `/stage/links/${encodeURIComponent(linkId)}/regenerate`));

  // ---- chat companions ----

  private chat(id: string, rest = '') {
    return `/events/${encodeURIComponent(id)}${rest}`;
  }

  presence = (id: string) => this.request<Presence>('GET', this.chat(id, '/presence'));
  history = (id: string, before?: string | null, limit = 50) =>
    this.request<MessagePage>('GET', this.chat(id, '/chat/messages'), { query: { before, limit } });
  deleteMessage = (id: string, messageId: string) =>
    this.request<ModerationAction>('DELETE', this.chat(id, `/chat/messages/${encodeURIComponent(messageId)}`));
  timeout = (id: string, userId: string, durationSecs: number) =>
    this.request<ModerationAction>('POST', this.chat(id, '/chat/timeouts'), { body: { user_id: userId, duration_secs: durationSecs } });
  ban = (id: string, userId: string) => this.request<ModerationAction>('POST', this.chat(id, '/chat/bans'), { body: { user_id: userId } });
  unban = (id: string, userId: string) =>
    this.request<ModerationAction>('DELETE', this.chat(id, `/chat/bans/${encodeURIComponent(userId)}`));
  addModerator = (id: string, userId: string) =>
    this.request<ModerationAction>('POST', this.chat(id, '/chat/moderators'), { body: { user_id: userId } });
  removeModerator = (id: string, userId: string) =>
    this.request<ModerationAction>('DELETE', this.chat(id, `/chat/moderators/${encodeURIComponent(userId)}`));
  updateChatSettings = (id: string, settings: Partial<ChatSettings>) =>
    this.request<{ actions: ModerationAction[] }>('PUT', this.chat(id, '/chat/settings'), { body: settings });
  pin = (id: string, messageId: string) => this.request<ModerationAction>('PUT', this.chat(id, '/chat/pin'), { body: { message_id: messageId } });
  unpin = (id: string) => this.request<ModerationAction>('DELETE', this.chat(id, '/chat/pin'));
  held = (id: string) => this.request<{ messages: ChatMessage[] }>('GET', this.chat(id, '/chat/held'));
  reviewHeld = (id: string, messageId: string, verdict: 'approve' | 'deny') =>
    this.request<ModerationAction>('POST', this.chat(id, `/chat/held/${encodeURIComponent(messageId)}/${verdict}`));
  audit = (id: string, before?: string | null, limit = 20) =>
    this.request<AuditPage>('GET', this.chat(id, '/chat/audit'), { query: { before, limit } });
  standing = (id: string) => this.request<Standing>('GET', this.chat(id, '/chat/standing'));

  // ---- cloud recording (docs/recording.md) ----

  private recordingPath(rid: string, rest = '') {
    return `/recordings/${encodeURIComponent(rid)}${rest}`;
  }

  /** Host, co-host: starts recording the live event (state `starting`). */
  startRecording = (eventId: string, input: RecordingStartInput = {}) =>
    this.request<Recording>('POST', `/events/${encodeURIComponent(eventId)}/recordings`, { body: input });
  /** Host, co-host: stops a running recording (state `stopping`, then `ready`). */
  stopRecording = (eventId: string, rid: string) =>
    this.request<Recording>('POST', `/events/${encodeURIComponent(eventId)}/recordings/${encodeURIComponent(rid)}/stop`);
  /** Host, co-host: switches a running recording's layout. */
  setRecordingLayout = (eventId: string, rid: string, layout: RecordingLayout) =>
    this.request<Recording>('PUT', `/events/${encodeURIComponent(eventId)}/recordings/${encodeURIComponent(rid)}/layout`, { body: { layout } });
  /** The event's recordings, newest first. */
  eventRecordings = (eventId: string, signal?: AbortSignal) =>
    this.request<RecordingList>('GET', `/events/${encodeURIComponent(eventId)}/recordings`, { signal });
  /** Recordings of the events I host or co-host. */
  myRecordings = () => this.request<RecordingList>('GET', '/recordings', { query: { scope: 'mine' } });
  /** One recording, with `playback` once it can be played. */
  getRecording = (rid: string) => this.request<Recording>('GET', this.recordingPath(rid));
  /** A page of the chat replay, aligned to the recording (`offset_ms` from its first frame). */
  recordingChat = (rid: string, fromOffsetMs = 0, limit = 500) =>
    this.request<ReplayPage>('GET', this.recordingPath(rid, '/chat'), { query: { from_offset_ms: fromOffsetMs, limit } });
  /** Host: deletes a recording and its files. */
  deleteRecording = (rid: string) => this.request<void>('DELETE', this.recordingPath(rid));

  // ---- restreaming destinations (docs/api.md "Destinations") ----

  /** My saved destinations (any event can use them). */
  myDestinations = () => this.request<DestinationList>('GET', '/destinations');
  /** Saves a destination; the stream key is stored encrypted and never sent back. */
  createDestination = (input: DestinationInput) => this.request<Destination>('POST', '/destinations', { body: input });
  /** Deletes a saved destination (409 `destination_in_use` while an event uses it). */
  deleteDestination = (did: string) => this.request<void>('DELETE', `/destinations/${encodeURIComponent(did)}`);

  private eventDestinationPath(eventId: string, did?: string, rest = '') {
    return `/events/${encodeURIComponent(eventId)}/destinations${did === undefined ? '' : `/${encodeURIComponent(did)}`}${rest}`;
  }

  /** Host, co-host: the event's destinations with their push's state. */
  eventDestinations = (eventId: string, signal?: AbortSignal) =>
    this.request<EventDestinationList>('GET', this.eventDestinationPath(eventId), { signal });
  /** Host, co-host: attaches a saved destination to the event. */
  attachDestination = (eventId: string, did: string, autoStart?: boolean) =>
    this.request<EventDestination>('POST', this.eventDestinationPath(eventId), {
      body: autoStart === undefined ? { destination_id: did } : { destination_id: did, auto_start: autoStart },
    });
  /** Host, co-host: whether the destination starts by itself when the event goes live. */
  setDestinationAutoStart = (eventId: string, did: string, autoStart: boolean) =>
    this.request<EventDestination>('PATCH', this.eventDestinationPath(eventId, did), { body: { auto_start: autoStart } });
  /** Host, co-host: detaches a destination (stopping its push first); it stays saved. */
  detachDestination = (eventId: string, did: string) => this.request<void>('DELETE', this.eventDestinationPath(eventId, did));
  /** Host, co-host: starts pushing the live event to the destination (state `connecting`). */
  startDestination = (eventId: string, did: string) => this.request<EventDestination>('POST', this.eventDestinationPath(eventId, did, '/start'));
  /** Host, co-host: stops the push (state `stopped`). */
  stopDestination = (eventId: string, did: string) => this.request<EventDestination>('POST', this.eventDestinationPath(eventId, did, '/stop'));

  /** The live socket's URL (same origin; browsers cannot set headers, so the token rides in the query). */
  async liveUrl(eventId: string, location: Pick<Location, 'protocol' | 'host'> = window.location): Promise<string> {
    const token = await this.freshAccessToken();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${API_BASE}/events/${encodeURIComponent(eventId)}/live?access_token=${encodeURIComponent(token)}`;
  }
}

/** What to do about an error, by its stable `code`, where the server's `detail` may not say. */
const NEXT_STEP: Record<string, string | ((e: ApiError) => string)> = {
  invalid_credentials: 'Check your email and password, then try again.',
  email_taken: 'Sign in instead, or use another email address.',
  invalid_email: 'Check the email address, then try again.',
  email_required: 'Enter your email address.',
  password_too_short: 'Choose a password of at least 8 characters.',
  password_too_long: 'Choose a password of at most 128 characters.',
  display_name_required: 'Enter a display name.',
  display_name_too_long: 'Use at most 50 characters.',
  invalid_display_name: 'Use letters, digits and ordinary punctuation.',
  invalid_avatar_url: 'Use the http(s) address of an image, or leave it empty.',
  invalid_cover_url: 'Use the http(s) address of an image, or leave it empty.',
  title_required: 'Enter a title.',
  title_too_long: 'Use at most 140 characters.',
  description_too_long: 'Shorten the description to 5000 characters.',
  starts_at_required: 'Pick the date and time the event starts.',
  starts_at_in_past: 'Pick a start time in the future.',
  invalid_timestamp: 'Pick the date and time again.',
  starts_at_locked: 'The start time cannot change once the event has gone live.',
  too_many_cohosts: 'Keep at most 10 co-hosts.',
  invalid_cohost_id: "Check the co-host IDs: each person's ID is on their profile page.",
  host_cannot_be_cohost: 'Remove your own ID from the co-hosts.',
  not_a_host: 'Ask the host to do it, or to make you a co-host.',
  host_only: 'Only the host can do this.',
  illegal_transition: "Reload the page to see the event's current state.",
  event_closed: 'The event is over; it can no longer change.',
  event_over: 'The event is over, so the stage and the live video are closed.',
  event_not_found: 'Check the link, or go back to the list of events.',
  invalid_event_id: 'Check the link, or go back to the list of events.',
  unavailable: 'Try again in a moment.',
  unknown_source: 'Reload the page and try again.',
  reason_too_long: 'Use at most 200 characters for the reason.',
  not_allowed: 'Your role on this stage does not allow that. Ask the host or a co-host.',
  cannot_act_on_higher_role: 'You can only act on people below your own role on this stage.',
  stage_full: 'Every speaker seat is taken. Move a speaker back to the audience first.',
  already_on_stage: 'They are already on stage.',
  hand_already_raised: 'Your hand is already up; the hosts can see it.',
  hand_not_raised: 'That hand is already down.',
  already_invited: 'They already have an invitation waiting; give them a moment to answer.',
  invitation_expired: 'The invitation expired. Raise your hand again to be invited anew.',
  invitation_not_found: 'That invitation is no longer open. Reload the page to see the stage as it is.',
  banned: 'You are banned from this event.',
  already_banned: 'They are already banned from this event.',
  not_banned: 'They are not banned any more.',
  role_unchanged: 'They already have that role.',
  not_backstage: 'They are not backstage any more. Reload the page to see the stage as it is.',
  already_backstage: 'They are already backstage. Reload the page to see the stage as it is.',
  host_must_hand_over: 'Hand the host role to someone else on stage first.',
  link_not_found: 'This invite link does not exist. Check that you copied all of it, or ask the host for a new one.',
  link_revoked: 'This invite link was withdrawn. Ask the host for a new one.',
  link_expired: 'This invite link has expired. Ask the host for a new one.',
  link_exhausted: 'This invite link has been used as many times as it allows. Ask the host for a new one.',
  invalid_link_role: 'Choose speaker or co-host.',
  invalid_expiry: 'Choose an expiry between 1 minute and 7 days.',
  invalid_max_uses: 'Allow between 1 and 1000 uses.',
  guest_session_scope: 'As a guest you can only take part in the event you were invited to.',
  recording_already_running: 'A recording of this event is already running. Stop it first; the studio shows it in a moment.',
  event_not_live: 'Go live first, then start recording.',
  unknown_layout: 'Choose Active speaker, Grid or Screen share.',
  recording_not_running: 'That recording is no longer running. The studio shows its current state in a moment.',
  recording_not_found: 'This recording was deleted.',
  invalid_platform: 'Choose YouTube, Twitch, Facebook or Custom RTMP.',
  invalid_server_url: 'Use the rtmp:// or rtmps:// address with the host and the application path, without the stream key.',
  invalid_stream_key: 'Copy the stream key again from the platform and paste it as it is.',
  invalid_name: 'Use 1 to 80 characters for the name, or leave it empty.',
  destination_not_found: 'That destination was deleted. Reload the page to see the destinations as they are.',
  destination_in_use: 'It is streaming for an event right now. Stop it there first, then delete it.',
  not_event_staff: "Only the event's host and co-hosts can do this.",
  already_attached: "It is already in this event's destinations.",
  not_attached: "It is no longer in this event's destinations. The studio shows them as they are in a moment.",
  already_started: 'It is already streaming there. The studio shows its state in a moment.',
  not_started: 'It is not streaming there any more. The studio shows its state in a moment.',
  egress_busy: (e) =>
    e.retryAfter ? `The restreaming service is busy. Wait ${e.retryAfter} s, then press Start again.` : 'The restreaming service is busy. Wait a moment, then press Start again.',
  rate_limited: (e) => (e.retryAfter ? `Wait ${e.retryAfter} s, then try again.` : 'Wait a moment, then try again.'),
};

function sentence(text: string): string {
  const t = text.trim();
  return !t || /[.!?]$/.test(t) ? t : `${t}.`;
}

/** Text to show for any thrown value: the problem `detail`, with what to do next. */
export function errorText(e: unknown): string {
  if (!(e instanceof ApiError)) return 'Something went wrong. Reload the page and try again.';
  const step = NEXT_STEP[e.code];
  const next = typeof step === 'function' ? step(e) : step;
  if (!next) return e.detail;
  const detail = sentence(e.detail);
  // Our own details (network, session) and some server ones already say it.
  if (detail.toLowerCase().includes(next.toLowerCase().replace(/\.$/, ''))) return detail;
  // …or our own sentence already says what the server's detail says.
  const bare = detail.toLowerCase().replace(/\.$/, '');
  if (bare && next.toLowerCase().includes(bare)) return next;
  return `${detail} ${next}`;
}
