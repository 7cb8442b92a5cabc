// Where the signed-in session lives: localStorage, so it survives reloads and is shared by tabs.
import type { Tokens, User } from './types';

export interface Session {
  access_token: string;
  refresh_token: string;
  user: User;
}

export interface SessionStore {
  get(): Session | null;
  set(session: Session | null): void;
}

export const SESSION_KEY = 'stagecast.session';

export function sessionFromTokens(t: Tokens): Session {
  return { access_token: t.access_token, refresh_token: t.refresh_token, user: t.user };
}

/** A store backed by any Storage (localStorage in the app, a Map in tests). */
export function storageSessionStore(storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>, key = SESSION_KEY): SessionStore {
  return {
    get() {
      const raw = storage.getItem(key);
      if (!raw) return null;
      try {
        const s = JSON.parse(raw) as Session;
        return s && typeof s.access_token === 'string' && typeof s.refresh_token === 'string' ? s : null;
      } catch {
        return null;
      }
    },
    set(session) {
      if (session) storage.setItem(key, JSON.stringify(session));
      else storage.removeItem(key);
    },
  };
}

export function memorySessionStore(initial: Session | null = null): SessionStore {
  let current = initial;
  return {
    get: () => current,
    set: (s) => {
      current = s;
    },
  };
}

/** Seconds since the epoch at which a JWT expires, or null when it cannot be read. */
export function jwtExpiry(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : null;
  } catch {
    return null;
  }
}
