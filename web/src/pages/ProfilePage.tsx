import { type ChangeEvent, type FormEvent, useRef, useState } from 'react';
import { Avatar, ErrorMessage } from '../components/ui';
import { useAuth, useUser } from '../lib/auth';
import { ApiError } from '../lib/api';
import { AVATAR_ACCEPT, readAndCheckAvatarFile } from '../lib/avatarFile';
import { useAction, usePageTitle } from '../lib/hooks';
import { navigate } from '../lib/router';

export function ProfilePage() {
  usePageTitle('Your profile');
  const { api } = useAuth();
  const user = useUser();
  const [name, setName] = useState(user.display_name);
  const [saved, setSaved] = useState(false);
  const [photoNotice, setPhotoNotice] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const save = useAction();
  const photo = useAction();
  const signOut = useAction();
  const fileInput = useRef<HTMLInputElement>(null);

  async function choosePhoto(e: ChangeEvent<HTMLInputElement>) {
    const input = e.currentTarget;
    const file = input.files?.[0];
    setPhotoNotice(null);
    if (!file) return;
    const ok = await photo.run(async () => {
      const check = await readAndCheckAvatarFile(file);
      if (!check.ok) throw new ApiError({ status: 0, code: 'invalid_file', detail: check.message });
      return api.uploadAvatar(file, check.type);
    });
    // Choosing the same file again must fire another change.
    input.value = '';
    if (ok) setPhotoNotice('Photo updated.');
  }

  async function removePhoto() {
    setPhotoNotice(null);
    const ok = await photo.run(() => api.removeAvatar());
    if (ok) {
      setPhotoNotice('Photo removed.');
      fileInput.current?.focus();
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    if (name.trim() === user.display_name) {
      save.setError('Nothing has changed. Edit your name, then save.');
      return;
    }
    const ok = await save.run(() => api.updateMe({ display_name: name.trim() }));
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

  return (
    <div className="narrow stack">
      <section className="card">
        <h1>Your profile</h1>
        <div className="avatar-editor" aria-busy={photo.busy}>
          <Avatar name={user.display_name} url={user.avatar_url} size={96} />
          <div className="avatar-editor-body">
            <h2>Photo</h2>
            <p className="muted small" id="profile-photo-hint">
              PNG, JPEG or WebP, at most 2 MB. Everyone who sees your name in chat and on stage sees it.
            </p>
            <div className="row">
              <label className={`btn btn-small file-button${photo.busy ? ' is-disabled' : ''}`}>
                {photo.busy ? 'Uploading…' : 'Upload a photo'}
                <input
                  ref={fileInput}
                  className="visually-hidden"
                  type="file"
                  accept={AVATAR_ACCEPT}
                  aria-describedby="profile-photo-hint"
                  disabled={photo.busy}
                  onChange={choosePhoto}
                />
              </label>
              {user.avatar_url && (
                <button type="button" className="btn btn-small btn-danger" disabled={photo.busy} onClick={removePhoto}>
                  Remove photo
                </button>
              )}
            </div>
            {photo.busy && (
              <p className="muted small" role="status">
                Uploading your photo…
              </p>
            )}
            {photo.error && <ErrorMessage message={photo.error} />}
            {photoNotice && !photo.error && (
              <p className="alert alert-info" role="status">
                {photoNotice}
              </p>
            )}
          </div>
        </div>
        {save.error && <ErrorMessage message={save.error} />}
        {saved && (
          <p className="alert alert-info" role="status">
            Profile saved.
          </p>
        )}
        <form onSubmit={submit} noValidate>
          <div className="field">
            <label htmlFor="profile-name">Display name</label>
            <input id="profile-name" type="text" maxLength={50} required value={name} onChange={(e) => setName(e.target.value)} />
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
