// The REST client: an openapi-fetch client typed by the gateway's OpenAPI document (./api.gen.ts,
// generated from services/gateway/openapi.json), so every path, parameter and body below is
// checked against the document. Around it: same-origin `/api/v1`, Bearer tokens, problem
// documents turned into ApiError, and one token refresh (shared by concurrent callers) when an
// access token has expired.
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './api.gen';
import { type Session, type SessionStore, jwtExpiry, sessionFromTokens } from './session';
import type {
  ApiKey,
  ApiKeyInput,
  ApiKeyList,
  AuditPage,
  ChatSettingsChanged,
  ChatSettingsInput,
  CreatedApiKey,
  CreatedWebhook,
  Destination,
  DestinationInput,
  DestinationList,
  EventCreateInput,
  EventDestination,
  EventDestinationList,
  EventInput,
  EventListStatus,
  EventPage,
  GuestJoinInput,
  GuestJoined,
  GuestLink,
  GuestLinkCreated,
  GuestLinkInfo,
  GuestLinkInput,
  GuestLinkList,
  HeldMessages,
  MessagePage,
  ModerationAction,
  MediaToken,
  Presence,
  Problem,
  ProfilePatch,
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
  Standing,
  Tokens,
  TrackSource,
  User,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookEndpoint,
  WebhookInput,
  WebhookList,
  WebhookPatch,
} from './types';

export const API_BASE = '/api/v1';

/** What an ApiError is made of: a problem document's `status`, `code`, `detail`, `retry_after`. */
export type ProblemInit = Pick<Problem, 'status' | 'code' | 'detail' | 'retry_after'>;

/** An error to show the user: `detail` comes from the server's problem document. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly retryAfter?: number;

  constructor(problem: ProblemInit) {
    super(problem.detail);
    this.name = 'ApiError';
    this.status = problem.status;
    this.code = problem.code;
    this.detail = problem.detail;
    this.retryAfter = problem.retry_after ?? undefined;
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

/** The ApiError for a failed answer: its problem document, or words for whatever else came back. */
export function problemFrom(status: number, body: unknown): ApiError {
  const p = body && typeof body === 'object' ? (body as Partial<Problem>) : null;
  if (p && typeof p.detail === 'string' && typeof p.code === 'string') {
    return new ApiError({ status, code: p.code, detail: p.detail, retry_after: typeof p.retry_after === 'number' ? p.retry_after : undefined });
  }
  // Not a problem document (a proxy, or the gateway is down): still say what to do.
  const detail =
    status >= 500
      ? `stagecast is not answering right now (HTTP ${status}). Try again in a moment.`
      : `The request failed (HTTP ${status}). Reload the page and try again.`;
  return new ApiError({ status, code: `http_${status}`, detail });
}

export async function problemOf(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return problemFrom(res.status, body);
}

export interface ApiClientOptions {
  store: SessionStore;
  /** Called with each request (a `Request`); default: the global fetch. */
  fetch?: typeof fetch;
  /** Where the API is (default: `/api/v1` on this page's origin). */
  baseUrl?: string;
  /** Called once the session is gone (refresh failed, token revoked): go to sign-in. */
  onSignedOut?: (reason: ApiError) => void;
  /** Called whenever tokens change (sign in, refresh). */
  onSession?: (session: Session | null) => void;
  now?: () => number;
}

/** What an openapi-fetch call answers. */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** One request, sent with the given headers (the Authorization header, or none). */
type Send<T> = (headers: Record<string, string>) => Promise<Answer<T>>;

/** Query values as the API takes them: absent, null and empty ones are left out. */
function querySerializer(query: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  return params.toString();
}

function defaultBaseUrl(): string {
  // Same origin: the gateway serves the app and the API (and `npm run dev` proxies /api).
  return `${globalThis.location?.origin ?? 'http://localhost'}${API_BASE}`;
}

export class ApiClient {
  private readonly store: SessionStore;
  private readonly fetchImpl: typeof fetch;
  private readonly onSignedOut?: (reason: ApiError) => void;
  private readonly onSession?: (session: Session | null) => void;
  private readonly now: () => number;
  private readonly client: Client<paths>;
  private refreshing: Promise<Session> | null = null;

  constructor(opts: ApiClientOptions) {
    this.store = opts.store;
    this.fetchImpl = opts.fetch ?? ((...args) => globalThis.fetch(...args));
    this.onSignedOut = opts.onSignedOut;
    this.onSession = opts.onSession;
    this.now = opts.now ?? Date.now;
    this.client = createClient<paths>({
      baseUrl: (opts.baseUrl ?? defaultBaseUrl()).replace(/\/+$/, ''),
      headers: { Accept: 'application/json' },
      querySerializer,
      fetch: (request) => this.transport(request),
    });
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

  private async transport(request: Request): Promise<Response> {
    try {
      return await this.fetchImpl(request);
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw networkError();
    }
  }

  /**
   * Runs a request with the access token (unless `auth` is false): an expired token is refreshed
   * once and the request sent again; answers other than 2xx become ApiError.
   */
  private async call<T>(send: Send<T>, auth = true): Promise<T> {
    const used = auth ? (this.store.get()?.access_token ?? null) : null;
    let answer = await send(bearer(used));
    if (auth && answer.response.status === 401) {
      const err = problemFrom(401, answer.error);
      if (err.code !== 'token_expired') {
        if (SESSION_OVER.has(err.code)) this.signOutLocally(err);
        throw err;
      }
      // Expired: refresh once (unless another request already did) and retry once.
      const latest = this.store.get();
      const token = latest && latest.access_token !== used ? latest.access_token : (await this.refresh()).access_token;
      answer = await send(bearer(token));
      if (answer.response.status === 401) {
        const again = problemFrom(401, answer.error);
        this.signOutLocally(again);
        throw again;
      }
    }
    if (!answer.response.ok) throw problemFrom(answer.response.status, answer.error);
    return answer.data as T;
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
    const { data, error, response } = await this.client.POST('/auth/refresh', { body: { refresh_token: current.refresh_token } });
    if (!data) {
      const err = problemFrom(response.status, error);
      if (err.status === 401 || err.status === 422) {
        // Another tab may have refreshed first and spent our refresh token: use its tokens.
        const latest = this.store.get();
        if (latest && latest.refresh_token !== current.refresh_token) return latest;
        this.signOutLocally(
          new ApiError({ ...err, retry_after: err.retryAfter, detail: 'Your session has ended. Sign in again to continue.' }),
        );
      }
      throw err;
    }
    let session = sessionFromTokens(data);
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

  // ---- accounts ----

  private signedIn(t: Tokens): Session {
    const s = sessionFromTokens(t);
    this.setSession(s);
    return s;
  }

  async signUp(email: string, password: string, display_name: string): Promise<Session> {
    const t = await this.call((headers) => this.client.POST('/auth/signup', { headers, body: { email, password, display_name } }), false);
    return this.signedIn(t);
  }

  async signIn(email: string, password: string): Promise<Session> {
    const t = await this.call((headers) => this.client.POST('/auth/login', { headers, body: { email, password } }), false);
    return this.signedIn(t);
  }

  /** Ends a session on the server (best effort: the local one is gone either way). */
  private endSession(refresh_token: string): Promise<void> {
    return this.call((headers) => this.client.POST('/auth/logout', { headers, body: { refresh_token } }), false).then(
      () => undefined,
      () => undefined,
    );
  }

  async signOut(): Promise<void> {
    const s = this.store.get();
    this.setSession(null);
    if (s) await this.endSession(s.refresh_token);
  }

  me = (): Promise<User> => this.call((headers) => this.client.GET('/me', { headers }));

  /** Whether the signed-in user is a guest whose session works for one event only. */
  get guestEventId(): string | null {
    return this.store.get()?.user?.guest_event_id ?? null;
  }

  // ---- guest invite links ----

  /** The join page's view of a link (no sign-in needed). */
  guestLinkInfo = (token: string): Promise<GuestLinkInfo> =>
    this.call((headers) => this.client.GET('/guest-links/{token}', { headers, params: { path: { token } } }), false);

  /** Joins the link's event as a guest; the guest session replaces any session in this browser. */
  async joinAsGuest(token: string, display_name: string, avatar_url?: string): Promise<GuestJoined> {
    const body: GuestJoinInput = avatar_url ? { display_name, avatar_url } : { display_name };
    const joined = await this.call(
      (headers) => this.client.POST('/guest-links/{token}/join', { headers, params: { path: { token } }, body }),
      false,
    );
    const previous = this.store.get();
    const s = sessionFromTokens(joined);
    if (s.user && !s.user.guest_event_id) s.user = { ...s.user, guest_event_id: joined.event_id };
    this.setSession(s);
    // Best effort: end the account's session this browser held (the guest one took its place).
    if (previous) await this.endSession(previous.refresh_token);
    return joined;
  }

  /** Keeps the session's copy of the signed-in user up to date. */
  private updatedUser(user: User): User {
    const s = this.store.get();
    if (s) this.setSession({ ...s, user });
    return user;
  }

  async updateMe(patch: ProfilePatch): Promise<User> {
    return this.updatedUser(await this.call((headers) => this.client.PATCH('/me', { headers, body: patch })));
  }

  /** Uploads a profile photo (PNG, JPEG or WebP, at most 2 MiB); answers the updated user. */
  async uploadAvatar(data: Blob, contentType: string): Promise<User> {
    const user = await this.call((headers) =>
      this.client.PUT('/me/avatar', {
        headers: { ...headers, 'Content-Type': contentType },
        body: data,
        bodySerializer: (b: Blob) => b,
      }),
    );
    return this.updatedUser(user);
  }

  async removeAvatar(): Promise<User> {
    return this.updatedUser(await this.call((headers) => this.client.DELETE('/me/avatar', { headers })));
  }

  // ---- events ----

  listEvents = (status: EventListStatus, cursor?: string | null, limit = 10): Promise<EventPage> =>
    this.call((headers) => this.client.GET('/events', { headers, params: { query: { status, cursor: cursor ?? undefined, limit } } }));
  getEvent = (id: string): Promise<StageEvent> => this.call((headers) => this.client.GET('/events/{id}', { headers, params: { path: { id } } }));
  /** Schedules an event; the form always gives a title and a start (the server says when one is
   * empty). POST /events takes no nulls: a null field is left out (the server's default). */
  createEvent = (input: EventInput): Promise<StageEvent> => {
    const body: EventCreateInput = { title: input.title ?? '', starts_at: input.starts_at ?? '' };
    if (input.description != null) body.description = input.description;
    if (input.cover_url != null) body.cover_url = input.cover_url;
    if (input.cohost_ids != null) body.cohost_ids = input.cohost_ids;
    return this.call((headers) => this.client.POST('/events', { headers, body }));
  };
  updateEvent = (id: string, input: EventInput): Promise<StageEvent> =>
    this.call((headers) => this.client.PATCH('/events/{id}', { headers, params: { path: { id } }, body: input }));
  transition = (id: string, action: 'go-live' | 'end' | 'cancel'): Promise<StageEvent> => {
    const params = { path: { id } };
    if (action === 'go-live') return this.call((headers) => this.client.POST('/events/{id}/go-live', { headers, params }));
    if (action === 'end') return this.call((headers) => this.client.POST('/events/{id}/end', { headers, params }));
    return this.call((headers) => this.client.POST('/events/{id}/cancel', { headers, params }));
  };

  // ---- media ----

  /** A media token for the event's room on the SFU (one per join: they are short-lived). */
  mediaToken = (id: string): Promise<MediaToken> =>
    this.call((headers) => this.client.POST('/events/{id}/media-token', { headers, params: { path: { id } } }));

  // ---- stage control (hosts and co-hosts) ----

  /** Who is connected to the event's SFU room, with their tracks. */
  stageParticipants = (id: string): Promise<StageParticipantList> =>
    this.call((headers) => this.client.GET('/events/{id}/stage/participants', { headers, params: { path: { id } } }));
  /** Stops forwarding a user's track at once; only they can unmute it. */
  stageMute = (id: string, userId: string, source: TrackSource): Promise<StageMuted> =>
    this.call((headers) => this.client.POST('/events/{id}/stage/mute', { headers, params: { path: { id } }, body: { user_id: userId, source } }));
  /** Disconnects a user from the stage (the SFU tells them `reason`). */
  stageRemove = (id: string, userId: string, reason?: string): Promise<StageRemoved> =>
    this.call((headers) =>
      this.client.POST('/events/{id}/stage/remove', {
        headers,
        params: { path: { id } },
        body: reason ? { user_id: userId, reason } : { user_id: userId },
      }),
    );

  // ---- the stage: hands, invitations, roles, kicks and bans ----

  /** Who is on stage, the hand queue, pending invitations and bans (staff see all of them). */
  stage = (id: string): Promise<StageView> =>
    this.call((headers) => this.client.GET('/events/{id}/stage', { headers, params: { path: { id } } }));
  raiseHand = (id: string): Promise<StageChanged> =>
    this.call((headers) => this.client.POST('/events/{id}/stage/hand', { headers, params: { path: { id } } }));
  lowerHand = (id: string): Promise<StageChanged> =>
    this.call((headers) => this.client.DELETE('/events/{id}/stage/hand', { headers, params: { path: { id } } }));
  /** Staff: lowers someone else's hand. */
  lowerHandOf = (id: string, userId: string): Promise<StageChanged> =>
    this.call((headers) => this.client.DELETE('/events/{id}/stage/hands/{user_id}', { headers, params: { path: { id, user_id: userId } } }));
  /** Staff: invites someone to speak (the invitation expires after 120 s). */
  invite = (id: string, userId: string): Promise<StageChanged> =>
    this.call((headers) => this.client.POST('/events/{id}/stage/invitations', { headers, params: { path: { id } }, body: { user_id: userId } }));
  answerInvitation = (id: string, invitationId: string, answer: 'accept' | 'decline'): Promise<StageChanged> => {
    const params = { path: { id, invitation_id: invitationId } };
    if (answer === 'accept') {
      return this.call((headers) => this.client.POST('/events/{id}/stage/invitations/{invitation_id}/accept', { headers, params }));
    }
    return this.call((headers) => this.client.POST('/events/{id}/stage/invitations/{invitation_id}/decline', { headers, params }));
  };
  /** Staff: withdraws an open invitation to speak (the invitee can no longer accept it). */
  withdrawInvitation = (id: string, invitationId: string): Promise<StageChanged> =>
    this.call((headers) =>
      this.client.DELETE('/events/{id}/stage/invitations/{invitation_id}', { headers, params: { path: { id, invitation_id: invitationId } } }),
    );
  /** Promotes, demotes ("audience") or hands over the host role ("host"). */
  setStageRole = (id: string, userId: string, role: StageRole): Promise<StageChanged> =>
    this.call((headers) =>
      this.client.PUT('/events/{id}/stage/roles/{user_id}', { headers, params: { path: { id, user_id: userId } }, body: { role } }),
    );
  /** Back to the audience by oneself. */
  leaveStage = (id: string): Promise<StageChanged> =>
    this.call((headers) => this.client.POST('/events/{id}/stage/leave', { headers, params: { path: { id } } }));
  /** The green room: brings a backstage co-host or speaker on air (host, co-hosts by rank). */
  bringOnAir = (id: string, userId: string): Promise<StageChanged> =>
    this.call((headers) => this.client.POST('/events/{id}/stage/on-air/{user_id}', { headers, params: { path: { id, user_id: userId } } }));
  /** Sends an on-air co-host or speaker backstage (host, co-hosts by rank; or oneself). */
  sendBackstage = (id: string, userId: string): Promise<StageChanged> =>
    this.call((headers) => this.client.POST('/events/{id}/stage/backstage/{user_id}', { headers, params: { path: { id, user_id: userId } } }));
  kick = (id: string, userId: string, reason?: string): Promise<StageChanged> =>
    this.call((headers) =>
      this.client.POST('/events/{id}/kick', { headers, params: { path: { id } }, body: reason ? { user_id: userId, reason } : { user_id: userId } }),
    );
  banFromEvent = (id: string, userId: string, reason?: string): Promise<StageChanged> =>
    this.call((headers) =>
      this.client.POST('/events/{id}/bans', { headers, params: { path: { id } }, body: reason ? { user_id: userId, reason } : { user_id: userId } }),
    );
  unbanFromEvent = (id: string, userId: string): Promise<StageChanged> =>
    this.call((headers) => this.client.DELETE('/events/{id}/bans/{user_id}', { headers, params: { path: { id, user_id: userId } } }));
  /** Staff: the latest stage changes, newest first. */
  stageLog = (id: string, limit = 50): Promise<StageLog> =>
    this.call((headers) => this.client.GET('/events/{id}/stage/log', { headers, params: { path: { id }, query: { limit } } }));

  // ---- guest invite links (host and co-hosts) ----

  guestLinks = (id: string): Promise<GuestLinkList> =>
    this.call((headers) => this.client.GET('/events/{id}/stage/links', { headers, params: { path: { id } } }));
  createGuestLink = (id: string, input: GuestLinkInput): Promise<GuestLinkCreated> =>
    this.call((headers) => this.client.POST('/events/{id}/stage/links', { headers, params: { path: { id } }, body: input }));
  /** Withdraws a link: its URL stops working at once. */
  withdrawGuestLink = (id: string, linkId: string): Promise<GuestLink> =>
    this.call((headers) => this.client.DELETE('/events/{id}/stage/links/{link_id}', { headers, params: { path: { id, link_id: linkId } } }));
  /** Replaces a link by a new one with the same settings (the old URL stops working at once). */
  regenerateGuestLink = (id: string, linkId: string): Promise<GuestLinkCreated> =>
    this.call((headers) =>
      this.client.POST('/events/{id}/stage/links/{link_id}/regenerate', { headers, params: { path: { id, link_id: linkId } } }),
    );

  // ---- chat companions ----

  presence = (id: string): Promise<Presence> =>
    this.call((headers) => this.client.GET('/events/{id}/presence', { headers, params: { path: { id } } }));
  history = (id: string, before?: string | null, limit = 50): Promise<MessagePage> =>
    this.call((headers) =>
      this.client.GET('/events/{id}/chat/messages', { headers, params: { path: { id }, query: { before: before ?? undefined, limit } } }),
    );
  deleteMessage = (id: string, messageId: string): Promise<ModerationAction> =>
    this.call((headers) =>
      this.client.DELETE('/events/{id}/chat/messages/{message_id}', { headers, params: { path: { id, message_id: messageId } } }),
    );
  timeout = (id: string, userId: string, durationSecs: number): Promise<ModerationAction> =>
    this.call((headers) =>
      this.client.POST('/events/{id}/chat/timeouts', { headers, params: { path: { id } }, body: { user_id: userId, duration_secs: durationSecs } }),
    );
  /** Bans from the event (the chat's bans are the stage's): answers the stage change. */
  ban = (id: string, userId: string): Promise<StageChanged> =>
    this.call((headers) => this.client.POST('/events/{id}/chat/bans', { headers, params: { path: { id } }, body: { user_id: userId } }));
  unban = (id: string, userId: string): Promise<StageChanged> =>
    this.call((headers) => this.client.DELETE('/events/{id}/chat/bans/{user_id}', { headers, params: { path: { id, user_id: userId } } }));
  addModerator = (id: string, userId: string): Promise<StageChanged> =>
    this.call((headers) => this.client.POST('/events/{id}/chat/moderators', { headers, params: { path: { id } }, body: { user_id: userId } }));
  removeModerator = (id: string, userId: string): Promise<StageChanged> =>
    this.call((headers) =>
      this.client.DELETE('/events/{id}/chat/moderators/{user_id}', { headers, params: { path: { id, user_id: userId } } }),
    );
  updateChatSettings = (id: string, settings: ChatSettingsInput): Promise<ChatSettingsChanged> =>
    this.call((headers) => this.client.PUT('/events/{id}/chat/settings', { headers, params: { path: { id } }, body: settings }));
  pin = (id: string, messageId: string): Promise<ModerationAction> =>
    this.call((headers) => this.client.PUT('/events/{id}/chat/pin', { headers, params: { path: { id } }, body: { message_id: messageId } }));
  unpin = (id: string): Promise<ModerationAction> =>
    this.call((headers) => this.client.DELETE('/events/{id}/chat/pin', { headers, params: { path: { id } } }));
  held = (id: string): Promise<HeldMessages> =>
    this.call((headers) => this.client.GET('/events/{id}/chat/held', { headers, params: { path: { id } } }));
  reviewHeld = (id: string, messageId: string, verdict: 'approve' | 'deny'): Promise<ModerationAction> => {
    const params = { path: { id, message_id: messageId } };
    if (verdict === 'approve') return this.call((headers) => this.client.POST('/events/{id}/chat/held/{message_id}/approve', { headers, params }));
    return this.call((headers) => this.client.POST('/events/{id}/chat/held/{message_id}/deny', { headers, params }));
  };
  audit = (id: string, before?: string | null, limit = 20): Promise<AuditPage> =>
    this.call((headers) =>
      this.client.GET('/events/{id}/chat/audit', { headers, params: { path: { id }, query: { before: before ?? undefined, limit } } }),
    );
  /** Moderators: who moderates, who is banned and whose timeout is running. */
  standing = (id: string): Promise<Standing> =>
    this.call((headers) => this.client.GET('/events/{id}/chat/standing', { headers, params: { path: { id } } }));

  // ---- cloud recording (docs/recording.md) ----

  /** Host, co-host: starts recording the live event (state `starting`). */
  startRecording = (eventId: string, input: RecordingStartInput = {}): Promise<Recording> =>
    this.call((headers) => this.client.POST('/events/{id}/recordings', { headers, params: { path: { id: eventId } }, body: input }));
  /** Host, co-host: stops a running recording (state `stopping`, then `ready`). */
  stopRecording = (eventId: string, rid: string): Promise<Recording> =>
    this.call((headers) => this.client.POST('/events/{id}/recordings/{rid}/stop', { headers, params: { path: { id: eventId, rid } } }));
  /** Host, co-host: switches a running recording's layout. */
  setRecordingLayout = (eventId: string, rid: string, layout: RecordingLayout): Promise<Recording> =>
    this.call((headers) =>
      this.client.PUT('/events/{id}/recordings/{rid}/layout', { headers, params: { path: { id: eventId, rid } }, body: { layout } }),
    );
  /** The event's recordings, newest first. */
  eventRecordings = (eventId: string, signal?: AbortSignal): Promise<RecordingList> =>
    this.call((headers) => this.client.GET('/events/{id}/recordings', { headers, params: { path: { id: eventId } }, signal }));
  /** Recordings of the events I host or co-host. */
  myRecordings = (): Promise<RecordingList> => this.call((headers) => this.client.GET('/recordings', { headers, params: { query: { scope: 'mine' } } }));
  /** One recording, with `playback` once it can be played. */
  getRecording = (rid: string): Promise<Recording> => this.call((headers) => this.client.GET('/recordings/{rid}', { headers, params: { path: { rid } } }));
  /** A page of the chat replay, aligned to the recording (`offset_ms` from its first frame). */
  recordingChat = (rid: string, fromOffsetMs = 0, limit = 500): Promise<ReplayPage> =>
    this.call((headers) =>
      this.client.GET('/recordings/{rid}/chat', { headers, params: { path: { rid }, query: { from_offset_ms: fromOffsetMs, limit } } }),
    );
  /** Host: deletes a recording and its files. */
  deleteRecording = (rid: string): Promise<void> =>
    this.call((headers) => this.client.DELETE('/recordings/{rid}', { headers, params: { path: { rid } } })).then(() => undefined);

  // ---- restreaming destinations (docs/api.md "Destinations") ----

  /** My saved destinations (any event can use them). */
  myDestinations = (): Promise<DestinationList> => this.call((headers) => this.client.GET('/destinations', { headers }));
  /** Saves a destination; the stream key is stored encrypted and never sent back. */
  createDestination = (input: DestinationInput): Promise<Destination> =>
    this.call((headers) => this.client.POST('/destinations', { headers, body: input }));
  /** Deletes a saved destination (409 `destination_in_use` while an event uses it). */
  deleteDestination = (did: string): Promise<void> =>
    this.call((headers) => this.client.DELETE('/destinations/{id}', { headers, params: { path: { id: did } } })).then(() => undefined);

  /** Host, co-host: the event's destinations with their push's state. */
  eventDestinations = (eventId: string, signal?: AbortSignal): Promise<EventDestinationList> =>
    this.call((headers) => this.client.GET('/events/{id}/destinations', { headers, params: { path: { id: eventId } }, signal }));
  /** Host, co-host: attaches a saved destination to the event. */
  attachDestination = (eventId: string, did: string, autoStart?: boolean): Promise<EventDestination> =>
    this.call((headers) =>
      this.client.POST('/events/{id}/destinations', {
        headers,
        params: { path: { id: eventId } },
        body: autoStart === undefined ? { destination_id: did } : { destination_id: did, auto_start: autoStart },
      }),
    );
  /** Host, co-host: whether the destination starts by itself when the event goes live. */
  setDestinationAutoStart = (eventId: string, did: string, autoStart: boolean): Promise<EventDestination> =>
    this.call((headers) =>
      this.client.PATCH('/events/{id}/destinations/{did}', {
        headers,
        params: { path: { id: eventId, did } },
        body: { auto_start: autoStart },
      }),
    );
  /** Host, co-host: detaches a destination (stopping its push first); it stays saved. */
  detachDestination = (eventId: string, did: string): Promise<void> =>
    this.call((headers) =>
      this.client.DELETE('/events/{id}/destinations/{did}', { headers, params: { path: { id: eventId, did } } }),
    ).then(() => undefined);
  /** Host, co-host: starts pushing the live event to the destination (state `connecting`). */
  startDestination = (eventId: string, did: string): Promise<EventDestination> =>
    this.call((headers) =>
      this.client.POST('/events/{id}/destinations/{did}/start', { headers, params: { path: { id: eventId, did } } }),
    );
  /** Host, co-host: stops the push (state `stopped`). */
  stopDestination = (eventId: string, did: string): Promise<EventDestination> =>
    this.call((headers) =>
      this.client.POST('/events/{id}/destinations/{did}/stop', { headers, params: { path: { id: eventId, did } } }),
    );

  // ---- API keys (signed-in people only: an API key cannot manage keys) ----

  /** My API keys, newest first, revoked and expired ones too (never their secrets). */
  apiKeys = (): Promise<ApiKeyList> => this.call((headers) => this.client.GET('/api-keys', { headers }));
  /** Makes an API key; the answer holds its secret, which is never shown again. */
  createApiKey = (input: ApiKeyInput): Promise<CreatedApiKey> => this.call((headers) => this.client.POST('/api-keys', { headers, body: input }));
  /** Revokes a key: it stops working at once (revoking a revoked key answers it unchanged). */
  revokeApiKey = (id: string): Promise<ApiKey> =>
    this.call((headers) => this.client.DELETE('/api-keys/{id}', { headers, params: { path: { id } } }));

  // ---- webhooks (docs/webhooks.md) ----

  /** My webhook endpoints, newest first (never their secrets). */
  webhooks = (): Promise<WebhookList> => this.call((headers) => this.client.GET('/webhooks', { headers }));
  /** Adds an endpoint; the answer holds its signing secret, which is never shown again. */
  createWebhook = (input: WebhookInput): Promise<CreatedWebhook> => this.call((headers) => this.client.POST('/webhooks', { headers, body: input }));
  getWebhook = (id: string): Promise<WebhookEndpoint> =>
    this.call((headers) => this.client.GET('/webhooks/{id}', { headers, params: { path: { id } } }));
  /** Changes an endpoint; `enabled: true` switches it back on (and restarts its failure clock). */
  updateWebhook = (id: string, patch: WebhookPatch): Promise<WebhookEndpoint> =>
    this.call((headers) => this.client.PATCH('/webhooks/{id}', { headers, params: { path: { id } }, body: patch }));
  deleteWebhook = (id: string): Promise<void> =>
    this.call((headers) => this.client.DELETE('/webhooks/{id}', { headers, params: { path: { id } } })).then(() => undefined);
  /** A new signing secret (in the answer only); the previous one keeps signing for 24 hours. */
  rotateWebhookSecret = (id: string): Promise<CreatedWebhook> =>
    this.call((headers) => this.client.POST('/webhooks/{id}/rotate-secret', { headers, params: { path: { id } } }));
  /** The endpoint's latest deliveries, newest first, each with its attempts (limit 1 to 200). */
  webhookDeliveries = (id: string, limit = 50, signal?: AbortSignal): Promise<WebhookDeliveryList> =>
    this.call((headers) => this.client.GET('/webhooks/{id}/deliveries', { headers, params: { path: { id }, query: { limit } }, signal }));
  /** Sends a delivery again, now (same webhook-id, so a receiver can tell it is a repeat). */
  redeliver = (id: string, deliveryId: string): Promise<WebhookDelivery> =>
    this.call((headers) =>
      this.client.POST('/webhooks/{id}/deliveries/{did}/redeliver', { headers, params: { path: { id, did: deliveryId } } }),
    );

  /** The live socket's URL (same origin; browsers cannot set headers, so the token rides in the query). */
  async liveUrl(eventId: string, location: Pick<Location, 'protocol' | 'host'> = window.location): Promise<string> {
    const token = await this.freshAccessToken();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${API_BASE}/events/${encodeURIComponent(eventId)}/live?access_token=${encodeURIComponent(token)}`;
  }
}

function bearer(token: string | null): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
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
  unknown_scope: 'Reload the page and choose the scopes from the list.',
  scopes_required: 'Tick at least one scope.',
  api_key_name_required: 'Enter a name for the key, such as "CI deploys".',
  api_key_name_too_long: 'Use at most 64 characters for the name.',
  invalid_api_key_name: 'Use a name on one line, without control characters.',
  invalid_expires_at: 'Pick an expiry in the future, or choose "Never".',
  api_key_limit: 'You have 25 keys in use: revoke one you no longer need, then create the new one.',
  api_key_not_found: 'That key no longer exists. Reload the page to see your keys as they are.',
  session_required: 'Sign in with your email and password to do this: an API key cannot.',
  url_required: 'Enter the https:// address of your endpoint.',
  url_too_long: 'Use a shorter URL.',
  invalid_url: 'Use a full address such as https://example.com/stagecast-hook, without a user name or password.',
  url_not_allowed: "Use your server's public https:// address.",
  unknown_event_type: 'Choose "All events" or families from the list, or check the spelling of the types you typed (such as event.live).',
  too_many_event_types: 'List at most 50 event types, or choose whole families instead.',
  webhook_limit: 'Delete an endpoint you no longer use, then add the new one.',
  webhook_not_found: 'That endpoint was deleted. Reload the page to see your endpoints as they are.',
  delivery_not_found: 'Refresh the deliveries to see them as they are.',
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
