// The signed-in session for the whole app: one ApiClient, its tokens in localStorage, and a
// redirect to sign-in once the session is over.
import { type ReactNode, createContext, useContext, useEffect, useMemo, useState } from 'react';
import { ApiClient } from './api';
import { SESSION_KEY, type Session, storageSessionStore } from './session';
import { navigate } from './router';
import type { User } from './types';

interface AuthValue {
  api: ApiClient;
  session: Session | null;
  user: User | null;
  /** Why the last session ended, to show on the sign-in page. */
  endedReason: string | null;
}

const AuthContext = createContext<AuthValue | null>(null);

/** The path to come back to after signing in. */
function currentPath() {
  return window.location.pathname + window.location.search;
}

export function signInPath(next = currentPath()): string {
  return next && next !== '/' && !next.startsWith('/signin') && !next.startsWith('/signup') ? `/signin?next=${encodeURIComponent(next)}` : '/signin';
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => storageSessionStore(window.localStorage).get());
  const [endedReason, setEndedReason] = useState<string | null>(null);

  const api = useMemo(
    () =>
      new ApiClient({
        store: storageSessionStore(window.localStorage),
        onSession: (s) => {
          setSession(s);
          if (s) setEndedReason(null);
        },
        onSignedOut: (reason) => {
          setEndedReason(reason.detail || 'Your session has ended. Sign in again to continue.');
          navigate(signInPath(), { replace: true });
        },
      }),
    [],
  );

  // Another tab signed in, refreshed or signed out.
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === SESSION_KEY) setSession(storageSessionStore(window.localStorage).get());
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);

  const value = useMemo(() => ({ api, session, user: session?.user ?? null, endedReason }), [api, session, endedReason]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

/** The signed-in user (pages behind RequireAuth only). */
export function useUser(): User {
  const { user } = useAuth();
  if (!user) throw new Error('useUser without a session');
  return user;
}
