// Restreaming (docs/api.md "Destinations"), the pure part: the platforms and their ingest
// servers, the add form's checks and its request body, states and errors in words with what to do,
// bitrate and uptime, and the reducer that merges polled lists, REST answers and `destination`
// frames of the live socket (the newest copy of each destination wins whatever arrives last).
import { ApiError, errorText } from './api';
import { formatElapsed } from './recordings';
import type { Destination, DestinationFrame, DestinationInput, DestinationPlatform, DestinationState, EventDestination } from './types';

export interface PlatformInfo {
  value: DestinationPlatform;
  label: string;
  /** The ingest server the API uses when none is given ("" for custom: the user must give one). */
  server: string;
  /** Whether the user may change the server (Twitch has several ingest servers; custom is theirs). */
  serverEditable: boolean;
  /** Where the platform shows the stream key. */
  keyWhere: string;
}

export const PLATFORMS: readonly PlatformInfo[] = [
  { value: 'youtube', label: 'YouTube', server: 'rtmps://a.rtmps.youtube.com:443/live2', serverEditable: false, keyWhere: 'YouTube Studio → Create → Go live → Stream key' },
  { value: 'twitch', label: 'Twitch', server: 'rtmp://live.twitch.tv/app', serverEditable: true, keyWhere: 'Twitch Creator Dashboard → Settings → Stream → Primary stream key' },
  { value: 'facebook', label: 'Facebook', server: 'rtmps://live-api-s.facebook.com:443/rtmp', serverEditable: false, keyWhere: 'Facebook Live Producer → Streaming software → Stream key' },
  { value: 'custom', label: 'Custom RTMP', server: '', serverEditable: true, keyWhere: 'the service you stream to' },
];

export const DEFAULT_PLATFORM: DestinationPlatform = 'youtube';
export const NAME_MAX = 80;

export function isPlatform(v: string): v is DestinationPlatform {
  return PLATFORMS.some((p) => p.value === v);
}

export function platformInfo(platform: string): PlatformInfo | undefined {
  return PLATFORMS.find((p) => p.value === platform);
}

/** "YouTube", "Custom RTMP"; an unknown platform as it is. */
export function platformLabel(platform: string): string {
  return platformInfo(platform)?.label ?? platform;
}

/** The server a platform's form starts with ("" for custom). */
export function defaultServer(platform: string): string {
  return platformInfo(platform)?.server ?? '';
}

export function serverEditable(platform: string): boolean {
  return platformInfo(platform)?.serverEditable ?? true;
}

// ---- the add form ----------------------------------------------------------------------------

export type DestinationField = 'platform' | 'name' | 'server' | 'key';

export interface DestinationForm {
  platform: DestinationPlatform;
  name: string;
  server: string;
  key: string;
}

export function emptyForm(platform: DestinationPlatform = DEFAULT_PLATFORM): DestinationForm {
  return { platform, name: '', server: defaultServer(platform), key: '' };
}

/** The server refuses longer URLs and keys. */
export const URL_MAX = 512;
export const KEY_MAX = 512;

/**
 * What is wrong with an RTMP(S) server URL, in words with what to do, or null when it looks right:
 * rtmp:// or rtmps://, a host (and port), and an application path — without the stream key
 * (`key`, when given, must not be in it). The server checks it again; this only says it sooner,
 * and is never stricter than the server.
 */
export function checkServerUrl(url: string, key = ''): string | null {
  const t = url.trim();
  if (!t) return 'Enter the server URL: it starts with rtmp:// or rtmps://.';
  if (/[\s\p{Cc}]/u.test(t)) return 'Remove the spaces from the server URL.';
  if (t.length > URL_MAX) return `Use a server URL of at most ${URL_MAX} characters.`;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(t);
  if (!scheme || !['rtmp', 'rtmps'].includes(scheme[1].toLowerCase())) {
    return 'Use the RTMP address the platform gives: it starts with rtmp:// or rtmps://, not http(s)://.';
  }
  // The server ignores trailing slashes.
  const rest = t.slice(scheme[0].length).replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  const host = slash < 0 ? rest : rest.slice(0, slash);
  const colon = host.lastIndexOf(':');
  const hasPort = colon >= 0 && !host.slice(colon).includes(']');
  const hostname = hasPort ? host.slice(0, colon) : host;
  if (!hostname) return `Add the server's host name after ${scheme[1].toLowerCase()}://.`;
  if (host.includes('@')) return 'Check the host name in the server URL: no user name or password before it.';
  if (hasPort) {
    const port = host.slice(colon + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return 'Check the port in the server URL (a number up to 65535).';
  }
  const app = slash < 0 ? '' : rest.slice(slash + 1);
  if (!app) return 'Add the application path after the host, e.g. rtmp://live.example.com/live.';
  if (app.includes('//')) return 'Remove the double slash (//) from the application path.';
  if (/[{}]/.test(app)) return 'Remove the {stream_key} placeholder from the URL: the key goes under Stream key.';
  const k = key.trim();
  if (k.length >= 4 && t.includes(k)) return 'Leave the stream key out of the server URL: paste it under Stream key.';
  return null;
}

export function checkStreamKey(key: string): string | null {
  const t = key.trim();
  if (!t) return 'Paste the stream key from the platform.';
  if (/^rtmps?:\/\//i.test(t)) return 'That is a server URL: paste the stream key here, and the URL under Server URL.';
  if (/[\s\p{Cc}/]/u.test(t)) return 'A stream key has no spaces or slashes: copy it again from the platform.';
  if (new TextEncoder().encode(t).length > KEY_MAX) return `A stream key has at most ${KEY_MAX} characters: copy it again from the platform.`;
  return null;
}

export function checkName(name: string): string | null {
  if (Array.from(name.trim()).length > NAME_MAX) return `Use at most ${NAME_MAX} characters for the name.`;
  return null;
}

/** What to fix in the form before sending it, by field (empty when nothing). */
export function formErrors(form: DestinationForm): Partial<Record<DestinationField, string>> {
  const errors: Partial<Record<DestinationField, string>> = {};
  if (!isPlatform(form.platform)) errors.platform = 'Choose YouTube, Twitch, Facebook or Custom RTMP.';
  const name = checkName(form.name);
  if (name) errors.name = name;
  // YouTube and Facebook use the server the API knows; Twitch may name another ingest server.
  if (serverEditable(form.platform) && (form.platform === 'custom' || form.server.trim())) {
    const server = checkServerUrl(form.server, form.key);
    if (server) errors.server = server;
  }
  const key = checkStreamKey(form.key);
  if (key) errors.key = key;
  return errors;
}

/** The body of POST /destinations for the form: the name when one is given, the server URL for
 * custom (and for Twitch when it is not the default ingest server). */
export function destinationInput(form: DestinationForm): DestinationInput {
  const name = form.name.trim();
  const fields = { stream_key: form.key.trim(), ...(name ? { name } : {}) };
  // The server takes the scheme in lower case only ("RTMP://" is refused).
  const server = form.server.trim().replace(/^rtmps?:\/\//i, (m) => m.toLowerCase());
  // Custom needs its server URL (the document's CreateDestination says so, hence two branches).
  if (form.platform === 'custom') return { platform: 'custom', ...fields, server_url: server };
  if (form.platform === 'twitch' && server && server !== defaultServer('twitch')) return { platform: 'twitch', ...fields, server_url: server };
  return { platform: form.platform, ...fields };
}

/** The form field a 422 code of POST /destinations is about (null: about the whole form). */
export function fieldOfCode(code: string | undefined): DestinationField | null {
  switch (code) {
    case 'invalid_platform':
      return 'platform';
    case 'invalid_name':
      return 'name';
    case 'invalid_server_url':
      return 'server';
    case 'invalid_stream_key':
      return 'key';
    default:
      return null;
  }
}

/** Saved destinations not attached to the event yet (to attach with one click). */
export function unattached(saved: readonly Destination[], attached: readonly EventDestination[]): Destination[] {
  const ids = new Set(attached.map((d) => d.destination.id));
  return saved.filter((d) => !ids.has(d.id));
}

/** Text for an error of the panel's actions: `errorText`, except where a code means something
 * else here (`event_not_live` is about recording elsewhere). */
export function destinationErrorText(e: unknown): string {
  if (e instanceof ApiError && e.code === 'event_not_live') {
    return 'The event is not live yet. Go live first; destinations set to start when you go live start by themselves.';
  }
  return errorText(e);
}

// ---- states in words -------------------------------------------------------------------------

/** Connecting, live or retrying: a push is running (it can be stopped). */
export function isPushing(state: string | null | undefined): boolean {
  return state === 'connecting' || state === 'live' || state === 'retrying';
}

const STATE_LABEL: Record<DestinationState, string> = {
  idle: 'Not started',
  connecting: 'Connecting',
  live: 'Live',
  retrying: 'Reconnecting',
  failed: 'Failed',
  stopped: 'Stopped',
};

export function destinationStateLabel(state: string): string {
  return STATE_LABEL[state as DestinationState] ?? state;
}

export type DestinationTone = 'idle' | 'busy' | 'live' | 'error';

export function destinationTone(state: string): DestinationTone {
  if (state === 'live') return 'live';
  if (state === 'connecting' || state === 'retrying') return 'busy';
  if (state === 'failed') return 'error';
  return 'idle';
}

/** "2500 kbit/s" ("" for nonsense). */
export function formatBitrate(bps: number | null | undefined): string {
  if (typeof bps !== 'number' || !Number.isFinite(bps) || bps < 0) return '';
  return `${Math.round(bps / 1000)} kbit/s`;
}

/** How long it has been live: from `live_since` to `nowMs` (null when it is not live). */
export function uptimeMs(d: Pick<EventDestination, 'state' | 'live_since'>, nowMs: number): number | null {
  if (d.state !== 'live' || !d.live_since) return null;
  const since = Date.parse(d.live_since);
  return Number.isFinite(since) ? Math.max(0, nowMs - since) : null;
}

/** "04:05", "1:02:03" (as the recording's elapsed time). */
export const formatUptime = formatElapsed;

const ADVICE: Record<string, string> = {
  key_refused:
    'Copy the stream key again from the platform (it may have changed or expired), then remove this destination and add it again with the new key.',
  unreachable: 'Check the server URL; if it is right, the platform may be down: press Start again in a moment.',
  stalled: 'The platform stopped taking the stream. Check that the stream is set up there; it reconnects by itself.',
  disconnected: 'The connection dropped. It reconnects by itself; if it fails, press Start again.',
  tls: 'Check the server URL: use rtmps:// only if the server supports it (and rtmp:// otherwise).',
  invalid_url: 'Check the server URL: remove this destination and add it again with the address the platform gives.',
};

/** What to do about a push's error code ("" when there is nothing to do). */
export function errorAdvice(code: string | null | undefined): string {
  return (code && ADVICE[code]) || '';
}

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return '';
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(s) ? s : `${s}.`;
}

/** A failed or retrying push in words: why (the server's `error`) and what to do (null when the
 * destination is fine). */
export function destinationProblem(d: Pick<EventDestination, 'state' | 'error' | 'error_code' | 'retries'>): { reason: string; advice: string } | null {
  if (d.state !== 'failed' && d.state !== 'retrying') return null;
  const fallback = d.state === 'failed' ? 'The stream to this destination stopped.' : 'The connection to this destination dropped; reconnecting.';
  const reason = sentence(d.error ?? '') || fallback;
  let advice = errorAdvice(d.error_code);
  if (!advice) advice = d.state === 'failed' ? 'Press Start to try again.' : 'It reconnects by itself.';
  return { reason, advice };
}

/** "Reconnecting (attempt 3)" while retrying, else "1 retry", "4 retries" ("" for none). */
export function retriesText(d: Pick<EventDestination, 'state' | 'retries'>): string {
  const n = typeof d.retries === 'number' && Number.isFinite(d.retries) ? Math.max(0, Math.floor(d.retries)) : 0;
  if (d.state === 'retrying') return `Reconnecting (attempt ${Math.max(1, n)})`;
  if (n === 0) return '';
  return n === 1 ? '1 retry' : `${n} retries`;
}

// ---- the destinations reducer ----------------------------------------------------------------

const idOf = (d: EventDestination) => d?.destination?.id;

/** Whether `incoming` is at least as new as `current` (two copies of one event destination). */
export function isNotOlder(incoming: EventDestination, current: EventDestination): boolean {
  const ui = incoming.updated_at ? Date.parse(incoming.updated_at) : NaN;
  const uc = current.updated_at ? Date.parse(current.updated_at) : NaN;
  if (Number.isFinite(ui) && Number.isFinite(uc)) return ui >= uc;
  return true;
}

export interface DestinationsState {
  /** In the server's order (new ones last). */
  items: EventDestination[];
  /** When each item was learned (the request's send time for a list). */
  learnedAt: Record<string, number>;
  /** The send time of the latest list applied (older lists are ignored). */
  listAt: number;
  /** Detached here, and when: lists asked for before that, and frames, do not bring it back. */
  removedAt: Record<string, number>;
  /** A list has been applied at least once. */
  loaded: boolean;
}

export const initialDestinationsState: DestinationsState = { items: [], learnedAt: {}, listAt: -Infinity, removedAt: {}, loaded: false };

export type DestinationsAction =
  /** A polled list (`at`: when the request was sent): it says which destinations are attached. */
  | { type: 'list'; destinations: EventDestination[]; at: number }
  /** One destination, from a REST answer (attach, start, stop, auto-start) received at `at`. */
  | { type: 'upsert'; destination: EventDestination; at: number }
  /** A `destination` frame of the live socket, received at `at`. */
  | { type: 'frame'; frame: DestinationFrame; at: number }
  /** Detached here at `at`. */
  | { type: 'remove'; id: string; at: number };

function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const { [key]: _gone, ...rest } = record;
  return rest;
}

function upsert(state: DestinationsState, d: EventDestination, at: number, fromFrame: boolean): DestinationsState {
  const id = idOf(d);
  if (typeof id !== 'string') return state;
  // A frame never brings back what was detached here (a last `stopped` frame, say); an answer
  // (attaching it again) does.
  if (fromFrame && id in state.removedAt) return state;
  const current = state.items.find((x) => idOf(x) === id);
  if (current && !isNotOlder(d, current)) return state;
  const items = current ? state.items.map((x) => (idOf(x) === id ? d : x)) : [...state.items, d];
  return {
    ...state,
    items,
    learnedAt: { ...state.learnedAt, [id]: Math.max(at, state.learnedAt[id] ?? -Infinity) },
    removedAt: withoutKey(state.removedAt, id),
  };
}

export function destinationsReducer(state: DestinationsState, action: DestinationsAction): DestinationsState {
  switch (action.type) {
    case 'list': {
      if (action.at < state.listAt) return state;
      const byId = new Map(state.items.map((d) => [idOf(d), d]));
      const items: EventDestination[] = [];
      const learnedAt: Record<string, number> = {};
      let removedAt = state.removedAt;
      const listed = new Set<string>();
      for (const d of Array.isArray(action.destinations) ? action.destinations : []) {
        const id = idOf(d);
        if (typeof id !== 'string' || listed.has(id)) continue;
        listed.add(id);
        const removed = state.removedAt[id];
        if (removed !== undefined) {
          // Asked for before we detached it: stale. After: attached again (by a co-host, say).
          if (action.at <= removed) continue;
          removedAt = withoutKey(removedAt, id);
        }
        const current = byId.get(id);
        if (current && !isNotOlder(d, current)) {
          items.push(current);
          learnedAt[id] = state.learnedAt[id] ?? action.at;
        } else {
          items.push(d);
          learnedAt[id] = Math.max(action.at, state.learnedAt[id] ?? -Infinity);
        }
      }
      // Not listed: detached elsewhere, unless we learned of it after this list was asked for.
      for (const d of state.items) {
        const id = idOf(d);
        if (listed.has(id)) continue;
        const seen = state.learnedAt[id] ?? -Infinity;
        if (seen > action.at) {
          items.push(d);
          learnedAt[id] = seen;
        }
      }
      return { items, learnedAt, listAt: action.at, removedAt, loaded: true };
    }
    case 'upsert':
      return upsert(state, action.destination, action.at, false);
    case 'frame':
      return upsert(state, action.frame.destination, action.at, true);
    case 'remove':
      return {
        ...state,
        items: state.items.filter((d) => idOf(d) !== action.id),
        learnedAt: withoutKey(state.learnedAt, action.id),
        removedAt: { ...state.removedAt, [action.id]: action.at },
      };
    default:
      return state;
  }
}
