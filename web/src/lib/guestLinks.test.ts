import { describe, expect, it } from 'vitest';
import { absoluteJoinUrl, guestEventOf, guestMayOpen, linkState, parseMaxUses, roleWithArticle } from './guestLinks';
import type { GuestLink } from './types';

const NOW = Date.parse('2026-01-01T12:00:00Z');

function link(patch: Partial<GuestLink> = {}): GuestLink {
  return {
    id: 'l1',
    role: 'speaker',
    needs_approval: false,
    max_uses: 2,
    uses: 0,
    created_by: 'host',
    created_at: '2026-01-01T11:00:00Z',
    expires_at: '2026-01-02T11:00:00Z',
    revoked_at: null,
    ...patch,
  };
}

describe('guest links', () => {
  it('names the state of a link: withdrawn before expired before used up', () => {
    expect(linkState(link(), NOW)).toBe('active');
    expect(linkState(link({ uses: 2 }), NOW)).toBe('used_up');
    expect(linkState(link({ uses: 2, expires_at: '2026-01-01T11:59:00Z' }), NOW)).toBe('expired');
    expect(linkState(link({ uses: 2, expires_at: '2026-01-01T11:59:00Z', revoked_at: '2026-01-01T11:30:00Z' }), NOW)).toBe('withdrawn');
  });

  it('accepts 1 to 1000 whole uses only', () => {
    expect(parseMaxUses('1')).toBe(1);
    expect(parseMaxUses(' 1000 ')).toBe(1000);
    expect(parseMaxUses('0')).toBeNull();
    expect(parseMaxUses('1001')).toBeNull();
    expect(parseMaxUses('2.5')).toBeNull();
    expect(parseMaxUses('')).toBeNull();
  });

  it('makes a relative join URL absolute and keeps an absolute one', () => {
    expect(absoluteJoinUrl('/join/abc', 'https://stage.example')).toBe('https://stage.example/join/abc');
    expect(absoluteJoinUrl('https://public.example/join/abc', 'http://localhost:5173')).toBe('https://public.example/join/abc');
  });

  it('knows what a link grants', () => {
    expect(roleWithArticle('speaker')).toBe('a speaker');
    expect(roleWithArticle('cohost')).toBe('a co-host');
  });

  it('lets a guest open only their event, its studio and join links', () => {
    const user = { id: 'g', email: '', display_name: 'G', avatar_url: null, created_at: '', guest_event_id: 'ev1' };
    expect(guestEventOf(user)).toBe('ev1');
    expect(guestEventOf({ ...user, guest_event_id: undefined })).toBeNull();
    expect(guestEventOf(null)).toBeNull();
    expect(guestMayOpen('/events/ev1', 'ev1')).toBe(true);
    expect(guestMayOpen('/events/ev1/studio', 'ev1')).toBe(true);
    expect(guestMayOpen('/join/tok', 'ev1')).toBe(true);
    expect(guestMayOpen('/', 'ev1')).toBe(false);
    expect(guestMayOpen('/events/ev2', 'ev1')).toBe(false);
    expect(guestMayOpen('/events/ev1/edit', 'ev1')).toBe(false);
    expect(guestMayOpen('/profile', 'ev1')).toBe(false);
  });
});
