// The client of our SFU (services/media): joins an event's room over HTTP with a media token,
// then signals over the `signal` data channel (services/media/src/signal.rs, http.rs, sfu.rs).
//
// - join: a data channel labelled `signal` and one sendonly transceiver per published track go
//   into the first offer; POST {url}/rtc/v1/join answers it;
// - the server offers us every track in the room (we answer), and tells us in `state` which of
//   our receiving m-lines carries whose track;
// - publishing or unpublishing later is a client offer on the channel. The server is the
//   impolite peer: it ignores our offer while its own is pending. We are polite: a server offer
//   that meets our pending one rolls ours back, is answered, and we offer again afterwards;
// - the connection comes back by itself (new token, backoff) after a failure or a `bye` that
//   says to reconnect.
//
// The decisions are small pure functions below (tested in sfu.test.ts); the class only applies
// them to a real RTCPeerConnection. Framework-free: MediaStage binds it to React.
import { ApiError, errorText, problemOf } from './api';
import { type BackoffOptions, backoffDelay } from './backoff';
import type { MediaGrants, MediaToken, TrackSource } from './types';

export type { TrackSource } from './types';

export const VIDEO_SOURCES: readonly TrackSource[] = ['camera', 'screen'];

export function isVideoSource(s: TrackSource): boolean {
  return s === 'camera' || s === 'screen';
}

const SOURCES = new Set<string>(['camera', 'microphone', 'screen', 'screen_audio']);

// ---- signalling messages ----------------------------------------------------------------------

export interface StageParticipant {
  participant_id: string;
  user_id: string;
  name: string;
  avatar: string;
}

export interface StageTrack {
  /** The m-line of OUR connection that carries the track. */
  mid: string;
  participant_id: string;
  source: TrackSource;
  muted: boolean;
}

export interface StageState {
  participants: StageParticipant[];
  tracks: StageTrack[];
}

export type ServerMessage =
  | { type: 'offer'; sdp: string }
  | { type: 'answer'; sdp: string }
  | ({ type: 'state' } & StageState)
  | { type: 'muted'; source: TrackSource; by_server: boolean }
  | { type: 'grants'; grants: MediaGrants }
  | { type: 'active_speaker'; participant_id: string | null }
  | { type: 'error'; code: string; message: string }
  | { type: 'bye'; reason: string; reconnect: boolean };

export type ClientMessage =
  | { type: 'offer'; sdp: string; sources: Record<string, TrackSource> }
  | { type: 'answer'; sdp: string }
  | { type: 'mute'; source: TrackSource; muted: boolean };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** A server message from a data channel frame; null for anything malformed or unknown. */
export function parseServerMessage(data: unknown): ServerMessage | null {
  if (!isStr(data)) return null;
  let m: unknown;
  try {
    m = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObj(m) || !isStr(m.type)) return null;
  switch (m.type) {
    case 'offer':
    case 'answer':
      return isStr(m.sdp) ? { type: m.type, sdp: m.sdp } : null;
    case 'state': {
      if (!Array.isArray(m.participants) || !Array.isArray(m.tracks)) return null;
      const participants = m.participants.filter(
        (p): p is StageParticipant => isObj(p) && isStr(p.participant_id) && isStr(p.user_id) && isStr(p.name),
      ).map((p) => ({ participant_id: p.participant_id, user_id: p.user_id, name: p.name, avatar: isStr(p.avatar) ? p.avatar : '' }));
      const tracks = m.tracks
        .filter((t): t is StageTrack => isObj(t) && isStr(t.mid) && isStr(t.participant_id) && isStr(t.source) && SOURCES.has(t.source))
        .map((t) => ({ mid: t.mid, participant_id: t.participant_id, source: t.source, muted: t.muted === true }));
      return { type: 'state', participants, tracks };
    }
    case 'muted':
      return isStr(m.source) && SOURCES.has(m.source) ? { type: 'muted', source: m.source as TrackSource, by_server: m.by_server === true } : null;
    case 'grants': {
      const g = m.grants;
      if (!isObj(g) || !Array.isArray(g.publish)) return null;
      return {
        type: 'grants',
        grants: {
          subscribe: g.subscribe === true,
          hidden: g.hidden === true,
          publish: g.publish.filter((s): s is TrackSource => isStr(s) && SOURCES.has(s)),
          // Absent means false (the grants of a room without a green room stay as they were).
          ...(g.backstage === true ? { backstage: true } : {}),
          ...(g.see_backstage === true ? { see_backstage: true } : {}),
        },
      };
    }
    case 'active_speaker':
      return { type: 'active_speaker', participant_id: isStr(m.participant_id) ? m.participant_id : null };
    case 'error':
      return { type: 'error', code: isStr(m.code) ? m.code : 'error', message: isStr(m.message) ? m.message : '' };
    case 'bye':
      return { type: 'bye', reason: isStr(m.reason) ? m.reason : '', reconnect: m.reconnect === true };
    default:
      return null;
  }
}

// ---- pure decisions ---------------------------------------------------------------------------

/** The part of an RTCRtpTransceiver the mapping needs (so tests can pass plain objects). */
export interface TransceiverView<T> {
  mid: string | null;
  direction: string;
  currentDirection?: string | null;
  receiver: { track: T };
}

/** A track someone else publishes, as this connection receives it. */
export interface RemoteTrack<T = MediaStreamTrack> {
  mid: string;
  participantId: string;
  userId: string;
  name: string;
  /** An image URL, or null for initials. */
  avatar: string | null;
  source: TrackSource;
  kind: 'audio' | 'video';
  muted: boolean;
  track: T;
}

/**
 * Labels the tracks we receive: each `state.tracks` entry names the mid of one of our
 * transceivers; its receiver's track is the media. Entries whose transceiver is missing or
 * stopped (a renegotiation is still on its way) or whose publisher is unknown are left out.
 */
export function labelRemoteTracks<T extends { kind: string }>(state: StageState | null, transceivers: readonly TransceiverView<T>[]): RemoteTrack<T>[] {
  if (!state) return [];
  const people = new Map(state.participants.map((p) => [p.participant_id, p]));
  const out: RemoteTrack<T>[] = [];
  for (const t of state.tracks) {
    const tr = transceivers.find((x) => x.mid === t.mid);
    if (!tr || tr.direction === 'stopped' || tr.currentDirection === 'stopped') continue;
    const who = people.get(t.participant_id);
    if (!who) continue;
    const kind = tr.receiver.track.kind === 'audio' ? 'audio' : 'video';
    if ((kind === 'video') !== isVideoSource(t.source)) continue;
    out.push({
      mid: t.mid,
      participantId: t.participant_id,
      userId: who.user_id,
      name: who.name,
      avatar: who.avatar ? who.avatar : null,
      source: t.source,
      kind,
      muted: t.muted,
      track: tr.receiver.track,
    });
  }
  // Stable order: by participant (join order as the server lists them), camera before screen.
  const order = new Map(state.participants.map((p, i) => [p.participant_id, i]));
  const rank: Record<TrackSource, number> = { camera: 0, screen: 1, microphone: 2, screen_audio: 3 };
  return out.sort((a, b) => (order.get(a.participantId)! - order.get(b.participantId)!) || rank[a.source] - rank[b.source]);
}

/** The `sources` of an offer: the mid of every transceiver we send on, and what it carries. */
export function sourcesByMid(sending: Iterable<[TrackSource, { mid: string | null }]>): Record<string, TrackSource> {
  const out: Record<string, TrackSource> = {};
  for (const [source, tr] of sending) if (tr.mid !== null) out[tr.mid] = source;
  return out;
}

/** Which sources to stop, start and swap so that what is sent matches what is wanted. A source
 * whose track changed (another camera or microphone picked) is `replace`d on the transceiver it
 * already has: no renegotiation, and viewers keep the same track. Sources the grants do not
 * allow are `refused` and never started. */
export function diffPublished(
  current: Partial<Record<TrackSource, { id: string }>>,
  desired: Partial<Record<TrackSource, { id: string }>>,
  allowed: readonly TrackSource[],
): { stop: TrackSource[]; start: TrackSource[]; replace: TrackSource[]; refused: TrackSource[] } {
  const stop: TrackSource[] = [];
  const start: TrackSource[] = [];
  const replace: TrackSource[] = [];
  const refused: TrackSource[] = [];
  const all = new Set([...Object.keys(current), ...Object.keys(desired)] as TrackSource[]);
  for (const s of all) {
    const cur = current[s];
    const want = desired[s];
    const ok = !!want && allowed.includes(s);
    if (want && !ok) refused.push(s);
    if (cur && !ok) stop.push(s);
    else if (ok && !cur) start.push(s);
    else if (ok && cur && cur.id !== want!.id) replace.push(s);
  }
  return { stop, start, replace, refused };
}

/** What to do with an offer from the server. We are the polite peer: never ignore it; if our own
 * offer is pending, roll it back and offer again once the server's is answered. */
export function planRemoteOffer(signalingState: string): { rollback: boolean; reofferAfter: boolean } {
  const collision = signalingState === 'have-local-offer';
  return { rollback: collision, reofferAfter: collision };
}

/** An answer is only ours to apply while our offer is pending (a late one after a rollback is stale). */
export function acceptsAnswer(signalingState: string): boolean {
  return signalingState === 'have-local-offer';
}

/** The mute messages that restate what we send after the server ignored some of ours (it was
 * rate limiting us). A source the host muted is left alone: only unmuting lifts a server mute,
 * and that must stay the person's own click. */
export function restateMutes(
  sending: Iterable<TrackSource>,
  mutedBySelf: ReadonlySet<TrackSource>,
  mutedByServer: ReadonlySet<TrackSource>,
): ClientMessage[] {
  const out: ClientMessage[] = [];
  for (const source of sending) {
    if (mutedByServer.has(source)) continue;
    out.push({ type: 'mute', source, muted: mutedBySelf.has(source) });
  }
  return out;
}

/** How long to wait before restating after `rate_limited`: the server's allowance refills at 5
 * messages a second, so by then there is room for a few. */
export const RESTATE_AFTER_MS = 1500;

/** Whether a client offer can go out now. */
export function canOffer(s: { needed: boolean; channelOpen: boolean; signalingState: string }): boolean {
  return s.needed && s.channelOpen && s.signalingState === 'stable';
}

export type FailureVerdict = { retry: true } | { retry: false; message: string };

/** After a failed token request or join: try again (with a new token) or stop and say why. */
export function classifyFailure(e: unknown): FailureVerdict {
  if (!(e instanceof ApiError)) return { retry: true };
  const { status, code } = e;
  if (status === 0 || status === 401 || status === 408 || status === 429 || status >= 500) return { retry: true };
  switch (code) {
    case 'event_over':
      return { retry: false, message: 'This event is over, so there is no live video any more.' };
    case 'unsupported_codec':
    case 'bad_sdp':
      return { retry: false, message: `This browser cannot join the live video (${e.detail}). Try a current Chrome, Edge, Firefox or Safari.` };
    case 'track_not_allowed':
      return { retry: false, message: `${e.detail} Reload the page to try again.` };
    default:
      return { retry: false, message: `${e.detail} Reload the page to try again.` };
  }
}

/** After a failed media-token request (the gateway's errors, not the SFU's): a 401 there means
 * the session is over, not that the media token expired. */
export function classifyTokenFailure(e: unknown): FailureVerdict {
  if (!(e instanceof ApiError)) return { retry: true };
  if (e.status === 0 || e.status === 429 || e.status >= 500) return { retry: true };
  if (e.code === 'event_over') return classifyFailure(e);
  return { retry: false, message: errorText(e) };
}

/** Text for a `bye` that does not ask us to come back. */
export function byeText(reason: string): string {
  const r = reason.trim();
  return r ? `You left the live video: ${r.replace(/\.$/, '')}.` : 'You left the live video.';
}

// ---- the client -------------------------------------------------------------------------------

export type SfuStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

export interface SfuSnapshot {
  status: SfuStatus;
  /** Why the connection stopped for good (status `failed`), or the last error while retrying. */
  error: string | null;
  /** Set while a reconnect is scheduled. */
  retryAt: number | null;
  attempt: number;
  participantId: string | null;
  participants: StageParticipant[];
  remote: RemoteTrack[];
  activeSpeaker: string | null;
  grants: MediaGrants | null;
  /** Sources actually sent right now. */
  publishing: TrackSource[];
  /** Our sources a host muted (only we can unmute them). */
  mutedByServer: TrackSource[];
  /** Our sources we muted ourselves. */
  mutedBySelf: TrackSource[];
  /** A refused publish or signalling error, for the publisher to read. */
  notice: string | null;
}

export interface SfuClientOptions {
  /** A fresh media token (called before every join). */
  token: () => Promise<MediaToken>;
  fetch?: typeof fetch;
  backoff?: BackoffOptions;
  /** How long to wait for ICE gathering before sending the join offer anyway. */
  gatherMs?: number;
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  now?: () => number;
}

const EMPTY: SfuSnapshot = {
  status: 'idle',
  error: null,
  retryAt: null,
  attempt: 0,
  participantId: null,
  participants: [],
  remote: [],
  activeSpeaker: null,
  grants: null,
  publishing: [],
  mutedByServer: [],
  mutedBySelf: [],
  notice: null,
};

const SOURCE_NAME: Record<TrackSource, string> = { camera: 'camera', microphone: 'microphone', screen: 'screen share', screen_audio: 'screen audio' };

/** Waits for ICE gathering to complete, at most `ms`. */
function gathered(pc: RTCPeerConnection, ms: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, ms);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

export class SfuClient {
  private readonly opts: SfuClientOptions;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private snap: SfuSnapshot = EMPTY;
  private listeners = new Set<(s: SfuSnapshot) => void>();

  /** What the app wants sent (kept across reconnects). */
  private desired: Partial<Record<TrackSource, MediaStreamTrack>> = {};
  /** What this connection sends, one transceiver per source. */
  private senders = new Map<TrackSource, { tr: RTCRtpTransceiver; track: MediaStreamTrack }>();
  private refused = new Set<TrackSource>();
  private mutedByServer = new Set<TrackSource>();
  private mutedBySelf = new Set<TrackSource>();

  private pc: RTCPeerConnection | null = null;
  private dc: RTCDataChannel | null = null;
  private token: MediaToken | null = null;
  private state: StageState | null = null;
  /** Bumped on every (re)connect and on close: callbacks of an older connection do nothing. */
  private gen = 0;
  private chain: Promise<void> = Promise.resolve();
  private needsOffer = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private disconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private restateTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = true;

  constructor(opts: SfuClientOptions) {
    this.opts = opts;
    this.fetchImpl = opts.fetch ?? ((...a) => globalThis.fetch(...a));
    this.now = opts.now ?? Date.now;
  }

  get snapshot(): SfuSnapshot {
    return this.snap;
  }

  subscribe(fn: (s: SfuSnapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(patch: Partial<SfuSnapshot>) {
    this.snap = { ...this.snap, ...patch };
    for (const fn of this.listeners) fn(this.snap);
  }

  private publishedPatch(): Partial<SfuSnapshot> {
    return { publishing: [...this.senders.keys()], mutedByServer: [...this.mutedByServer], mutedBySelf: [...this.mutedBySelf] };
  }

  /** Runs negotiation steps one at a time, in order; a step of an older connection is skipped. */
  private enqueue(fn: () => Promise<void>) {
    const gen = this.gen;
    this.chain = this.chain
      .then(() => (gen === this.gen ? fn() : undefined))
      .catch((e: unknown) => {
        if (gen !== this.gen) return;
        this.lost(e);
      });
  }

  join(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.set({ ...EMPTY, status: 'connecting' });
    this.connect();
  }

  /** Leaves the room for good. */
  close(): void {
    this.stopped = true;
    this.teardown();
    this.set({ ...EMPTY, status: 'closed', ...this.publishedPatch(), publishing: [] });
  }

  /** Skips the rest of a reconnect wait. */
  retryNow(): void {
    if (this.stopped || this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  /** Sends `track` as `source` (replacing what was sent as it), or stops sending it (null). */
  publish(source: TrackSource, track: MediaStreamTrack | null): void {
    const next = { ...this.desired };
    if (track) next[source] = track;
    else delete next[source];
    this.setPublished(next);
  }

  unpublish(source: TrackSource): void {
    this.publish(source, null);
  }

  /** Makes what is sent match `desired` (every source at once; missing ones stop). */
  setPublished(desired: Partial<Record<TrackSource, MediaStreamTrack>>): void {
    for (const s of Object.keys(this.desired) as TrackSource[]) if (this.desired[s] !== desired[s]) this.refused.delete(s);
    this.desired = { ...desired };
    this.enqueue(() => this.applyDesired());
  }

  /** Mutes or unmutes one of our sources (unmuting also lifts a host's mute). */
  setMuted(source: TrackSource, muted: boolean): void {
    if (muted) this.mutedBySelf.add(source);
    else {
      this.mutedBySelf.delete(source);
      this.mutedByServer.delete(source);
    }
    const s = this.senders.get(source);
    if (s) void s.tr.sender.replaceTrack(muted ? null : s.track).catch(() => undefined);
    this.send({ type: 'mute', source, muted });
    this.set(this.publishedPatch());
  }

  private send(msg: ClientMessage): boolean {
    if (this.dc?.readyState !== 'open') return false;
    this.dc.send(JSON.stringify(msg));
    return true;
  }

  private teardown() {
    this.gen += 1;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.disconnectTimer !== null) clearTimeout(this.disconnectTimer);
    if (this.restateTimer !== null) clearTimeout(this.restateTimer);
    this.restateTimer = null;
    this.timer = null;
    this.disconnectTimer = null;
    const { pc, dc } = this;
    this.pc = null;
    this.dc = null;
    this.senders.clear();
    this.state = null;
    this.needsOffer = false;
    this.chain = Promise.resolve();
    if (dc) {
      dc.onmessage = null;
      dc.onclose = null;
      dc.onopen = null;
      try {
        dc.close();
      } catch {
        /* already closed */
      }
    }
    if (pc) {
      pc.onconnectionstatechange = null;
      pc.close();
    }
  }

  private connect() {
    this.teardown();
    const gen = this.gen;
    this.enqueue(async () => {
      await this.doJoin(gen);
    });
  }

  private async doJoin(gen: number) {
    let token: MediaToken;
    try {
      token = await this.opts.token();
    } catch (e) {
      if (gen === this.gen) this.failed(e, classifyTokenFailure(e));
      return;
    }
    if (gen !== this.gen) return;
    this.token = token;
    const create = this.opts.createPeerConnection ?? ((c: RTCConfiguration) => new RTCPeerConnection(c));
    const pc = create({ bundlePolicy: 'max-bundle', iceServers: [] });
    this.pc = pc;
    const dc = pc.createDataChannel('signal');
    this.dc = dc;
    // The first offer carries what is wanted now and allowed.
    const { start, refused } = diffPublished({}, this.desired, token.grants.publish);
    for (const s of start) this.addSender(s, this.desired[s]!);
    this.noteRefused(refused);
    dc.onopen = () => {
      if (gen !== this.gen) return;
      this.attempt = 0;
      this.set({ status: 'connected', error: null, retryAt: null, attempt: 0 });
      // Unmute state does not survive a reconnect on the server: say it again.
      for (const s of this.mutedBySelf) this.send({ type: 'mute', source: s, muted: true });
      this.enqueue(() => this.maybeOffer());
    };
    dc.onmessage = (ev) => {
      if (gen !== this.gen) return;
      const msg = parseServerMessage(ev.data);
      if (msg) this.enqueue(() => this.onMessage(msg));
    };
    dc.onclose = () => {
      if (gen === this.gen) this.lost(new Error('the signalling channel closed'));
    };
    pc.onconnectionstatechange = () => {
      if (gen !== this.gen) return;
      const s = pc.connectionState;
      if (s === 'failed') this.lost(new Error('the media connection failed'));
      else if (s === 'disconnected') {
        // Often comes back by itself; give it a moment.
        if (this.disconnectTimer === null) {
          this.disconnectTimer = setTimeout(() => {
            this.disconnectTimer = null;
            if (gen === this.gen && pc.connectionState !== 'connected') this.lost(new Error('the media connection dropped'));
          }, 5000);
        }
      } else if (s === 'connected' && this.disconnectTimer !== null) {
        clearTimeout(this.disconnectTimer);
        this.disconnectTimer = null;
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, this.opts.gatherMs ?? 2000);
    if (gen !== this.gen) return;
    const sources = sourcesByMid([...this.senders].map(([s, v]) => [s, v.tr]));
    let res: Response;
    try {
      res = await this.fetchImpl(`${token.url.replace(/\/+$/, '')}/rtc/v1/join`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token.token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ sdp: pc.localDescription?.sdp ?? '', sources }),
      });
    } catch {
      if (gen === this.gen) this.failed(new ApiError({ status: 0, code: 'network', detail: 'Could not reach the media server.' }));
      return;
    }
    if (gen !== this.gen) return;
    if (!res.ok) {
      this.failed(await problemOf(res));
      return;
    }
    const body = (await res.json()) as { participant_id: string; sdp: string };
    if (gen !== this.gen) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
    this.set({ participantId: body.participant_id, grants: token.grants, ...this.publishedPatch() });
  }

  private addSender(source: TrackSource, track: MediaStreamTrack) {
    const pc = this.pc!;
    const tr = pc.addTransceiver(track, { direction: 'sendonly' });
    if (this.mutedBySelf.has(source) || this.mutedByServer.has(source)) void tr.sender.replaceTrack(null).catch(() => undefined);
    this.senders.set(source, { tr, track });
  }

  private stopSender(source: TrackSource) {
    const s = this.senders.get(source);
    if (!s) return;
    this.senders.delete(source);
    void s.tr.sender.replaceTrack(null).catch(() => undefined);
    if (s.tr.currentDirection === null || s.tr.mid === null) {
      // Never negotiated: it can go without telling anyone.
      s.tr.stop();
    } else {
      s.tr.direction = 'inactive';
    }
  }

  private noteRefused(sources: TrackSource[]) {
    const fresh = sources.filter((s) => !this.refused.has(s));
    for (const s of sources) this.refused.add(s);
    if (fresh.length > 0) {
      this.set({ notice: `You cannot broadcast your ${fresh.map((s) => SOURCE_NAME[s]).join(' or ')} here: only the host and co-hosts (and people a host brings on stage) can.` });
    }
  }

  private async applyDesired() {
    if (!this.pc || !this.token) return;
    const allowed = this.snap.grants?.publish ?? this.token.grants.publish;
    const current = Object.fromEntries([...this.senders].map(([s, v]) => [s, v.track])) as Partial<Record<TrackSource, MediaStreamTrack>>;
    const wanted = Object.fromEntries((Object.keys(this.desired) as TrackSource[]).filter((s) => !this.refused.has(s) || !allowed.includes(s)).map((s) => [s, this.desired[s]!]));
    const { stop, start, replace, refused } = diffPublished(current, wanted, allowed);
    for (const s of replace) {
      const sender = this.senders.get(s)!;
      const track = this.desired[s]!;
      this.senders.set(s, { ...sender, track });
      // A muted source keeps sending nothing; the new track goes out once it is unmuted.
      const muted = this.mutedBySelf.has(s) || this.mutedByServer.has(s);
      const swapped = await sender.tr.sender.replaceTrack(muted ? null : track).then(
        () => true,
        () => false,
      );
      if (!swapped) {
        // The browser would not swap it in place: send it on a new transceiver instead.
        stop.push(s);
        start.push(s);
      }
    }
    if (stop.length === 0 && start.length === 0) {
      this.noteRefused(refused);
      return;
    }
    for (const s of stop) this.stopSender(s);
    for (const s of start) this.addSender(s, this.desired[s]!);
    this.noteRefused(refused);
    this.needsOffer = true;
    this.set(this.publishedPatch());
    await this.maybeOffer();
  }

  private restateLater() {
    if (this.restateTimer !== null) return;
    const gen = this.gen;
    this.restateTimer = setTimeout(() => {
      this.restateTimer = null;
      if (gen !== this.gen) return;
      for (const m of restateMutes(this.senders.keys(), this.mutedBySelf, this.mutedByServer)) this.send(m);
      this.enqueue(() => this.maybeOffer());
    }, RESTATE_AFTER_MS);
  }

  private async maybeOffer() {
    const pc = this.pc;
    if (!pc || !canOffer({ needed: this.needsOffer, channelOpen: this.dc?.readyState === 'open', signalingState: pc.signalingState })) return;
    this.needsOffer = false;
    await pc.setLocalDescription(await pc.createOffer());
    const sources = sourcesByMid([...this.senders].map(([s, v]) => [s, v.tr]));
    this.send({ type: 'offer', sdp: pc.localDescription?.sdp ?? '', sources });
  }

  private refreshRemote() {
    const pc = this.pc;
    const remote = pc ? labelRemoteTracks(this.state, pc.getTransceivers()) : [];
    this.set({ remote, participants: this.state?.participants ?? [] });
  }

  private async onMessage(msg: ServerMessage) {
    const pc = this.pc;
    if (!pc) return;
    switch (msg.type) {
      case 'offer': {
        const plan = planRemoteOffer(pc.signalingState);
        if (plan.rollback) await pc.setLocalDescription({ type: 'rollback' });
        if (plan.reofferAfter) this.needsOffer = true;
        await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
        await pc.setLocalDescription(await pc.createAnswer());
        this.send({ type: 'answer', sdp: pc.localDescription?.sdp ?? '' });
        this.refreshRemote();
        await this.maybeOffer();
        return;
      }
      case 'answer':
        if (!acceptsAnswer(pc.signalingState)) return;
        await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
        this.refreshRemote();
        await this.maybeOffer();
        return;
      case 'state':
        this.state = { participants: msg.participants, tracks: msg.tracks };
        this.refreshRemote();
        return;
      case 'muted':
        if (msg.by_server) {
          this.mutedByServer.add(msg.source);
          const s = this.senders.get(msg.source);
          if (s) await s.tr.sender.replaceTrack(null).catch(() => undefined);
        } else this.mutedBySelf.add(msg.source);
        this.set(this.publishedPatch());
        return;
      case 'grants': {
        this.set({ grants: msg.grants });
        // The server already stopped forwarding what is no longer allowed; stop sending it and
        // start what is newly allowed.
        for (const s of [...this.refused]) if (msg.grants.publish.includes(s)) this.refused.delete(s);
        await this.applyDesired();
        return;
      }
      case 'active_speaker':
        this.set({ activeSpeaker: msg.participant_id });
        return;
      case 'error': {
        if (msg.code === 'rate_limited') {
          // The server ignored what we sent since (an offer, mutes), without refusing it: take
          // back a pending offer and, once it listens again, restate our mutes and offer anew.
          if (acceptsAnswer(pc.signalingState)) await pc.setLocalDescription({ type: 'rollback' });
          this.needsOffer = true;
          this.restateLater();
          return;
        }
        if (acceptsAnswer(pc.signalingState)) {
          // Our offer was refused: undo it, drop the transceivers it would have added, and offer
          // again for whatever else changed.
          await pc.setLocalDescription({ type: 'rollback' });
          for (const [s, v] of [...this.senders]) {
            if (v.tr.currentDirection === null) {
              this.stopSender(s);
              this.refused.add(s);
            }
          }
          this.needsOffer = true;
          this.set(this.publishedPatch());
        }
        this.set({ notice: msg.message || `The media server refused a request (${msg.code}).` });
        await this.maybeOffer();
        return;
      }
      case 'bye':
        if (msg.reconnect) this.lost(new Error(msg.reason));
        else {
          this.stopped = true;
          this.teardown();
          this.set({ ...EMPTY, status: 'failed', error: byeText(msg.reason) });
        }
        return;
    }
  }

  /** The connection broke after it worked (or while joining): join again after a while. */
  private lost(e: unknown) {
    if (this.stopped) return;
    this.teardown();
    this.scheduleReconnect(e instanceof ApiError ? e.detail : null);
  }

  /** Getting a token or joining failed. */
  private failed(e: unknown, verdict: FailureVerdict = classifyFailure(e)) {
    if (this.stopped) return;
    if (!verdict.retry) {
      this.stopped = true;
      this.teardown();
      this.set({ ...EMPTY, status: 'failed', error: verdict.message });
      return;
    }
    this.teardown();
    this.scheduleReconnect(e instanceof ApiError ? e.detail : null);
  }

  private scheduleReconnect(error: string | null) {
    this.attempt += 1;
    const delay = backoffDelay(this.attempt, { jitter: 0.2, ...this.opts.backoff });
    this.set({ ...EMPTY, status: 'reconnecting', error, attempt: this.attempt, retryAt: this.now() + delay, ...this.publishedPatch(), publishing: [] });
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }
}
