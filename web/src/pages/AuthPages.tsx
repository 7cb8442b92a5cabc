import { type FormEvent, useState } from 'react';
import { ErrorMessage } from '../components/ui';
import { useAuth } from '../lib/auth';
import { usePageTitle } from '../lib/hooks';
import { errorText } from '../lib/api';
import { Link, navigate, safeNext, useLocation } from '../lib/router';


export function SignInPage() {
  usePageTitle('Sign in');
  const { api, endedReason } = useAuth();
  const { search } = useLocation();
  const next = safeNext(search.get('next'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.signIn(email.trim(), password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <div className="narrow card">
      <h1>Sign in</h1>
      {endedReason && !error && <p className="alert alert-warn">{endedReason}</p>}
      {error && <ErrorMessage message={error} />}
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="signin-email">Email</label>
          <input id="signin-email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="signin-password">Password</label>
          <input id="signin-password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="muted small form-foot">
        New to stagecast? <Link to={next !== '/' ? `/signup?next=${encodeURIComponent(next)}` : '/signup'}>Create an account</Link>
      </p>
    </div>
  );
}

export function SignUpPage() {
  usePageTitle('Sign up');
  const { api } = useAuth();
  const { search } = useLocation();
  const next = safeNext(search.get('next'));
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.signUp(email.trim(), password, name.trim());
      navigate(next, { replace: true });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <div className="narrow card">
      <h1>Create your account</h1>
      {error && <ErrorMessage message={error} />}
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="signup-name">Display name</label>
          <input id="signup-name" type="text" autoComplete="nickname" required maxLength={50} value={name} onChange={(e) => setName(e.target.value)} />
          <span className="hint">Shown next to your chat messages. Up to 50 characters.</span>
        </div>
        <div className="field">
          <label htmlFor="signup-email">Email</label>
          <input id="signup-email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="signup-password">Password</label>
          <input
            id="signup-password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            maxLength={128}
            aria-describedby="signup-password-hint"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <span className="hint" id="signup-password-hint">
            8 to 128 characters.
          </span>
        </div>
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? 'Creating account…' : 'Sign up'}
        </button>
      </form>
      <p className="muted small form-foot">
        Already have an account? <Link to={next !== '/' ? `/signin?next=${encodeURIComponent(next)}` : '/signin'}>Sign in</Link>
      </p>
    </div>
  );
}
