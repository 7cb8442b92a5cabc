import { describe, expect, it } from 'vitest';
import { type ChatState, chatReducer, initialChatState, nameOf, newClientMsgId, retryLabel, retryWait, sendErrorText } from './chatState';
import type { Author, ChatMessage, HelloFrame, ModerationAction, ModerationKind, ServerFrame } from './types';

const me: Author = { user_id: 'me', display_name: 'Me', avatar_url: null, role: 'viewer' };
const ada: Author = { user_id: 'ada', display_name: 'Ada', avatar_url: 'https://img.example/ada.png', role: 'host' };

function msg(id: string, author: Author = ada, text = `text ${id}`, client_msg_id = `c-${id}`): ChatMessage {
  return { id, event_id: 'ev', author, text, sent_at: '2025-01-01T10:00:00Z', client_msg_id };
}

function hello(over: Partial<HelloFrame> = {}): HelloFrame {
  return {
    type: 'hello',
    protocol: 1,
    event_id: 'ev',
    you: me,
    history: [msg('m1'), msg('m2')],
    pinned: null,
    settings: { slow_mode_secs: 0, blocked_terms: [], blocked_term_mode: 'reject' },
    timed_out_until: null,
    presence: { viewer_count: 2, users: [ada, me] },
    heartbeat_secs: 20,
    ...over,
  };
}

const NOW = 1_000_000;
function run(state: ChatState, ...frames: ServerFrame[]): ChatState {
  return frames.reduce((s, frame) => chatReducer(s, { type: 'frame', frame, now: NOW }), state);
}
const ids = (s: ChatState) => s.timeline.flatMap((i) => (i.kind === 'message' ? [i.message.id] : []));
const notices = (s: ChatState) => s.timeline.flatMap((i) => (i.kind === 'notice' ? [i.notice.text] : []));

function action(kind: ModerationKind, over: Partial<ModerationAction> = {}): ModerationAction {
  return { id: `a-${kind}`, kind, actor_id: 'ada', target_user_id: null, target_message_id: null, reason: null, at: null, duration_secs: null, message: null, settings: null, ...over };
}

describe('chat reducer', () => {
  it('starts from hello: history oldest first, presence, settings, you', () => {
    const s = run(initialChatState, hello());
    expect(s.ready).toBe(true);
    expect(s.connection).toEqual({ kind: 'open' });
    expect(ids(s)).toEqual(['m1', 'm2']);
    expect(s.viewerCount).toBe(2);
    expect(s.you).toEqual(me);
  });

  it('dedupes live messages by id (a message can be both in history and live)', () => {
    const s = run(initialChatState, hello(), { type: 'chat.message', message: msg('m2') }, { type: 'chat.message', message: msg('m3') }, { type: 'chat.message', message: msg('m3') });
    expect(ids(s)).toEqual(['m1', 'm2', 'm3']);
  });

  it('replaces the optimistic pending message with the acked one', () => {
    let s = run(initialChatState, hello());
    s = chatReducer(s, { type: 'send', client_msg_id: 'c-9', text: 'hi all' });
    expect(s.pending).toEqual([{ client_msg_id: 'c-9', text: 'hi all', status: 'sending' }]);
    s = run(s, { type: 'chat.ack', client_msg_id: 'c-9', message: msg('m9', me, 'hi all', 'c-9'), held: false });
    expect(s.pending).toEqual([]);
    expect(ids(s)).toEqual(['m1', 'm2', 'm9']);
    // The broadcast copy of our own message arrives too: still one.
    s = run(s, { type: 'chat.message', message: msg('m9', me, 'hi all', 'c-9') });
    expect(ids(s)).toEqual(['m1', 'm2', 'm9']);
  });

  it('also clears the pending message when the broadcast copy beats the ack', () => {
    let s = chatReducer(run(initialChatState, hello()), { type: 'send', client_msg_id: 'c-9', text: 'hi' });
    s = run(s, { type: 'chat.message', message: msg('m9', me, 'hi', 'c-9') });
    expect(s.pending).toEqual([]);
    s = run(s, { type: 'chat.ack', client_msg_id: 'c-9', message: msg('m9', me, 'hi', 'c-9'), held: false });
    expect(ids(s)).toEqual(['m1', 'm2', 'm9']);
  });

  it('keeps a held message out of the room, then approval brings it in', () => {
    let s = chatReducer(run(initialChatState, hello()), { type: 'send', client_msg_id: 'c-h', text: 'spoiler' });
    s = run(s, { type: 'chat.ack', client_msg_id: 'c-h', message: msg('h1', me, 'spoiler', 'c-h'), held: true });
    expect(s.pending).toEqual([]);
    expect(s.heldMine.map((m) => m.id)).toEqual(['h1']);
    expect(ids(s)).not.toContain('h1');
    s = run(s, { type: 'moderation', action: action('approve', { target_user_id: 'me', target_message_id: 'h1', message: msg('h1', me, 'spoiler', 'c-h') }) });
    expect(s.heldMine).toEqual([]);
    expect(ids(s)).toContain('h1');
    expect(notices(s)).toContain('A moderator approved your held message.');
  });

  it('marks a refused message failed with a retry time, and retry puts it back to sending', () => {
    let s = chatReducer(run(initialChatState, hello()), { type: 'send', client_msg_id: 'c-1', text: 'again' });
    s = run(s, { type: 'error', client_msg_id: 'c-1', code: 'slow_mode', message: 'slow mode is on: one message every 10 s', retry_after: 7 });
    expect(s.pending[0]).toMatchObject({ status: 'failed', error: { code: 'slow_mode', retryAt: NOW + 7000 } });
    const error = s.pending[0].error!;
    expect(sendErrorText(error)).toBe('slow mode is on: one message every 10 s.');
    expect(retryLabel(error, NOW + 2500)).toBe('Retry in 5 s');
    expect(retryLabel(error, NOW + 8000)).toBe('Retry');
    expect(retryWait(error, NOW)).toBe(7);
    expect(retryWait(error, NOW + 7000)).toBe(0);
    s = chatReducer(s, { type: 'retry', client_msg_id: 'c-1', new_client_msg_id: 'c-2' });
    expect(s.pending[0]).toEqual({ client_msg_id: 'c-2', text: 'again', status: 'sending' });
    s = chatReducer(s, { type: 'discard', client_msg_id: 'c-2' });
    expect(s.pending).toEqual([]);
  });

  it('shows the server message, and what to do, for errors without a countdown', () => {
    const error = { code: 'blocked_term', message: 'your message contains a term blocked in this chat', retryAt: null };
    expect(sendErrorText(error)).toBe('your message contains a term blocked in this chat. Rephrase your message and send it again.');
    expect(sendErrorText({ code: 'message_too_long', message: 'at most 500 characters', retryAt: null })).toBe('at most 500 characters. Shorten it to 500 characters.');
    expect(retryWait(error, NOW)).toBe(0);
  });

  it('records a timeout from a timed_out error', () => {
    let s = chatReducer(run(initialChatState, hello()), { type: 'send', client_msg_id: 'c-1', text: 'x' });
    s = run(s, { type: 'error', client_msg_id: 'c-1', code: 'timed_out', message: 'you are timed out', retry_after: 60 });
    expect(s.timedOutUntil).toBe(NOW + 60_000);
  });

  it('keeps errors not tied to a pending message as lastError', () => {
    const s = run(initialChatState, hello(), { type: 'error', code: 'invalid_message', message: 'unrecognised message' });
    expect(s.lastError).toMatchObject({ code: 'invalid_message' });
  });

  it('removes deleted messages (and unpins them), and a late duplicate cannot bring one back', () => {
    let s = run(initialChatState, hello({ pinned: msg('m1') }));
    s = run(s, { type: 'chat.deleted', message_id: 'm1' });
    expect(ids(s)).toEqual(['m2']);
    expect(s.pinned).toBeNull();
    s = run(s, { type: 'chat.message', message: msg('m1') });
    expect(ids(s)).toEqual(['m2']);
    // A reconnect's history may still race the deletion.
    s = run(s, hello());
    expect(ids(s)).toEqual(['m2']);
  });

  it('shows moderation actions as notices, once each, naming the target', () => {
    let s = run(initialChatState, hello(), { type: 'chat.message', message: msg('m5', { ...me, user_id: 'bob', display_name: 'Bob' }) });
    s = run(s, { type: 'moderation', action: action('delete_message', { target_message_id: 'm5', target_user_id: 'bob' }) });
    expect(ids(s)).not.toContain('m5');
    s = run(s, { type: 'moderation', action: action('ban', { target_user_id: 'bob' }) });
    s = run(s, { type: 'moderation', action: action('ban', { target_user_id: 'bob' }) });
    expect(notices(s)).toEqual(['A moderator removed a message.', 'Bob was banned from the chat.']);
  });

  it('applies a timeout of this user and tells them', () => {
    const s = run(initialChatState, hello(), { type: 'moderation', action: action('timeout', { target_user_id: 'me', duration_secs: 600 }) });
    expect(s.timedOutUntil).toBe(NOW + 600_000);
    expect(notices(s)).toEqual(['You were timed out for 10 min.']);
  });

  it('follows slow mode, blocked terms, pin and unpin', () => {
    let s = run(initialChatState, hello());
    s = run(s, { type: 'moderation', action: action('slow_mode', { settings: { slow_mode_secs: 30, blocked_terms: [], blocked_term_mode: 'reject' } }) });
    expect(s.settings.slow_mode_secs).toBe(30);
    s = run(s, { type: 'moderation', action: action('blocked_terms', { settings: { slow_mode_secs: 30, blocked_terms: ['spoiler'], blocked_term_mode: 'hold' } }) });
    expect(s.settings).toEqual({ slow_mode_secs: 30, blocked_terms: ['spoiler'], blocked_term_mode: 'hold' });
    s = run(s, { type: 'moderation', action: action('pin', { target_message_id: 'm2' }) });
    expect(s.pinned?.id).toBe('m2');
    s = run(s, { type: 'moderation', action: action('unpin') });
    expect(s.pinned).toBeNull();
    expect(notices(s)).toEqual([
      'Slow mode is on: one message every 30 s.',
      'The list of blocked terms was updated.',
      'A message was pinned.',
      'The pinned message was unpinned.',
    ]);
  });

  it('promotes and demotes this user as moderator', () => {
    let s = run(initialChatState, hello(), { type: 'moderation', action: action('add_moderator', { target_user_id: 'me' }) });
    expect(s.you?.role).toBe('moderator');
    s = run(s, { type: 'moderation', action: { ...action('remove_moderator', { target_user_id: 'me' }) } });
    expect(s.you?.role).toBe('viewer');
  });

  it('tracks presence: joins, leaves and the viewer count', () => {
    const bob: Author = { user_id: 'bob', display_name: 'Bob', avatar_url: null, role: 'viewer' };
    let s = run(initialChatState, hello(), { type: 'presence', viewer_count: 3, user: bob, joined: true });
    expect(s.users.map((u) => u.user_id)).toEqual(['bob', 'ada', 'me']);
    expect(s.viewerCount).toBe(3);
    s = run(s, { type: 'presence', viewer_count: 3, user: bob, joined: true });
    expect(s.users).toHaveLength(3);
    // A join frame for someone already listed keeps their place and known role.
    s = run(s, { type: 'presence', viewer_count: 3, user: { ...ada, role: 'viewer', display_name: 'Ada L.' }, joined: true });
    expect(s.users.map((u) => [u.user_id, u.role, u.display_name])).toEqual([
      ['bob', 'viewer', 'Bob'],
      ['ada', 'host', 'Ada L.'],
      ['me', 'viewer', 'Me'],
    ]);
    s = run(s, { type: 'presence', viewer_count: 2, user: ada, joined: false });
    expect(s.users.map((u) => u.user_id)).toEqual(['bob', 'me']);
    expect(nameOf(s, 'bob')).toBe('Bob');
    expect(nameOf(s, 'me')).toBe('you');
    expect(nameOf(s, 'ghost')).toBe('a viewer');
  });

  it('keeps unsent messages over a reconnect, dropping those the history shows were accepted', () => {
    let s = run(initialChatState, hello());
    s = chatReducer(s, { type: 'send', client_msg_id: 'c-a', text: 'a' });
    s = chatReducer(s, { type: 'send', client_msg_id: 'c-b', text: 'b' });
    s = chatReducer(s, { type: 'connection', connection: { kind: 'reconnecting', attempt: 1, retryAt: NOW + 500 } });
    s = run(s, hello({ history: [msg('m1'), msg('m2'), msg('m3', me, 'a', 'c-a')] }));
    expect(s.pending.map((p) => p.client_msg_id)).toEqual(['c-b']);
    expect(s.connection).toEqual({ kind: 'open' });
  });

  it('caps the timeline', () => {
    let s = run(initialChatState, hello({ history: [] }));
    for (let i = 0; i < 350; i++) s = run(s, { type: 'chat.message', message: msg(`x${i}`) });
    expect(s.timeline).toHaveLength(300);
    expect(ids(s)[0]).toBe('x50');
  });

  it('makes client message ids unique and at most 64 characters', () => {
    const a = newClientMsgId();
    const b = newClientMsgId();
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(64);
  });
});
