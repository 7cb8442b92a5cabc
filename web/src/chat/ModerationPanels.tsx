// Studio panels for moderators: slow mode, blocked terms, held messages, who is banned or
// moderating, and the audit log.
import { type FormEvent, type ReactNode, useCallback, useEffect, useId, useState } from 'react';
import { Avatar, Empty, ErrorMessage, Loading } from '../components/ui';
import { errorText, type ApiClient } from '../lib/api';
import type { ChatState } from '../lib/chatState';
import { nameOf } from '../lib/chatState';
import { formatDuration, formatWhen } from '../lib/datetime';
import { useAction } from '../lib/hooks';
import type { AuditPage, BlockedTermMode, ChatMessage, ModerationAction, Person, Standing, StandingEntry } from '../lib/types';

const SLOW_MODE_CHOICES = [0, 5, 10, 30, 60, 120, 300];

export function ChatSettingsPanel({ api, eventId, state }: { api: ApiClient; eventId: string; state: ChatState }) {
  const ids = { slow: useId(), terms: useId(), termsHint: useId() };
  const current = state.settings;
  const [slow, setSlow] = useState(current.slow_mode_secs);
  const [terms, setTerms] = useState(current.blocked_terms.join('\n'));
  const [mode, setMode] = useState<BlockedTermMode>(current.blocked_term_mode);
  const [saved, setSaved] = useState<string | null>(null);
  const slowAction = useAction();
  const termsAction = useAction();

  // Follow changes made by another moderator.
  useEffect(() => setSlow(current.slow_mode_secs), [current.slow_mode_secs]);
  const currentTerms = current.blocked_terms.join('\n');
  useEffect(() => {
    setTerms(currentTerms);
    setMode(current.blocked_term_mode);
  }, [currentTerms, current.blocked_term_mode]);

  async function saveSlow(e: FormEvent) {
    e.preventDefault();
    setSaved(null);
    const ok = await slowAction.run(() => api.updateChatSettings(eventId, { slow_mode_secs: slow }));
    if (ok) setSaved(slow > 0 ? `Slow mode set to ${formatDuration(slow)}.` : 'Slow mode turned off.');
  }

  async function saveTerms(e: FormEvent) {
    e.preventDefault();
    setSaved(null);
    const list = terms
      .split('\n')
      .map((t) => t.trim())
      .filter(Boolean);
    const ok = await termsAction.run(() => api.updateChatSettings(eventId, { blocked_terms: list, blocked_term_mode: mode }));
    if (ok) setSaved(`Blocked terms saved (${list.length}).`);
  }

  const choices = SLOW_MODE_CHOICES.includes(slow) ? SLOW_MODE_CHOICES : [...SLOW_MODE_CHOICES, slow].sort((a, b) => a - b);
  return (
    <section className="card" aria-labelledby="settings-title">
      <h2 id="settings-title">Chat settings</h2>
      {saved && (
        <p className="alert alert-info" role="status">
          {saved}
        </p>
      )}
      <form onSubmit={saveSlow}>
        {slowAction.error && <ErrorMessage message={slowAction.error} />}
        <div className="field">
          <label htmlFor={ids.slow}>Slow mode</label>
          <div className="row">
            <select id={ids.slow} value={slow} onChange={(e) => setSlow(Number(e.target.value))} className="select-inline">
              {choices.map((s) => (
                <option key={s} value={s}>
                  {s === 0 ? 'Off' : `One message every ${formatDuration(s)}`}
                </option>
              ))}
            </select>
            <button type="submit" className="btn" disabled={slowAction.busy || slow === current.slow_mode_secs}>
              Save slow mode
            </button>
          </div>
        </div>
      </form>
      <form onSubmit={saveTerms}>
        {termsAction.error && <ErrorMessage message={termsAction.error} />}
        <div className="field">
          <label htmlFor={ids.terms}>Blocked terms</label>
          <textarea id={ids.terms} rows={4} aria-describedby={ids.termsHint} value={terms} onChange={(e) => setTerms(e.target.value)} />
          <span className="hint" id={ids.termsHint}>
            One per line. Messages containing one are refused or held for review.
          </span>
        </div>
        <fieldset className="field">
          <legend>When a message contains a blocked term</legend>
          <div className="radio-row">
            <label>
              <input type="radio" name={`${ids.terms}-mode`} value="reject" checked={mode === 'reject'} onChange={() => setMode('reject')} /> Reject it
            </label>
            <label>
              <input type="radio" name={`${ids.terms}-mode`} value="hold" checked={mode === 'hold'} onChange={() => setMode('hold')} /> Hold it for review
            </label>
          </div>
        </fieldset>
        <button type="submit" className="btn" disabled={termsAction.busy}>
          Save blocked terms
        </button>
      </form>
    </section>
  );
}

/** How often held messages are re-read: nothing on the socket tells moderators a new one arrived. */
const HELD_POLL_MS = 10_000;

export function HeldMessagesPanel({ api, eventId }: { api: ApiClient; eventId: string }) {
  const [messages, setMessages] = useState<ChatMessage[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const r = await api.held(eventId);
      setMessages(r.messages);
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, eventId]);

  useEffect(() => {
    void load();
    const t = window.setInterval(() => void load(), HELD_POLL_MS);
    return () => window.clearInterval(t);
  }, [load]);

  async function review(m: ChatMessage, verdict: 'approve' | 'deny') {
    setBusyId(m.id);
    setError(null);
    try {
      await api.reviewHeld(eventId, m.id, verdict);
      setMessages((list) => list?.filter((x) => x.id !== m.id) ?? null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusyId(null);
    }
  }

  return (
    <section className="card" aria-labelledby="held-title">
      <div className="page-head">
        <h2 id="held-title">Held messages</h2>
        <button type="button" className="btn btn-small" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {error && <ErrorMessage message={error} />}
      {messages === null && !error && <Loading label="Loading held messages…" />}
      {messages?.length === 0 && <Empty>No messages are waiting for review.</Empty>}
      {messages && messages.length > 0 && (
        <ul className="panel-list">
          {messages.map((m) => (
            <li key={m.id}>
              <div className="host-line">
                <Avatar name={m.author.display_name} url={m.author.avatar_url} />
                <strong>{m.author.display_name}</strong>
              </div>
              <p className="text">{m.text}</p>
              <div className="row">
                <button type="button" className="btn btn-small" disabled={busyId === m.id} onClick={() => review(m, 'approve')}>
                  Approve
                </button>
                <button type="button" className="btn btn-small btn-danger" disabled={busyId === m.id} onClick={() => review(m, 'deny')}>
                  Deny
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function describeAction(a: ModerationAction, state: ChatState): string {
  const actor = nameOf(state, a.actor_id, 'You');
  const target = nameOf(state, a.target_user_id);
  const reason = a.reason ? ` (${a.reason})` : '';
  switch (a.kind) {
    case 'delete_message':
      return `${actor} deleted a message${a.message ? ` by ${a.message.author.display_name}: “${a.message.text}”` : ''}${reason}`;
    case 'timeout':
      return `${actor} timed out ${target} for ${formatDuration(a.duration_secs ?? 0)}${reason}`;
    case 'ban':
      return `${actor} banned ${target}${reason}`;
    case 'unban':
      return `${actor} unbanned ${target}${reason}`;
    case 'add_moderator':
      return `${actor} made ${target} a moderator`;
    case 'remove_moderator':
      return `${actor} removed ${target} as moderator`;
    case 'slow_mode': {
      const secs = a.settings?.slow_mode_secs ?? a.duration_secs ?? 0;
      return secs > 0 ? `${actor} set slow mode to ${formatDuration(secs)}` : `${actor} turned slow mode off`;
    }
    case 'blocked_terms':
      return `${actor} updated blocked terms${a.settings ? ` (${a.settings.blocked_terms.length}, ${a.settings.blocked_term_mode})` : ''}`;
    case 'pin':
      return `${actor} pinned a message${a.message ? `: “${a.message.text}”` : ''}`;
    case 'unpin':
      return `${actor} unpinned the message`;
    case 'approve':
      return `${actor} approved a held message${a.message ? ` by ${a.message.author.display_name}` : ''}`;
    case 'deny':
      return `${actor} denied a held message${a.message ? ` by ${a.message.author.display_name}` : ''}`;
    default:
      return `${actor}: ${a.kind}`;
  }
}

/**
 * The ids of the ban entries that still stand, in a newest-first log: a user's newest ban or
 * unban entry decides, so an old ban followed by an unban offers no "Unban" button. Pages are
 * newest first, so an entry not loaded yet can never be newer than a loaded one.
 */
export function standingBans(actions: ModerationAction[]): Set<string> {
  const decided = new Set<string>();
  const standing = new Set<string>();
  for (const a of actions) {
    if ((a.kind !== 'ban' && a.kind !== 'unban') || !a.target_user_id || decided.has(a.target_user_id)) continue;
    decided.add(a.target_user_id);
    if (a.kind === 'ban') standing.add(a.id);
  }
  return standing;
}

export function AuditLogPanel({ api, eventId, state }: { api: ApiClient; eventId: string; state: ChatState }) {
  const [page, setPage] = useState<AuditPage | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [unbanning, setUnbanning] = useState<string | null>(null);

  const load = useCallback(
    async (before: string | null) => {
      setLoading(true);
      setError(null);
      try {
        const r = await api.audit(eventId, before);
        setPage((p) => (before && p ? { actions: [...p.actions, ...r.actions], next_before: r.next_before } : r));
      } catch (e) {
        setError(errorText(e));
      } finally {
        setLoading(false);
      }
    },
    [api, eventId],
  );

  // Re-read the newest page whenever a moderation action is seen in the room.
  const lastNotice = state.timeline.filter((i) => i.kind === 'notice').length;
  useEffect(() => {
    void load(null);
  }, [load, lastNotice]);

  async function unban(userId: string) {
    setUnbanning(userId);
    setError(null);
    try {
      await api.unban(eventId, userId);
      await load(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setUnbanning(null);
    }
  }

  const unbannable = standingBans(page?.actions ?? []);

  return (
    <section className="card" aria-labelledby="audit-title" aria-busy={loading}>
      <h2 id="audit-title">Moderation log</h2>
      {error && <ErrorMessage message={error} onRetry={() => void load(null)} />}
      {page && page.actions.length === 0 && <Empty>No moderation actions yet.</Empty>}
      {page && page.actions.length > 0 && (
        <ul className="panel-list">
          {page.actions.map((a) => (
            <li key={a.id}>
              <div>{describeAction(a, state)}</div>
              <div className="row">
                <time className="muted small" dateTime={a.at ?? undefined}>
                  {formatWhen(a.at)}
                </time>
                {unbannable.has(a.id) && a.target_user_id && (
                  <button type="button" className="btn btn-small" disabled={unbanning === a.target_user_id} onClick={() => unban(a.target_user_id!)}>
                    Unban {nameOf(state, a.target_user_id)}
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
      {loading && <Loading label="Loading the log…" />}
      {!loading && page?.next_before && (
        <button type="button" className="btn" onClick={() => void load(page.next_before)}>
          Load older actions
        </button>
      )}
    </section>
  );
}

function personName(p: Person): string {
  return p.display_name ?? 'a deleted account';
}

/**
 * Who moderates, who is banned and whose timeout is running, with the way back for each: unban,
 * or remove a moderator. Re-read whenever a moderation notice appears in the room.
 */
export function StandingPanel({ api, eventId, state, canAppoint }: { api: ApiClient; eventId: string; state: ChatState; canAppoint: boolean }) {
  const [standing, setStanding] = useState<Standing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setStanding(await api.standing(eventId));
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, eventId]);

  const lastNotice = state.timeline.filter((i) => i.kind === 'notice').length;
  useEffect(() => {
    void load();
  }, [load, lastNotice]);

  async function undo(key: string, call: () => Promise<unknown>) {
    setBusy(key);
    setError(null);
    try {
      await call();
      await load();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(null);
    }
  }

  function list(title: string, entries: StandingEntry[], empty: string, line: (e: StandingEntry) => string, button?: (e: StandingEntry) => ReactNode) {
    return (
      <>
        <h3>{title}</h3>
        {entries.length === 0 ? (
          <Empty>{empty}</Empty>
        ) : (
          <ul className="panel-list">
            {entries.map((e) => (
              <li key={e.user.user_id}>
                <div className="host-line">
                  <Avatar name={personName(e.user)} url={e.user.avatar_url} />
                  <strong>{personName(e.user)}</strong>
                </div>
                <div className="row">
                  <span className="muted small">{line(e)}</span>
                  {button?.(e)}
                </div>
              </li>
            ))}
          </ul>
        )}
      </>
    );
  }

  return (
    <section className="card" aria-labelledby="standing-title" aria-busy={standing === null && !error}>
      <div className="page-head">
        <h2 id="standing-title">Moderators and restrictions</h2>
        <button type="button" className="btn btn-small" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {error && <ErrorMessage message={error} onRetry={() => void load()} />}
      {standing === null && !error && <Loading label="Loading who is banned or moderating…" />}
      {standing && (
        <>
          {list(
            'Moderators',
            standing.moderators,
            'No moderators appointed. Appoint one from a message in the chat.',
            (e) => `appointed by ${personName(e.by)} · ${formatWhen(e.since)}`,
            canAppoint
              ? (e) => (
                  <button
                    type="button"
                    className="btn btn-small"
                    disabled={busy === `mod:${e.user.user_id}`}
                    onClick={() => void undo(`mod:${e.user.user_id}`, () => api.removeModerator(eventId, e.user.user_id))}
                  >
                    Remove {personName(e.user)} as moderator
                  </button>
                )
              : undefined,
          )}
          {list('Banned', standing.banned, 'Nobody is banned.', (e) => `banned by ${personName(e.by)} · ${formatWhen(e.since)}`, (e) => (
            <button
              type="button"
              className="btn btn-small"
              disabled={busy === `ban:${e.user.user_id}`}
              onClick={() => void undo(`ban:${e.user.user_id}`, () => api.unban(eventId, e.user.user_id))}
            >
              Unban {personName(e.user)}
            </button>
          ))}
          {list(
            'Timed out',
            standing.timed_out,
            'Nobody is timed out.',
            (e) => `by ${personName(e.by)} · until ${formatWhen(e.until ?? null)}`,
          )}
        </>
      )}
    </section>
  );
}
