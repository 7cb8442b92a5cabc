// The live chat pane, shared by the event page (viewers) and the studio (hosts): messages,
// optimistic sends, errors with countdowns, pinned message, and per-message moderation tools
// for the host, co-hosts and moderators.
import { type FormEvent, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import { Avatar, RoleBadge } from '../components/ui';
import { errorText, type ApiClient } from '../lib/api';
import { type ChatState, type PendingMessage, canModerate, isRetryable, retryLabel, retryWait, sendErrorText } from '../lib/chatState';
import { formatDuration, formatTime, secondsLeft } from '../lib/datetime';
import { useNow } from '../lib/hooks';
import type { ChatMessage } from '../lib/types';
import type { LiveChat } from '../lib/useLiveChat';

const MAX_LEN = 500;

/** A message is one line without control characters (the server refuses them): pasted tabs or
 * line breaks become spaces. */
export function cleanMessage(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

interface Props {
  api: ApiClient;
  eventId: string;
  chat: LiveChat;
  /** Why sending is impossible regardless of the socket (e.g. the event ended). */
  closedReason?: string | null;
}

function ConnectionBanner({ state, now, onRetry }: { state: ChatState; now: number; onRetry: () => void }) {
  const c = state.connection;
  switch (c.kind) {
    case 'connecting':
      return state.ready ? null : (
        <p className="chat-banner" role="status">
          Connecting to chat…
        </p>
      );
    case 'reconnecting': {
      const left = secondsLeft(c.retryAt, now);
      return (
        <p className="chat-banner">
          <span role="status">Connection lost — reconnecting…</span> {left > 0 ? `next try in ${formatDuration(left)}` : 'trying now'}
          <button type="button" className="btn-link" onClick={onRetry}>
            Retry now
          </button>
        </p>
      );
    }
    case 'banned':
      return (
        <p className="chat-banner error" role="alert">
          You were banned from this chat. You can still watch, but you can no longer send or read new messages.
        </p>
      );
    case 'failed':
      return (
        <p className="chat-banner error" role="alert">
          {c.message}
        </p>
      );
    default:
      return null;
  }
}

function MessageItem({ message, mod, runsEvent, you, api, eventId, onError }: { message: ChatMessage; mod: boolean; runsEvent: boolean; you: string | null; api: ApiClient; eventId: string; onError: (e: string | null) => void }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const actionsId = useId();
  const a = message.author;
  const mine = a.user_id === you;
  const canPunish = mod && !mine && a.role !== 'host';
  // Only the host and co-hosts appoint moderators, and only from among the audience.
  const canAppoint = runsEvent && !mine && (a.role === 'viewer' || a.role === 'speaker');

  async function act(fn: () => Promise<unknown>) {
    setBusy(true);
    onError(null);
    try {
      await fn();
      setOpen(false);
    } catch (e) {
      onError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="chat-msg" data-message-id={message.id}>
      <Avatar name={a.display_name} url={a.avatar_url} />
      <div>
        <span className="who">{a.display_name}</span>
        <RoleBadge role={a.role} /> <time className="muted small" dateTime={message.sent_at ?? undefined}>{formatTime(message.sent_at)}</time>
        <div className="text">{message.text}</div>
      </div>
      {mod ? (
        <button
          type="button"
          className="btn btn-small"
          aria-expanded={open}
          aria-controls={actionsId}
          aria-label={`Moderate message from ${a.display_name}`}
          onClick={() => setOpen((o) => !o)}
        >
          ⋯
        </button>
      ) : (
        <span />
      )}
      {mod && open && (
        <div className="msg-actions" id={actionsId} role="group" aria-label={`Moderation for ${a.display_name}'s message`}>
          <button type="button" className="btn btn-small btn-danger" disabled={busy} onClick={() => act(() => api.deleteMessage(eventId, message.id))}>
            Delete
          </button>
          <button type="button" className="btn btn-small" disabled={busy} onClick={() => act(() => api.pin(eventId, message.id))}>
            Pin
          </button>
          {canPunish && (
            <>
              <button type="button" className="btn btn-small" disabled={busy} onClick={() => act(() => api.timeout(eventId, a.user_id, 60))}>
                Time out 60 s
              </button>
              <button type="button" className="btn btn-small" disabled={busy} onClick={() => act(() => api.timeout(eventId, a.user_id, 600))}>
                Time out 10 min
              </button>
              <button type="button" className="btn btn-small btn-danger" disabled={busy} onClick={() => act(() => api.ban(eventId, a.user_id))}>
                Ban {a.display_name}
              </button>
            </>
          )}
          {canAppoint && (
            <button type="button" className="btn btn-small" disabled={busy} onClick={() => act(() => api.addModerator(eventId, a.user_id))}>
              Make {a.display_name} a moderator
            </button>
          )}
        </div>
      )}
    </li>
  );
}

function PendingItem({ p, you, now, chat }: { p: PendingMessage; you: ChatState['you']; now: number; chat: LiveChat }) {
  const waiting = p.error ? retryWait(p.error, now) : 0;
  const failed = p.status === 'failed';
  return (
    <li className={failed ? 'chat-msg pending failed' : 'chat-msg pending'} data-client-msg-id={p.client_msg_id}>
      <Avatar name={you?.display_name ?? 'You'} url={you?.avatar_url} />
      <div>
        <span className="who">{you?.display_name ?? 'You'}</span>
        <div className="text">{p.text}</div>
        {failed && p.error ? (
          <div className="status error">
            <span role="alert">Not sent: {sendErrorText(p.error)}</span>{' '}
            {isRetryable(p.error) && (
              <button type="button" className="btn-link" disabled={waiting > 0} onClick={() => chat.retry(p.client_msg_id)}>
                {retryLabel(p.error, now)}
              </button>
            )}
            <button type="button" className="btn-link" onClick={() => chat.discard(p.client_msg_id)}>
              Discard
            </button>
          </div>
        ) : (
          <div className="status">Sending…</div>
        )}
      </div>
      <span />
    </li>
  );
}

function footText(state: ChatState, blocked: string | null, length: number): string {
  if (!state.ready || state.connection.kind === 'banned') return '';
  if (blocked) return blocked;
  const slow = state.settings.slow_mode_secs > 0 ? `Slow mode: one message every ${formatDuration(state.settings.slow_mode_secs)}. ` : '';
  return `${slow}${length}/${MAX_LEN} characters`;
}

export function ChatPane({ api, eventId, chat, closedReason }: Props) {
  const { state } = chat;
  const headingId = useId();
  const inputId = useId();
  const [text, setText] = useState('');
  const [modError, setModError] = useState<string | null>(null);
  const log = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const mod = canModerate(state);
  const runsEvent = state.you?.role === 'host' || state.you?.role === 'cohost';
  const you = state.you?.user_id ?? null;

  const hasCountdown =
    state.connection.kind === 'reconnecting' || !!state.timedOutUntil || state.pending.some((p) => p.error?.retryAt) || !!state.lastError?.retryAt;
  const now = useNow(1000, hasCountdown);
  const timedOutFor = secondsLeft(state.timedOutUntil, now);

  // Keep the newest message in view unless the reader scrolled up.
  useLayoutEffect(() => {
    const el = log.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [state.timeline, state.pending, state.heldMine]);

  useEffect(() => setModError(null), [eventId]);

  const open = state.connection.kind === 'open';
  const blocked =
    closedReason ??
    (state.connection.kind === 'banned'
      ? 'You were banned from this chat.'
      : timedOutFor > 0
        ? `A moderator timed you out — you can chat again in ${formatDuration(timedOutFor)}.`
        : !open
          ? 'Chat is not connected yet.'
          : null);

  function submit(e?: FormEvent) {
    e?.preventDefault();
    const t = cleanMessage(text);
    if (!t || blocked) return;
    chat.send(t);
    setText('');
    stick.current = true;
  }

  async function unpin() {
    setModError(null);
    try {
      await api.unpin(eventId);
    } catch (e) {
      setModError(errorText(e));
    }
  }

  return (
    <section className="chat" aria-labelledby={headingId}>
      <div className="chat-head">
        <h2 id={headingId}>Chat</h2>
        <span className="muted small" data-testid="viewer-count">
          {state.ready ? `${state.viewerCount} watching` : ''}
        </span>
      </div>
      <ConnectionBanner state={state} now={now} onRetry={chat.reconnectNow} />
      {state.pinned && (
        <div className="pinned" aria-label="Pinned message">
          <span className="badge">Pinned</span> <strong>{state.pinned.author.display_name}:</strong> {state.pinned.text}
          {mod && (
            <button type="button" className="btn-link" onClick={unpin}>
              Unpin
            </button>
          )}
        </div>
      )}
      {modError && (
        <p className="chat-banner error" role="alert">
          {modError}
        </p>
      )}
      <ol
        className="chat-log"
        ref={log}
        aria-label="Chat messages"
        aria-live="polite"
        aria-relevant="additions"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {state.ready && state.timeline.length === 0 && state.pending.length === 0 && (
          <li className="chat-notice">No messages yet. Say hello!</li>
        )}
        {state.timeline.map((item) =>
          item.kind === 'message' ? (
            <MessageItem key={item.message.id} message={item.message} mod={mod} runsEvent={runsEvent} you={you} api={api} eventId={eventId} onError={setModError} />
          ) : (
            <li key={`n-${item.notice.id}`} className="chat-notice">
              {item.notice.text}
            </li>
          ),
        )}
        {state.heldMine.map((m) => (
          <li key={`h-${m.id}`} className="chat-msg pending">
            <Avatar name={m.author.display_name} url={m.author.avatar_url} />
            <div>
              <span className="who">{m.author.display_name}</span>
              <div className="text">{m.text}</div>
              <div className="status">Held for review: a moderator must approve it before others see it.</div>
            </div>
            <span />
          </li>
        ))}
        {state.pending.map((p) => (
          <PendingItem key={p.client_msg_id} p={p} you={state.you} now={now} chat={chat} />
        ))}
      </ol>
      {state.lastError && (
        <p className="chat-banner error">
          <span role="alert">{sendErrorText(state.lastError)}</span> {retryWait(state.lastError, now) > 0 && `Try again in ${formatDuration(retryWait(state.lastError, now))}.`}
          <button type="button" className="btn-link" onClick={chat.clearError}>
            Dismiss
          </button>
        </p>
      )}
      <form className="chat-form" onSubmit={submit}>
        <label htmlFor={inputId} className="visually-hidden">
          Message
        </label>
        <input
          id={inputId}
          type="text"
          autoComplete="off"
          enterKeyHint="send"
          maxLength={MAX_LEN}
          placeholder={blocked ? 'Sending is unavailable' : 'Say something…'}
          disabled={!!blocked}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={!!blocked || !text.trim()}>
          Send
        </button>
      </form>
      <p className="chat-foot">
        {footText(state, blocked, text.length)}
      </p>
    </section>
  );
}
