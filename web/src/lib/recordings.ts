// Cloud recording (docs/recording.md), the pure part: words for states and layouts, elapsed time,
// the recordings reducer that takes polled lists, REST answers and `recording` frames of the live
// socket (and keeps the newest copy of each recording whatever order they arrive in), links that
// carry the access token, and the chat replay (paging, which messages are visible at a time).
import type { Recording, RecordingFrame, RecordingLayout, RecordingState, ReplayMessage } from './types';

export const LAYOUTS: readonly { value: RecordingLayout; label: string }[] = [
  { value: 'speaker', label: 'Active speaker' },
  { value: 'grid', label: 'Grid' },
  { value: 'screen', label: 'Screen share' },
];

export const DEFAULT_LAYOUT: RecordingLayout = 'speaker';

export function isLayout(v: string): v is RecordingLayout {
  return LAYOUTS.some((l) => l.value === v);
}

export function layoutLabel(layout: string): string {
  return LAYOUTS.find((l) => l.value === layout)?.label ?? layout;
}

/** Starting or recording: it can be stopped and its layout changed. */
export function isRunning(r: Pick<Recording, 'state'> | null | undefined): boolean {
  return r?.state === 'starting' || r?.state === 'recording';
}

/** Not finished yet (stopping included): the studio keeps showing it. */
export function isActive(r: Pick<Recording, 'state'> | null | undefined): boolean {
  return isRunning(r) || r?.state === 'stopping';
}

/** "04:05", "1:02:03" (negative and non-finite values count as 0). */
export function formatElapsed(ms: number | null | undefined): string {
  const total = Math.max(0, Math.floor((Number.isFinite(ms) ? (ms as number) : 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

/** How long the recording has run: live from `started_at` while recording (never less than the
 * server's `duration_ms`), the server's `duration_ms` once it stops. */
export function recordingElapsedMs(r: Recording, nowMs: number): number {
  if (r.state === 'starting') return 0;
  const started = r.started_at ? Date.parse(r.started_at) : NaN;
  if (r.state === 'recording') return Math.max(r.duration_ms ?? 0, Number.isFinite(started) ? nowMs - started : 0, 0);
  if (r.duration_ms !== null && r.duration_ms !== undefined) return r.duration_ms;
  const ended = r.ended_at ? Date.parse(r.ended_at) : NaN;
  return Number.isFinite(started) && Number.isFinite(ended) ? Math.max(0, ended - started) : 0;
}

export type StateTone = 'idle' | 'busy' | 'live' | 'ok' | 'error';

/** The recording's state in words for the studio, with what to do when it failed. */
export function recordingStateWords(r: Recording | null): { text: string; tone: StateTone } {
  if (!r) return { text: 'Not recording', tone: 'idle' };
  switch (r.state) {
    case 'starting':
      return { text: 'Starting…', tone: 'busy' };
    case 'recording':
      return { text: 'Recording', tone: 'live' };
    case 'stopping':
      return { text: 'Stopping…', tone: 'busy' };
    case 'ready':
      return { text: 'Saved: the last recording is ready to watch', tone: 'ok' };
    case 'failed': {
      const reason = (r.error ?? '').trim().replace(/\.$/, '') || 'the recorder stopped';
      return {
        text: `Failed: ${reason}. Press Record to try again; if it fails again, check that someone is on air with a camera or microphone.`,
        tone: 'error',
      };
    }
    default:
      return { text: r.state, tone: 'idle' };
  }
}

const BADGE: Record<RecordingState, string> = {
  starting: 'Starting',
  recording: 'Recording',
  stopping: 'Stopping',
  ready: 'Ready',
  failed: 'Failed',
};

export function recordingBadge(state: string): string {
  return BADGE[state as RecordingState] ?? state;
}

/** `url` with `?access_token=` (or `&access_token=`) for a link, a <video> or an <img>, which
 * cannot send an Authorization header. A fragment stays at the end. */
export function withAccessToken(url: string, token: string | null | undefined): string {
  if (!token) return url;
  const hash = url.indexOf('#');
  const base = hash >= 0 ? url.slice(0, hash) : url;
  const frag = hash >= 0 ? url.slice(hash) : '';
  const cleaned = base.replace(/([?&])access_token=[^&]*(&|$)/, (_m, lead: string, tail: string) => (tail ? lead : ''));
  const sep = cleaned.includes('?') ? (cleaned.endsWith('?') || cleaned.endsWith('&') ? '' : '&') : '?';
  return `${cleaned}${sep}access_token=${encodeURIComponent(token)}${frag}`;
}

// ---- the recordings reducer ------------------------------------------------------------------

const RANK: Record<string, number> = { starting: 0, recording: 1, stopping: 2, ready: 3, failed: 3 };

/** Whether `incoming` is at least as new as `current` (two copies of one recording). States only
 * move forward; within a state the layout changes and the duration only grow. A copy that says
 * less is an answer that was overtaken on the way (a poll sent before a stop, say). */
export function isNotOlder(incoming: Recording, current: Recording): boolean {
  const ui = incoming.updated_at ? Date.parse(incoming.updated_at) : NaN;
  const uc = current.updated_at ? Date.parse(current.updated_at) : NaN;
  if (Number.isFinite(ui) && Number.isFinite(uc)) return ui >= uc;
  const ri = RANK[incoming.state] ?? 0;
  const rc = RANK[current.state] ?? 0;
  if (ri !== rc) return ri > rc;
  const li = incoming.layout_changes;
  const lc = current.layout_changes;
  if (Array.isArray(li) && Array.isArray(lc) && li.length !== lc.length) return li.length > lc.length;
  if (typeof incoming.duration_ms === 'number' && typeof current.duration_ms === 'number') return incoming.duration_ms >= current.duration_ms;
  return true;
}

export interface RecordingsState {
  /** Newest first. */
  items: Recording[];
  /** When each item was learned (the request's send time for a list). */
  learnedAt: Record<string, number>;
  /** The send time of the latest list applied (older lists are ignored). */
  listAt: number;
  /** Deleted here: never shown again. */
  removed: string[];
  /** A list has been applied at least once. */
  loaded: boolean;
}

export const initialRecordingsState: RecordingsState = { items: [], learnedAt: {}, listAt: -Infinity, removed: [], loaded: false };

export type RecordingsAction =
  /** A polled list (`at`: when the request was sent): it says which recordings exist. */
  | { type: 'list'; recordings: Recording[]; at: number }
  /** One recording, from a REST answer (start, stop, layout, get) at `at`. */
  | { type: 'upsert'; recording: Recording; at: number }
  /** A `recording` frame of the live socket, received at `at`. */
  | { type: 'frame'; frame: RecordingFrame; at: number }
  | { type: 'remove'; id: string };

function startedKey(r: Recording): number {
  const t = r.started_at ? Date.parse(r.started_at) : NaN;
  return Number.isFinite(t) ? t : Infinity; // not started yet: the newest
}

function sortNewestFirst(items: Recording[]): Recording[] {
  return items
    .map((r, i) => ({ r, i }))
    .sort((a, b) => startedKey(b.r) - startedKey(a.r) || a.i - b.i)
    .map((x) => x.r);
}

/** `incoming` over `current`; a copy without playback keeps the one we have (same state). */
function merged(incoming: Recording, current: Recording | undefined): Recording {
  if (current && !incoming.playback && current.playback && incoming.state === current.state) return { ...incoming, playback: current.playback };
  return incoming;
}

function upsert(state: RecordingsState, rec: Recording, at: number): RecordingsState {
  if (!rec || typeof rec.id !== 'string' || state.removed.includes(rec.id)) return state;
  const current = state.items.find((r) => r.id === rec.id);
  if (current && !isNotOlder(rec, current)) return state;
  const next = merged(rec, current);
  const items = current ? state.items.map((r) => (r.id === rec.id ? next : r)) : [next, ...state.items];
  return { ...state, items: sortNewestFirst(items), learnedAt: { ...state.learnedAt, [rec.id]: Math.max(at, state.learnedAt[rec.id] ?? -Infinity) } };
}

export function recordingsReducer(state: RecordingsState, action: RecordingsAction): RecordingsState {
  switch (action.type) {
    case 'list': {
      if (action.at < state.listAt) return state;
      const learnedAt: Record<string, number> = {};
      const byId = new Map(state.items.map((r) => [r.id, r]));
      const items: Recording[] = [];
      const listed = new Set<string>();
      for (const rec of action.recordings) {
        if (!rec || typeof rec.id !== 'string' || listed.has(rec.id) || state.removed.includes(rec.id)) continue;
        listed.add(rec.id);
        const current = byId.get(rec.id);
        if (current && !isNotOlder(rec, current)) {
          items.push(current);
          learnedAt[rec.id] = state.learnedAt[rec.id] ?? action.at;
        } else {
          items.push(merged(rec, current));
          learnedAt[rec.id] = Math.max(action.at, state.learnedAt[rec.id] ?? -Infinity);
        }
      }
      // Not listed: gone, unless we learned of it after this list was asked for.
      for (const r of state.items) {
        if (listed.has(r.id)) continue;
        const seen = state.learnedAt[r.id] ?? -Infinity;
        if (seen > action.at) {
          items.push(r);
          learnedAt[r.id] = seen;
        }
      }
      return { ...state, items: sortNewestFirst(items), learnedAt, listAt: action.at, loaded: true };
    }
    case 'upsert':
      return upsert(state, action.recording, action.at);
    case 'frame':
      return upsert(state, action.frame.recording, action.at);
    case 'remove': {
      if (state.removed.includes(action.id)) return state;
      const { [action.id]: _gone, ...learnedAt } = state.learnedAt;
      return { ...state, items: state.items.filter((r) => r.id !== action.id), learnedAt, removed: [...state.removed, action.id] };
    }
    default:
      return state;
  }
}

/** The recording the studio shows: the newest one not finished, else the newest of all. */
export function studioRecording(items: readonly Recording[]): Recording | null {
  return items.find((r) => isActive(r)) ?? items[0] ?? null;
}

// ---- the chat replay -------------------------------------------------------------------------

/** How many messages of `sorted` (ascending `offset_ms`) are visible at `currentMs` of the video:
 * those with `offset_ms <= currentMs`. */
export function visibleReplayCount(sorted: readonly Pick<ReplayMessage, 'offset_ms'>[], currentMs: number): number {
  if (!Number.isFinite(currentMs)) return 0;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid].offset_ms <= currentMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export const REPLAY_PAGE = 500;
export const REPLAY_CAP = 5000;

/**
 * Reads the whole chat replay: pages from `from_offset_ms` = the last offset seen (inclusive or
 * not, duplicates are dropped by id) until a page comes back shorter than `limit`, a page brings
 * nothing new, or `cap` messages are in. Answers them sorted by `offset_ms`.
 */
export async function loadReplay(
  fetchPage: (fromOffsetMs: number, limit: number) => Promise<ReplayMessage[]>,
  opts: { limit?: number; cap?: number } = {},
): Promise<{ messages: ReplayMessage[]; truncated: boolean }> {
  const limit = opts.limit ?? REPLAY_PAGE;
  const cap = opts.cap ?? REPLAY_CAP;
  const seen = new Set<string>();
  const all: ReplayMessage[] = [];
  let from = 0;
  for (;;) {
    const page = await fetchPage(from, limit);
    let added = 0;
    for (const m of page) {
      if (seen.has(m.message_id)) continue;
      seen.add(m.message_id);
      all.push(m);
      added += 1;
    }
    if (all.length >= cap) {
      return { messages: sortByOffset(all).slice(0, cap), truncated: true };
    }
    if (page.length < limit || added === 0) break;
    const last = page.reduce((mx, m) => Math.max(mx, m.offset_ms), from);
    from = last;
  }
  return { messages: sortByOffset(all), truncated: false };
}

function sortByOffset(ms: ReplayMessage[]): ReplayMessage[] {
  return ms
    .map((m, i) => ({ m, i }))
    .sort((a, b) => a.m.offset_ms - b.m.offset_ms || a.i - b.i)
    .map((x) => x.m);
}

/** "1.2 GB", "15 MB", "800 kB". */
export function formatBytes(n: number | null | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return '';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return `${v >= 10 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}
