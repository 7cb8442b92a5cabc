import { type FormEvent, useState } from 'react';
import { Avatar, ErrorMessage } from '../components/ui';
import { useAuth, useUser } from '../lib/auth';
import { useAction, usePageTitle } from '../lib/hooks';
import { navigate } from '../lib/router';

export function ProfilePage() {
  usePageTitle('Your profile');
  const { api } = useAuth();
  const user = useUser();
  const [name, setName] = useState(user.display_name);
  const [avatar, setAvatar] = useState(user.avatar_url ?? '');
  const [saved, setSaved] = useState(false);
  const [copied, setCopied] = useState(false);
  const save = useAction();
  const signOut = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const patch: { display_name?: string; avatar_url?: string } = {};
    if (name.trim() !== user.display_name) patch.display_name = name.trim();
    if (avatar.trim() !== (user.avatar_url ?? '')) patch.avatar_url = avatar.trim();
    if (Object.keys(patch).length === 0) {
      save.setError('Nothing has changed. Edit your name or avatar URL, then save.');
      return;
    }
    const ok = await save.run(() => api.updateMe(patch));
    if (ok) setSaved(true);
  }

  async function copyId() {
    try {
      await navigator.clipboard.writeText(user.id);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }

  const preview = avatar.trim();
  return (
    <div className="narrow stack">
      <section className="card">
        <h1>Your profile</h1>
        {save.error && <ErrorMessage message={save.error} />}
        {saved && (
          <p className="alert alert-info" role="status">
            Profile saved.
          </p>
        )}
        <form onSubmit={submit} noValidate>
          <div className="row form-row">
            <Avatar name={name || user.display_name} url={preview || null} size={72} />
            <p className="muted small">
              Preview. Uploading an image is not available yet: paste the URL of an image that is already online.
            </p>
          </div>
          <div className="field">
            <label htmlFor="profile-name">Display name</label>
            <input id="profile-name" type="text" maxLength={50} required value={name} onChange={(e) => setName(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="profile-avatar">Avatar image URL</label>
            <input
              id="profile-avatar"
              type="url"
              inputMode="url"
              placeholder="https://…"
              aria-describedby="profile-avatar-hint"
              value={avatar}
              onChange={(e) => setAvatar(e.target.value)}
            />
            <span className="hint" id="profile-avatar-hint">
              Leave empty to remove your avatar.
            </span>
          </div>
          <button type="submit" className="btn btn-primary" disabled={save.busy}>
            {save.busy ? 'Saving…' : 'Save profile'}
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="account-title">
        <h2 id="account-title">Account</h2>
        <p>
          Email: <strong>{user.email}</strong>
        </p>
        <p>
          Your user ID (share it with a host who wants to make you a co-host): <span className="mono" data-testid="user-id">{user.id}</span>{' '}
          <button type="button" className="btn btn-small" onClick={copyId}>
            {copied ? 'Copied' : 'Copy ID'}
          </button>
        </p>
        {signOut.error && <ErrorMessage message={signOut.error} />}
        <button
          type="button"
          className="btn btn-danger"
          disabled={signOut.busy}
          onClick={async () => {
            await signOut.run(() => api.signOut());
            navigate('/signin', { replace: true });
          }}
        >
          Sign out
        </button>
      </section>
    </div>
  );
}
