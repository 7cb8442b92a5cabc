import { type ReactNode, useEffect } from 'react';
import { Layout } from './components/Layout';
import { signInPath, useAuth } from './lib/auth';
import { guestEventOf, guestMayOpen } from './lib/guestLinks';
import { usePageTitle } from './lib/hooks';
import { Link, matchPath, navigate, safeNext, useLocation } from './lib/router';
import { SignInPage, SignUpPage } from './pages/AuthPages';
import { DeveloperPage } from './pages/DeveloperPage';
import { EditEventPage, NewEventPage } from './pages/EventFormPages';
import { EventPage } from './pages/EventPage';
import { HomePage } from './pages/HomePage';
import { JoinPage } from './pages/JoinPage';
import { ProfilePage } from './pages/ProfilePage';
import { RecordingPage } from './pages/RecordingPage';
import { RecordingsPage } from './pages/RecordingsPage';
import { StudioPage } from './pages/StudioPage';

interface Route {
  path: string;
  /** required: signed in; guest: signed out (sign-in pages); any: either (a guest invite link). */
  auth: 'required' | 'guest' | 'any';
  render: (params: Record<string, string>) => ReactNode;
}

// More specific patterns first: /events/new before /events/:id.
const ROUTES: Route[] = [
  { path: '/', auth: 'required', render: () => <HomePage /> },
  { path: '/signin', auth: 'guest', render: () => <SignInPage /> },
  { path: '/signup', auth: 'guest', render: () => <SignUpPage /> },
  { path: '/join/:token', auth: 'any', render: (p) => <JoinPage key={p.token} token={p.token} /> },
  { path: '/profile', auth: 'required', render: () => <ProfilePage /> },
  { path: '/events/new', auth: 'required', render: () => <NewEventPage /> },
  { path: '/events/:id/studio', auth: 'required', render: (p) => <StudioPage key={p.id} id={p.id} /> },
  { path: '/events/:id/edit', auth: 'required', render: (p) => <EditEventPage key={p.id} id={p.id} /> },
  { path: '/events/:id', auth: 'required', render: (p) => <EventPage key={p.id} id={p.id} /> },
  { path: '/recordings', auth: 'required', render: () => <RecordingsPage /> },
  { path: '/recordings/:id', auth: 'required', render: (p) => <RecordingPage key={p.id} id={p.id} /> },
  { path: '/developer', auth: 'required', render: () => <DeveloperPage /> },
];

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function NotFound() {
  usePageTitle('Page not found');
  return (
    <div className="narrow card">
      <h1>Page not found</h1>
      <p>There is nothing at this address. Check the link, or go back to the list of events.</p>
      <Link to="/" className="btn btn-primary">
        Go to events
      </Link>
    </div>
  );
}

export function App() {
  const { session } = useAuth();
  const { pathname, search } = useLocation();
  const guestEvent = guestEventOf(session?.user);

  // A guest's session works for their event only: every other page would answer 403s.
  if (session && guestEvent && !guestMayOpen(pathname, guestEvent)) {
    return (
      <Layout>
        <Redirect to={`/events/${encodeURIComponent(guestEvent)}`} />
      </Layout>
    );
  }

  let page: ReactNode = <NotFound />;
  for (const r of ROUTES) {
    const params = matchPath(r.path, pathname);
    if (!params) continue;
    if (r.auth === 'required' && !session) page = <Redirect to={signInPath(pathname + (search.size ? `?${search}` : ''))} />;
    else if (r.auth === 'guest' && session) page = <Redirect to={safeNext(search.get('next'))} />;
    else page = r.render(params);
    break;
  }
  return <Layout>{page}</Layout>;
}
