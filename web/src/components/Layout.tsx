import { type ReactNode, useEffect, useRef } from 'react';
import { useAuth } from '../lib/auth';
import { guestEventOf } from '../lib/guestLinks';
import { Link, navigate, useLocation } from '../lib/router';
import { Avatar } from './ui';

export function Layout({ children }: { children: ReactNode }) {
  const { api, user } = useAuth();
  const guestEvent = guestEventOf(user);
  const { pathname } = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // Move focus to the new page on navigation, so keyboard and screen-reader users start there.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [pathname]);

  const current = (path: string) => (pathname === path ? 'page' : undefined);
  const guestHome = guestEvent ? `/events/${encodeURIComponent(guestEvent)}` : '/';

  async function leave() {
    await api.signOut();
    navigate('/signin', { replace: true });
  }

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <Link to={guestHome} className="brand">
          stagecast
        </Link>
        <nav className="app-nav" aria-label="Main">
          {user && guestEvent ? (
            <>
              <Link to={guestHome} aria-current={current(guestHome)}>
                Your event
              </Link>
              <span className="nav-guest" data-testid="guest-badge">
                <Avatar name={user.display_name} url={user.avatar_url} size={24} />
                <span className="nav-guest-name">Guest: {user.display_name}</span>
              </span>
              <button type="button" className="btn btn-small" onClick={() => void leave()}>
                Leave
              </button>
            </>
          ) : user ? (
            <>
              <Link to="/" aria-current={current('/')}>
                Events
              </Link>
              <Link to="/events/new" aria-current={current('/events/new')}>
                Schedule
              </Link>
              <Link to="/recordings" aria-current={current('/recordings')}>
                Recordings
              </Link>
              <Link to="/developer" aria-current={current('/developer')}>
                Developer
              </Link>
              <Link to="/profile" aria-current={current('/profile')}>
                <Avatar name={user.display_name} url={user.avatar_url} size={24} />
                <span className="nav-name">{user.display_name}</span>
              </Link>
            </>
          ) : (
            <>
              <Link to="/signin" aria-current={current('/signin')}>
                Sign in
              </Link>
              <Link to="/signup" aria-current={current('/signup')}>
                Sign up
              </Link>
            </>
          )}
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
