// The chat pane's state as a pure reducer over WebSocket frames and local actions, so every rule
// (dedupe by id, ack replaces pending, deletions, moderation) is testable without a socket.
import { formatDuration } from './datetime';
import type { Author, ChatMessage, ChatSettings, ModerationAction, ServerFrame } from './types';

export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'reconnecting'; attempt: number; retryAt: number }
  | { kind: 'banned' }
  | { kind: 'failed'; message: string };

export interface SendError {
  code: string;
  message: string;
  /** When the user may try again (ms since the epoch), for slow_mode / rate_limited / timed_out. */
  retryAt: number | null;
}

export interface PendingMessage {
  client_msg_id: string;
  text: string;
  status: 'sending' | 'failed';
  error?: SendError;
}

export interface Notice {
  id: string;
  text: string;
  at: string | null;
}

export type TimelineItem = { kind: 'message'; message: ChatMessage } | { kind: 'notice'; notice: Notice };

export interface ChatState {
  connection: ConnectionState;
  /** A hello has arrived at least once. */
  ready: boolean;
  you: Author | null;
  timeline: TimelineItem[];
  pending: PendingMessage[];
  /** Your messages waiting for a moderator (blocked term in hold mode); nobody else sees them. */
  heldMine: ChatMessage[];
  pinned: ChatMessage | null;
  settings: ChatSettings;
  timedOutUntil: number | null;
  viewerCount: number;
  users: Author[];
  /** An error not tied to one of your messages. */
  lastError: SendError | null;
  /** Ids deleted while we watched, so a late duplicate cannot bring one back. */
  deletedIds: string[];
  /** Display names of everyone seen in this room (to name the target of a moderation action). */
  names: Record<string, string>;
}

export type ChatAction =
  | { type: 'frame'; frame: ServerFrame; now: number }
  | { type: 'connection'; connection: ConnectionState }
  | { type: 'send'; client_msg_id: string; text: string }
  /** A refused message is sent again under a new id (the old one was never accepted). */
  | { type: 'retry'; client_msg_id: string; new_client_msg_id: string }
  | { type: 'discard'; client_msg_id: string }
  | { type: 'clearError' };

export const MAX_TIMELINE = 300;
const MAX_DELETED = 500;

export const initialChatState: ChatState = {
  connection: { kind: 'connecting' },
  ready: false,
  you: null,
  timeline: [],
  pending: [],
  heldMine: [],
  pinned: null,
  settings: { slow_mode_secs: 0, blocked_terms: [], blocked_term_mode: 'reject' },
  timedOutUntil: null,
  viewerCount: 0,
  users: [],
  lastError: null,
  deletedIds: [],
  names: {},
};

const MOD_ROLES = new Set(['host', 'cohost', 'moderator']);

export function canModerate(state: Pick<ChatState, 'you'>): boolean {
  return !!state.you && MOD_ROLES.has(state.you.role);
}

export function hasMessage(state: ChatState, id: string): boolean {
  return state.timeline.some((i) => i.kind === 'message' && i.message.id === id);
}

function cap<T>(items: T[], max: number): T[] {
  return items.length > max ? items.slice(items.length - max) : items;
}

function learnNames(names: Record<string, string>, authors: Author[]): Record<string, string> {
  const missing = authors.filter((a) => a.display_name && names[a.user_id] !== a.display_name);
  if (missing.length === 0) return names;
  const next = { ...names };
  for (const a of missing) next[a.user_id] = a.display_name;
  return next;
}

function appendMessage(state: ChatState, message: ChatMessage): ChatState {
  state = { ...state, names: learnNames(state.names, [message.author]) };
  const pending = state.pending.filter((p) => !(p.client_msg_id === message.client_msg_id && isMine(state, message)));
  const heldMine = state.heldMine.filter((m) => m.id !== message.id);
  if (state.deletedIds.includes(message.id) || hasMessage(state, message.id)) {
    return pending.length === state.pending.length && heldMine.length === state.heldMine.length ? state : { ...state, pending, heldMine };
  }
  return { ...state, pending, heldMine, timeline: cap([...state.timeline, { kind: 'message', message }], MAX_TIMELINE) };
}

function isMine(state: ChatState, m: ChatMessage): boolean {
  return !!state.you && m.author.user_id === state.you.user_id;
}

function removeMessage(state: ChatState, id: string): ChatState {
  return {
    ...state,
    timeline: state.timeline.filter((i) => !(i.kind === 'message' && i.message.id === id)),
    heldMine: state.heldMine.filter((m) => m.id !== id),
    pinned: state.pinned?.id === id ? null : state.pinned,
    deletedIds: state.deletedIds.includes(id) ? state.deletedIds : cap([...state.deletedIds, id], MAX_DELETED),
  };
}

function addNotice(state: ChatState, notice: Notice): ChatState {
  if (state.timeline.some((i) => i.kind === 'notice' && i.notice.id === notice.id)) return state;
  return { ...state, timeline: cap([...state.timeline, { kind: 'notice', notice }], MAX_TIMELINE) };
}

/** A person's name as the room knows it ("you" for yourself). */
export function nameOf(state: ChatState, userId: string | null | undefined, you = 'you'): string {
  if (!userId) return 'someone';
  if (state.you?.user_id === userId) return you;
  return state.names[userId] ?? 'a viewer';
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function onModeration(state: ChatState, a: ModerationAction, now: number): ChatState {
  const target = nameOf(state, a.target_user_id);
  const toYou = !!state.you && a.target_user_id === state.you.user_id;
  const notice = (text: string) => ({ id: a.id, text, at: a.at });
  switch (a.kind) {
    case 'delete_message': {
      const next = a.target_message_id ? removeMessage(state, a.target_message_id) : state;
      return addNotice(next, notice('A moderator removed a message.'));
    }
    case 'timeout': {
      const secs = a.duration_secs ?? 0;
      const next = toYou && secs > 0 ? { ...state, timedOutUntil: now + secs * 1000 } : state;
      return addNotice(next, notice(`${capitalise(target)} ${toYou ? 'were' : 'was'} timed out for ${formatDuration(secs)}.`));
    }
    case 'ban':
      return addNotice(state, notice(toYou ? 'You were banned from this chat.' : `${capitalise(target)} was banned from the chat.`));
    case 'unban':
      return addNotice(state, notice(`${capitalise(target)} ${toYou ? 'were' : 'was'} unbanned.`));
    case 'add_moderator': {
      const you = toYou && state.you && state.you.role === 'viewer' ? { ...state.you, role: 'moderator' as const } : state.you;
      return addNotice({ ...state, you }, notice(toYou ? 'You are now a moderator.' : `${capitalise(target)} is now a moderator.`));
    }
    case 'remove_moderator': {
      const you = toYou && state.you && state.you.role === 'moderator' ? { ...state.you, role: 'viewer' as const } : state.you;
      return addNotice({ ...state, you }, notice(toYou ? 'You are no longer a moderator.' : `${capitalise(target)} is no longer a moderator.`));
    }
    case 'slow_mode': {
      const secs = a.settings?.slow_mode_secs ?? a.duration_secs ?? 0;
      const settings = a.settings ?? { ...state.settings, slow_mode_secs: secs };
      return addNotice(
        { ...state, settings },
        notice(secs > 0 ? `Slow mode is on: one message every ${formatDuration(secs)}.` : 'Slow mode is off.'),
      );
    }
    case 'blocked_terms':
      return addNotice({ ...state, settings: a.settings ?? state.settings }, notice('The list of blocked terms was updated.'));
    case 'pin': {
      const found = state.timeline.find((i) => i.kind === 'message' && i.message.id === a.target_message_id);
      const pinned = a.message ?? (found && found.kind === 'message' ? found.message : state.pinned);
      return addNotice({ ...state, pinned }, notice('A message was pinned.'));
    }
    case 'unpin':
      return addNotice({ ...state, pinned: null }, notice('The pinned message was unpinned.'));
    case 'approve': {
      let next: ChatState = { ...state, heldMine: state.heldMine.filter((m) => m.id !== a.target_message_id) };
      if (a.message) next = appendMessage(next, a.message);
      return toYou ? addNotice(next, notice('A moderator approved your held message.')) : next;
    }
    case 'deny': {
      const next = { ...state, heldMine: state.heldMine.filter((m) => m.id !== a.target_message_id) };
      return toYou ? addNotice(next, notice('A moderator declined your held message.')) : next;
    }
    default:
      return state;
  }
}

function onFrame(state: ChatState, frame: ServerFrame, now: number): ChatState {
  switch (frame.type) {
    case 'hello': {
      const deleted = new Set(state.deletedIds);
      const history = frame.history.filter((m) => !deleted.has(m.id));
      const acceptedMine = new Set(history.filter((m) => m.author.user_id === frame.you.user_id).map((m) => m.client_msg_id));
      const until = frame.timed_out_until ? Date.parse(frame.timed_out_until) : NaN;
      return {
        ...state,
        connection: { kind: 'open' },
        ready: true,
        you: frame.you,
        timeline: cap(
          history.map((message) => ({ kind: 'message' as const, message })),
          MAX_TIMELINE,
        ),
        pending: state.pending.filter((p) => !acceptedMine.has(p.client_msg_id)),
        pinned: frame.pinned,
        settings: frame.settings ?? initialChatState.settings,
        timedOutUntil: Number.isNaN(until) || until <= now ? null : until,
        viewerCount: frame.presence.viewer_count,
        users: frame.presence.users,
        lastError: null,
        names: learnNames(state.names, [frame.you, ...frame.presence.users, ...history.map((m) => m.author)]),
      };
    }
    case 'chat.message':
      return appendMessage(state, frame.message);
    case 'chat.ack': {
      const pending = state.pending.filter((p) => p.client_msg_id !== frame.client_msg_id);
      if (frame.held) {
        const heldMine = state.heldMine.some((m) => m.id === frame.message.id) ? state.heldMine : [...state.heldMine, frame.message];
        return { ...state, pending, heldMine };
      }
      return appendMessage({ ...state, pending }, frame.message);
    }
    case 'chat.deleted':
      return removeMessage(state, frame.message_id);
    case 'moderation':
      return onModeration(state, frame.action, now);
    case 'presence': {
      const known = state.users.find((u) => u.user_id === frame.user.user_id);
      const others = state.users.filter((u) => u.user_id !== frame.user.user_id);
      // A presence frame may carry "viewer" for anyone (the gateway does not know roles when it
      // announces a join); a role learned from hello keeps precedence.
      const user = known && frame.user.role === 'viewer' ? { ...frame.user, role: known.role } : frame.user;
      return {
        ...state,
        viewerCount: frame.viewer_count,
        users: frame.joined ? (known ? state.users.map((u) => (u.user_id === user.user_id ? user : u)) : [user, ...others]) : others,
        names: learnNames(state.names, [frame.user]),
      };
    }
    case 'error': {
      const error: SendError = {
        code: frame.code,
        message: frame.message,
        retryAt: frame.retry_after ? now + frame.retry_after * 1000 : null,
      };
      let next = state;
      if (frame.code === 'timed_out' && error.retryAt) next = { ...next, timedOutUntil: error.retryAt };
      const target = frame.client_msg_id && next.pending.find((p) => p.client_msg_id === frame.client_msg_id);
      if (target) {
        return {
          ...next,
          pending: next.pending.map((p) => (p.client_msg_id === frame.client_msg_id ? { ...p, status: 'failed' as const, error } : p)),
        };
      }
      return { ...next, lastError: error };
    }
    default:
      return state;
  }
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'frame':
      return onFrame(state, action.frame, action.now);
    case 'connection':
      return { ...state, connection: action.connection };
    case 'send':
      return {
        ...state,
        lastError: null,
        pending: [...state.pending, { client_msg_id: action.client_msg_id, text: action.text, status: 'sending' }],
      };
    case 'retry':
      return {
        ...state,
        pending: state.pending.map((p) => (p.client_msg_id === action.client_msg_id ? { client_msg_id: action.new_client_msg_id, text: p.text, status: 'sending' } : p)),
      };
    case 'discard':
      return { ...state, pending: state.pending.filter((p) => p.client_msg_id !== action.client_msg_id) };
    case 'clearError':
      return { ...state, lastError: null };
  }
}

const RETRYABLE = new Set(['slow_mode', 'rate_limited', 'timed_out']);

export function isRetryable(error: SendError): boolean {
  return RETRYABLE.has(error.code);
}

function sentence(text: string): string {
  const t = text.trim();
  return !t || /[.!?]$/.test(t) ? t : `${t}.`;
}

/** Whole seconds until a refused message may be sent again (0 = now). */
export function retryWait(error: SendError, now: number): number {
  return error.retryAt ? Math.max(0, Math.ceil((error.retryAt - now) / 1000)) : 0;
}

/** What to do about a refused message, where the server's words may not say. */
const SEND_NEXT_STEP: Record<string, string> = {
  blocked_term: 'Rephrase your message and send it again.',
  message_too_long: 'Shorten it to 500 characters.',
  message_empty: 'Write something first.',
  control_characters: 'Remove line breaks and special characters.',
  chat_closed: 'The event is over, so nothing more can be sent.',
  chat_unavailable: 'Retry in a moment.',
};

/** What a send error says: the server's own words, and what to do where they do not say. */
export function sendErrorText(error: SendError): string {
  const text = sentence(error.message) || 'Your message was not sent.';
  const next = SEND_NEXT_STEP[error.code];
  return next && !text.toLowerCase().includes(next.toLowerCase().replace(/\.$/, '')) ? `${text} ${next}` : text;
}

/** The retry button's label, counting down for slow_mode / rate_limited / timed_out. */
export function retryLabel(error: SendError, now: number): string {
  const left = retryWait(error, now);
  return left > 0 ? `Retry in ${formatDuration(left)}` : 'Retry';
}

let counter = 0;
/** A client_msg_id unique per message (≤ 64 characters). */
export function newClientMsgId(): string {
  counter += 1;
  const rand = globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `c-${rand}-${counter}`.slice(0, 64);
}
