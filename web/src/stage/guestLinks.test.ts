import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ApiClient } from '../lib/api';
import type { GuestLink } from '../lib/types';
import { invitedLine } from '../pages/JoinPage';
import { GuestLinksPanel } from './GuestLinksPanel';

const api = {} as ApiClient;
const iso = (secs: number) => new Date(Date.now() + secs * 1000).toISOString();

function link(id: string, patch: Partial<GuestLink> = {}): GuestLink {
  return { id, role: 'speaker', needs_approval: false, max_uses: 1, uses: 0, created_by: 'host', created_at: iso(-60), expires_at: iso(3600), revoked_at: null, ...patch };
}

const panel = (isHost: boolean, links: GuestLink[]) => renderToStaticMarkup(createElement(GuestLinksPanel, { api, eventId: 'ev', isHost, origin: 'https://x.example', initialLinks: links }));

describe('GuestLinksPanel', () => {
  it('offers co-host links to the host only', () => {
    expect(panel(true, [])).toContain('<option value="cohost">Co-host</option>');
    expect(panel(false, [])).not.toContain('value="cohost"');
    const html = panel(true, []);
    for (const label of ['Role', 'Expires after', 'Max uses', 'Ask me to approve']) expect(html).toContain(`>${label}</label>`);
    expect(html).toContain('>Create link</button>');
    expect(html).toContain('>1 hour</option>');
    expect(html).toContain('>7 days</option>');
  });

  it('lists links with their state and the actions each allows', () => {
    const html = panel(true, [
      link('a', { max_uses: 3, uses: 1, needs_approval: true }),
      link('w', { revoked_at: iso(-10) }),
      link('x', { expires_at: iso(-10) }),
      link('u', { uses: 1, role: 'cohost' }),
    ]);
    expect(html).toContain('data-link-id="a" data-state="active"');
    expect(html).toContain('1 of 3 uses');
    expect(html).toContain('you approve each guest');
    expect(html).toContain('data-link-id="w" data-state="withdrawn"');
    expect(html).toContain('data-link-id="x" data-state="expired"');
    expect(html).toContain('data-link-id="u" data-state="used_up"');
    expect(html).toContain('>Used up</span>');
    // Withdraw only for the active link; Regenerate for every link not withdrawn.
    expect(html.match(/aria-label="Withdraw /g)).toHaveLength(1);
    expect(html.match(/aria-label="Regenerate /g)).toHaveLength(3);
    expect(html).toContain('aria-label="Regenerate Co-host link made ');
  });

  it('says so when there are no links', () => {
    expect(panel(false, [])).toContain('No invite links yet.');
  });
});

describe('JoinPage', () => {
  it('says what the link grants', () => {
    expect(invitedLine({ role: 'speaker', event: { title: 'Launch' } })).toBe("You're invited to join Launch as a speaker");
    expect(invitedLine({ role: 'cohost', event: { title: 'Launch' } })).toBe("You're invited to join Launch as a co-host");
  });
});
