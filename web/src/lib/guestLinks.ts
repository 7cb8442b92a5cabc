// Guest invite links: what a link's state is, how long it lasts, where a guest may go in the app.
import type { GuestLink, GuestLinkRole, User } from './types';

export type GuestLinkState = 'active' | 'withdrawn' | 'expired' | 'used_up';

export const LINK_STATE_LABEL: Record<GuestLinkState, string> = {
  active: 'Active',
  withdrawn: 'Withdrawn',
  expired: 'Expired',
  used_up: 'Used up',
};

export const LINK_ROLE_LABEL: Record<GuestLinkRole, string> = { speaker: 'Speaker', cohost: 'Co-host' };

/** "a speaker", "a co-host": what a link lets its guest be. */
export function roleWithArticle(role: string): string {
  return role === 'cohost' ? 'a co-host' : role === 'speaker' ? 'a speaker' : 'a member of the audience';
}

/** Expiry choices for a new link (the server takes 60 s to 7 days). */
export const EXPIRY_CHOICES: readonly { label: string; secs: number }[] = [
  { label: '1 hour', secs: 3600 },
  { label: '1 day', secs: 86400 },
  { label: '7 days', secs: 604800 },
];
export const DEFAULT_EXPIRY_SECS = 86400;
export const MAX_USES_LIMIT = 1000;

export function linkState(link: GuestLink, nowMs: number = Date.now()): GuestLinkState {
  if (link.revoked_at) return 'withdrawn';
  const exp = Date.parse(link.expires_at);
  if (!Number.isNaN(exp) && exp <= nowMs) return 'expired';
  if (link.uses >= link.max_uses) return 'used_up';
  return 'active';
}

/** A whole number of uses in 1..1000, or null when `text` is not one. */
export function parseMaxUses(text: string): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= 1 && n <= MAX_USES_LIMIT ? n : null;
}

/** The full address to share: the server's `join_url` is relative unless it knows its public URL. */
export function absoluteJoinUrl(joinUrl: string, origin: string): string {
  if (/^https?:\/\//i.test(joinUrl)) return joinUrl;
  try {
    return new URL(joinUrl, origin).toString();
  } catch {
    return joinUrl;
  }
}

/** The event a guest's session is for, or null for an account. */
export function guestEventOf(user: User | null | undefined): string | null {
  return user?.guest_event_id || null;
}

/** Whether a guest may open `pathname` (their event's page and studio, or another join link):
 * any other page would call APIs their session may not use. */
export function guestMayOpen(pathname: string, eventId: string): boolean {
  const p = pathname.replace(/\/+$/, '') || '/';
  const ev = `/events/${encodeURIComponent(eventId)}`;
  return p === ev || p === `${ev}/studio` || p.startsWith('/join/');
}
