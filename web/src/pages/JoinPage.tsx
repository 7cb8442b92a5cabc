// /join/:token: someone opens a host's invite link, picks a name (and maybe a photo) and joins
// the event as a guest. Their guest session replaces any session this browser held.
import { type FormEvent, useState } from 'react';
import { ErrorMessage, Loading, StatusBadge } from '../components/ui';
import { errorText } from '../lib/api';
import { useAuth } from '../lib/auth';
import { formatWhen } from '../lib/datetime';
import { guestEventOf, roleWithArticle } from '../lib/guestLinks';
import { useAsync, usePageTitle } from '../lib/hooks';
import { navigate } from '../lib/router';
import type { GuestLinkInfo } from '../lib/types';

/** "You're invited to join <title> as a speaker". */
export function invitedLine(info: Pick<GuestLinkInfo, 'role'> & { event: { title: string } }): string {
  return `You're invited to join ${info.event.title} as ${roleWithArticle(info.role)}`;
}

export function JoinPage({ token }: { token: string }) {
  const { api } = useAuth();
  const info = useAsync(() => api.guestLinkInfo(token), [api, token]);
  usePageTitle(info.status === 'ready' ? `Join ${info.data.event.title}` : 'Join an event');
  if (info.status === 'loading') return <Loading label="Loading the invitation…" />;
  if (info.status === 'error') {
    return (
      <div className="narrow card">
        <h1>This invite link does not work</h1>
        <ErrorMessage message={info.error} onRetry={info.retryable ? info.reload : undefined} />
      </div>
    );
  }
  return <JoinForm token={token} info={info.data} />;
}

export function JoinForm({ token, info }: { token: string; info: GuestLinkInfo }) {
  const { api, user } = useAuth();
  const [name, setName] = useState('');
  const [photo, setPhoto] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const over = info.event.status === 'ended' || info.event.status === 'cancelled';
  const alreadyGuestHere = guestEventOf(user) === info.event.id;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) {
      setError('Enter a display name: everyone on the stage and in the chat sees it.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const joined = await api.joinAsGuest(token, name.trim(), photo.trim() || undefined);
      navigate(`/events/${encodeURIComponent(joined.event_id)}`, { replace: true });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <div className="narrow card" data-testid="join-page">
      <h1>{invitedLine(info)}</h1>
      <div className="row">
        <StatusBadge status={info.event.status} />
        {info.event.starts_at && <span className="muted small">Starts {formatWhen(info.event.starts_at)}</span>}
      </div>
      {info.event.description && <p className="text">{info.event.description}</p>}
      {info.needs_approval && (
        <p className="small">The host approves each guest: you join the audience with your hand raised, and go on stage once the host invites you.</p>
      )}
      {!info.needs_approval && (
        <p className="small" data-testid="join-backstage-hint">
          You wait backstage when you join: the host sees and hears you there, and brings you on air when it is time.
        </p>
      )}
      {info.expires_at && <p className="muted small">This link expires {formatWhen(info.expires_at)}.</p>}
      {over ? (
        <ErrorMessage message="This event is over, so it can no longer be joined." />
      ) : (
        <>
          {user && (
            <p className="alert alert-warn" data-testid="join-switch-notice">
              {alreadyGuestHere
                ? `You already joined this event as the guest ${user.display_name}. Joining again makes a new guest identity for it.`
                : `You are signed in as ${user.display_name}. Joining switches this browser to a guest identity for this event only: you will be signed out of ${user.guest_event_id ? 'your current guest session' : 'your account'} here.`}
            </p>
          )}
          {error && <ErrorMessage message={error} />}
          <form onSubmit={submit} noValidate>
            <div className="field">
              <label htmlFor="join-name">Display name</label>
              <input
                id="join-name"
                type="text"
                autoComplete="nickname"
                required
                maxLength={50}
                aria-describedby="join-name-hint"
                value={name}
                onChange={(e) => setName(e.target.value)}
              />
              <span className="hint" id="join-name-hint">
                Shown on the stage and next to your chat messages. Up to 50 characters.
              </span>
            </div>
            <div className="field">
              <label htmlFor="join-photo">Photo URL (optional)</label>
              <input
                id="join-photo"
                type="url"
                inputMode="url"
                placeholder="https://"
                aria-describedby="join-photo-hint"
                value={photo}
                onChange={(e) => setPhoto(e.target.value)}
              />
              <span className="hint" id="join-photo-hint">
                The http(s) address of an image of you, or leave it empty.
              </span>
            </div>
            <button className="btn btn-primary" type="submit" disabled={busy}>
              {busy ? 'Joining…' : 'Join'}
            </button>
          </form>
        </>
      )}
    </div>
  );
}
