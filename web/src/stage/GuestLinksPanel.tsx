// The studio's "Invite links" panel (host and co-hosts): make a guest invite link (speaker, or
// co-host when I am the host; how long it lasts; how many people may use it; whether I approve
// each guest), show its URL once with Copy, and list the links with Withdraw and Regenerate.
import { type FormEvent, useId, useRef, useState } from 'react';
import { Empty, ErrorMessage, Loading } from '../components/ui';
import { type ApiClient, errorText } from '../lib/api';
import { formatWhen } from '../lib/datetime';
import {
  DEFAULT_EXPIRY_SECS,
  EXPIRY_CHOICES,
  LINK_ROLE_LABEL,
  LINK_STATE_LABEL,
  MAX_USES_LIMIT,
  absoluteJoinUrl,
  linkState,
  parseMaxUses,
} from '../lib/guestLinks';
import { useAsync, useNow } from '../lib/hooks';
import type { GuestLink, GuestLinkCreated, GuestLinkRole } from '../lib/types';

interface Props {
  api: ApiClient;
  eventId: string;
  /** Only the host may make co-host links. */
  isHost: boolean;
  /** Where relative join URLs lead (window.location.origin in the app). */
  origin?: string;
  /** Links to show before (or instead of) loading them: for tests. */
  initialLinks?: GuestLink[];
}

/** "Speaker link made 14:05" — names a link in its buttons' labels. */
export function linkName(link: GuestLink): string {
  return `${LINK_ROLE_LABEL[link.role] ?? link.role} link made ${formatWhen(link.created_at)}`;
}

export function GuestLinksPanel({ api, eventId, isHost, origin, initialLinks }: Props) {
  const ids = { title: useId(), role: useId(), expiry: useId(), uses: useId(), usesHint: useId(), approve: useId(), url: useId(), newTitle: useId() };
  const list = useAsync(() => (initialLinks ? Promise.resolve({ links: initialLinks }) : api.guestLinks(eventId)), [api, eventId]);
  const [role, setRole] = useState<GuestLinkRole>('speaker');
  const [expiry, setExpiry] = useState(DEFAULT_EXPIRY_SECS);
  const [uses, setUses] = useState('1');
  const [approve, setApprove] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [fresh, setFresh] = useState<GuestLinkCreated | null>(null);
  const [copy, setCopy] = useState<'copied' | 'failed' | null>(null);
  const urlInput = useRef<HTMLInputElement>(null);
  const now = useNow(30_000);
  const links = list.status === 'ready' ? list.data.links : (initialLinks ?? []);
  const freshUrl = fresh ? absoluteJoinUrl(fresh.join_url, origin ?? (typeof window !== 'undefined' ? window.location.origin : 'http://localhost')) : '';

  function showFresh(created: GuestLinkCreated, replaces?: string) {
    setFresh(created);
    setCopy(null);
    const rest = links.filter((l) => l.id !== created.link.id && l.id !== replaces);
    const replaced = replaces && replaces !== created.link.id ? links.filter((l) => l.id === replaces).map((l) => ({ ...l, revoked_at: l.revoked_at ?? new Date().toISOString() })) : [];
    list.set({ links: [created.link, ...rest, ...replaced] });
    // Then the server's own account of them (the replaced link's state, others' new links).
    if (!initialLinks) list.reload();
    window.setTimeout(() => urlInput.current?.focus(), 0);
  }

  async function act<T>(key: string, what: string, fn: () => Promise<T>): Promise<T | undefined> {
    setBusy(key);
    setError(null);
    setDone(null);
    try {
      return await fn();
    } catch (e) {
      setError(`Could not ${what}: ${errorText(e)}`);
      list.reload();
      return undefined;
    } finally {
      setBusy(null);
    }
  }

  async function create(e: FormEvent) {
    e.preventDefault();
    const max = parseMaxUses(uses);
    if (max === null) {
      setError(`Allow between 1 and ${MAX_USES_LIMIT} uses.`);
      setDone(null);
      return;
    }
    const r = isHost ? role : 'speaker';
    const created = await act('create', 'make the link', () =>
      api.createGuestLink(eventId, { role: r, expires_in_secs: expiry, max_uses: max, needs_approval: approve }),
    );
    if (created) {
      showFresh(created);
      setDone('Link made. Copy it now: it is shown only once.');
    }
  }

  async function withdraw(link: GuestLink) {
    const r = await act(`${link.id}:withdraw`, 'withdraw the link', () => api.withdrawGuestLink(eventId, link.id));
    if (r) {
      list.set({ links: links.map((l) => (l.id === link.id ? r : l)) });
      if (fresh?.link.id === link.id) setFresh(null);
      setDone('Link withdrawn: it no longer works.');
    }
  }

  async function regenerate(link: GuestLink) {
    const created = await act(`${link.id}:regenerate`, 'regenerate the link', () => api.regenerateGuestLink(eventId, link.id));
    if (created) {
      showFresh(created, link.id);
      setDone('New link made; the old one no longer works. Copy the new one now: it is shown only once.');
    }
  }

  async function copyUrl() {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(freshUrl);
      setCopy('copied');
    } catch {
      setCopy('failed');
      urlInput.current?.focus();
      urlInput.current?.select();
    }
  }

  return (
    <section className="card guest-links" aria-labelledby={ids.title} data-testid="guest-links">
      <div className="page-head">
        <h2 id={ids.title}>Invite links</h2>
        <button type="button" className="btn btn-small" aria-label="Refresh invite links" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <p className="small muted">Bring someone without an account on stage: they open the link, pick a name and join this event as a guest.</p>
      {done && (
        <p className="alert alert-info" role="status">
          {done}
        </p>
      )}
      {error && <ErrorMessage message={error} />}

      {fresh && (
        <div className="guest-link-new alert alert-warn" role="group" aria-labelledby={ids.newTitle} data-testid="guest-link-new">
          <h3 id={ids.newTitle}>New invite link</h3>
          <p className="small">Copy it now: it is shown only once. Anyone with it can join as {fresh.link.role === 'cohost' ? 'a co-host' : 'a speaker'}.</p>
          <div className="field">
            <label htmlFor={ids.url}>Invite link URL</label>
            <div className="row">
              <input id={ids.url} ref={urlInput} type="text" readOnly value={freshUrl} onFocus={(e) => e.currentTarget.select()} />
              <button type="button" className="btn btn-primary" aria-label="Copy invite link" onClick={() => void copyUrl()}>
                Copy
              </button>
            </div>
            {copy === 'copied' && (
              <span className="hint" role="status">
                Copied.
              </span>
            )}
            {copy === 'failed' && (
              <span className="hint" role="status">
                Copying is not allowed here: the link is selected above, copy it yourself.
              </span>
            )}
          </div>
          <button type="button" className="btn btn-small" aria-label="Hide the new link" onClick={() => setFresh(null)}>
            Done
          </button>
        </div>
      )}

      <h3>New link</h3>
      <form className="guest-link-form" onSubmit={create} noValidate aria-label="New invite link">
        <div className="field">
          <label htmlFor={ids.role}>Role</label>
          <select id={ids.role} value={isHost ? role : 'speaker'} onChange={(e) => setRole(e.target.value as GuestLinkRole)}>
            <option value="speaker">Speaker</option>
            {isHost && <option value="cohost">Co-host</option>}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.expiry}>Expires after</label>
          <select id={ids.expiry} value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
            {EXPIRY_CHOICES.map((c) => (
              <option key={c.secs} value={c.secs}>
                {c.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.uses}>Max uses</label>
          <input
            id={ids.uses}
            type="number"
            inputMode="numeric"
            min={1}
            max={MAX_USES_LIMIT}
            step={1}
            aria-describedby={ids.usesHint}
            value={uses}
            onChange={(e) => setUses(e.target.value)}
          />
          <span className="hint" id={ids.usesHint}>
            How many people may join with it (1 to {MAX_USES_LIMIT}).
          </span>
        </div>
        <div className="field field-check">
          <input id={ids.approve} type="checkbox" checked={approve} onChange={(e) => setApprove(e.target.checked)} />
          <label htmlFor={ids.approve}>Ask me to approve</label>
        </div>
        <div className="field">
          <button type="submit" className="btn btn-primary" disabled={busy !== null}>
            {busy === 'create' ? 'Making the link…' : 'Create link'}
          </button>
        </div>
      </form>

      <h3>Links</h3>
      {list.status === 'loading' && !initialLinks && <Loading label="Loading invite links…" />}
      {list.status === 'error' && <ErrorMessage message={`Could not load the invite links: ${list.error}`} onRetry={list.reload} />}
      {(list.status === 'ready' || (list.status === 'loading' && initialLinks)) && links.length === 0 && <Empty>No invite links yet.</Empty>}
      {links.length > 0 && (
        <ul className="panel-list stage-list" data-testid="guest-link-list">
          {links.map((l) => {
            const state = linkState(l, now);
            const name = linkName(l);
            return (
              <li key={l.id} data-testid="guest-link" data-link-id={l.id} data-state={state}>
                <div className="guest-link-meta">
                  <strong>{LINK_ROLE_LABEL[l.role] ?? l.role}</strong>
                  <span className={state === 'active' ? 'badge badge-live' : 'badge'} data-testid="guest-link-state">
                    {LINK_STATE_LABEL[state]}
                  </span>
                  <span className="small">
                    {l.uses} of {l.max_uses} {l.max_uses === 1 ? 'use' : 'uses'}
                  </span>
                  <span className="small muted">
                    {state === 'withdrawn'
                      ? `withdrawn ${formatWhen(l.revoked_at)}`
                      : state === 'expired'
                        ? `expired ${formatWhen(l.expires_at)}`
                        : `expires ${formatWhen(l.expires_at)}`}
                  </span>
                  {l.needs_approval && <span className="small muted">you approve each guest</span>}
                </div>
                {state !== 'withdrawn' && (
                  <div className="row" role="group" aria-label={`Actions for the ${name}`}>
                    {state === 'active' && (
                      <button
                        type="button"
                        className="btn btn-small btn-danger"
                        disabled={busy !== null}
                        aria-label={`Withdraw ${name}`}
                        onClick={() => void withdraw(l)}
                      >
                        {busy === `${l.id}:withdraw` ? 'Withdrawing…' : 'Withdraw'}
                      </button>
                    )}
                    <button
                      type="button"
                      className="btn btn-small"
                      disabled={busy !== null}
                      aria-label={`Regenerate ${name}`}
                      onClick={() => void regenerate(l)}
                    >
                      {busy === `${l.id}:regenerate` ? 'Regenerating…' : 'Regenerate'}
                    </button>
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
