import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ApiClient } from '../lib/api';
import type { StageView } from '../lib/types';
import { AudienceStage, clock, statusLine } from './AudienceStage';
import { StageControlPanel } from './StageControlPanel';

const api = {} as ApiClient;
const noop = () => undefined;
const iso = (secs: number) => new Date(Date.now() + secs * 1000).toISOString();

function view(patch: Partial<StageView> = {}): StageView {
  return {
    event_id: 'ev',
    max_speakers: 4,
    your_role: 'host',
    members: [
      { user_id: 'host', display_name: 'Hana Host', avatar_url: null, role: 'host', since: iso(-600), backstage: false },
      { user_id: 'sp', display_name: 'Sam Speaker', avatar_url: null, role: 'speaker', since: iso(-60), backstage: false },
    ],
    hands: [{ user_id: 'a', display_name: 'Ann Audience', avatar_url: null, raised_at: iso(-30) }],
    invitations: [],
    bans: [{ user_id: 'x', display_name: 'Xu', avatar_url: null, banned_by: 'host', reason: 'spam', banned_at: iso(-100) }],
    ...patch,
  };
}

const staffPanel = (v: StageView, me = 'host', speaking: string | null = null) =>
  renderToStaticMarkup(createElement(StageControlPanel, { api, eventId: 'ev', me, view: v, loadError: null, speaking, onChanged: noop, onReload: noop }));

const audience = (v: StageView | null, me: string, status: Parameters<typeof statusLine>[1] = null) =>
  renderToStaticMarkup(
    createElement(AudienceStage, { api, eventId: 'ev', me, view: v, loadError: null, status, speaking: null, onChanged: noop, onStatus: noop, onReload: noop, startMic: noop }),
  );

describe('StageControlPanel', () => {
  it('shows the hand queue, the members with their actions and the bans to the host', () => {
    const html = staffPanel(view(), 'host', 'sp');
    expect(html).toContain('aria-label="Invite Ann Audience to speak"');
    expect(html).toContain('aria-label="Lower Ann Audience’s hand"');
    expect(html).toContain('raised 30 s ago');
    for (const label of ['Move to audience', 'Make moderator', 'Make co-host', 'Mute mic', 'Kick', 'Ban']) {
      expect(html).toContain(`aria-label="${label}: Sam Speaker"`);
    }
    // No actions against oneself.
    expect(html).not.toContain(': Hana Host"');
    expect(html).toContain('aria-label="Unban Xu"');
    expect(html).toContain('Reason: spam');
    // The active speaker gets the ring.
    expect(html).toMatch(/class="speaking"[^>]*data-user-id="sp"|data-user-id="sp"[^>]*class="speaking"/);
    // Every control is a real button.
    expect(html).not.toMatch(/<(div|span)[^>]*onClick/);
  });

  it('gives a moderator no co-host or moderator appointments', () => {
    const html = staffPanel(view({ your_role: 'moderator' }), 'm');
    expect(html).toContain('aria-label="Move to audience: Sam Speaker"');
    expect(html).not.toContain('Make co-host');
    expect(html).not.toContain('Make moderator');
  });

  it('disables Invite while an invitation is open and shows the time left', () => {
    const html = staffPanel(view({ invitations: [{ id: 'i1', user_id: 'a', invited_by: 'host', created_at: iso(0), expires_at: iso(90) }] }));
    expect(html).toMatch(/Invited: 1:(29|30) left to answer/);
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*aria-label="Invite Ann Audience to speak"/);
  });

  it('lists the backstage apart with Bring on air, and offers Send backstage for on-air speakers', () => {
    const guest = { user_id: 'g', display_name: 'Gia Guest', avatar_url: null, role: 'speaker' as const, since: iso(-5), backstage: true };
    const v = view({ members: [...view().members, guest] });
    const html = staffPanel(v);
    expect(html).toContain('>Backstage</h3>');
    expect(html).toContain('aria-label="Bring Gia Guest on air"');
    expect(html).toContain('aria-label="Send Sam Speaker backstage"');
    expect(html).not.toContain('aria-label="Send Gia Guest backstage"');
    expect(html).not.toContain('aria-label="Bring Sam Speaker on air"');
    // The backstage takes no seat, and its row sits under the Backstage heading.
    expect(html).toContain('2 of 4 speaker seats taken (1 backstage, without a seat).');
    expect(html.indexOf('data-testid="stage-backstage-row" data-user-id="g"')).toBeGreaterThan(html.indexOf('>Backstage</h3>'));
    expect(html).toContain('No camera from Gia Guest yet.');
    // Moderators move nobody between the backstage and the air.
    const mod = staffPanel({ ...v, your_role: 'moderator' }, 'm');
    expect(mod).toContain('>Backstage</h3>');
    expect(mod).not.toContain('aria-label="Bring ');
    expect(mod).not.toContain('aria-label="Send ');
    // An empty green room says so.
    expect(staffPanel(view())).toContain('Nobody is backstage.');
  });

  it('lets a co-host go backstage themselves and tells them when they are', () => {
    const c = { user_id: 'c', display_name: 'Cho', avatar_url: null, role: 'cohost' as const, since: iso(-5), backstage: false };
    const onAir = staffPanel(view({ your_role: 'cohost', members: [...view().members, c] }), 'c');
    expect(onAir).toContain('>Go backstage<');
    const back = staffPanel(view({ your_role: 'cohost', members: [...view().members, { ...c, backstage: true }] }), 'c');
    expect(back).not.toContain('>Go backstage<');
    expect(back).toContain('You&#x27;re backstage: the host will bring you on air.');
  });

  it('lets the host hand the host role over to a member', () => {
    const c = { user_id: 'c', display_name: 'Cho Cohost', avatar_url: null, role: 'cohost' as const, since: iso(-5), backstage: false };
    const html = staffPanel(view({ members: [...view().members, c] }));
    expect(html).toContain('aria-label="Make Cho Cohost the host"');
    expect(html).toContain('aria-label="Make Sam Speaker the host"');
    expect(html).not.toContain('aria-label="Make Hana Host the host"');
    // Only the host hands it over.
    expect(staffPanel(view({ your_role: 'cohost', members: [...view().members, c] }), 'c')).not.toContain('the host"');
  });

  it('offers Withdraw for an open invitation, in the hand queue or on its own once the hand is down', () => {
    const inv = { id: 'i1', user_id: 'a', invited_by: 'host', created_at: iso(0), expires_at: iso(90) };
    const withHand = staffPanel(view({ invitations: [inv] }));
    expect(withHand).toContain('aria-label="Withdraw the invitation to Ann Audience"');
    expect(withHand).not.toContain('data-testid="stage-invitations"');
    const handDown = staffPanel(view({ hands: [], invitations: [{ ...inv, user_id: 'sp2' }], members: [...view().members] }));
    expect(handDown).toContain('data-testid="stage-invitations"');
    expect(handDown).toContain('aria-label="Withdraw the invitation to sp2"');
    // An expired invitation has nothing to withdraw.
    expect(staffPanel(view({ invitations: [{ ...inv, expires_at: iso(-5) }] }))).not.toContain('Withdraw the invitation');
  });

  it('has a collapsed Stage log for staff', () => {
    const html = staffPanel(view());
    expect(html).toMatch(/<details[^>]*data-testid="stage-log"/);
    expect(html).toMatch(/<summary><h3[^>]*>Stage log<\/h3><\/summary>/);
    expect(staffPanel(view({ your_role: 'speaker' }), 'sp')).not.toContain('Stage log');
  });

  it('tells someone who is not staff that they cannot manage the stage', () => {
    expect(staffPanel(view({ your_role: 'speaker' }), 'sp')).toContain('Only the host, co-hosts and moderators manage the stage.');
  });
});

describe('AudienceStage', () => {
  it('offers Raise hand to the audience and Lower hand once it is up', () => {
    const mine = view({ your_role: 'audience', hands: [], bans: [] });
    expect(audience(mine, 'c')).toContain('Raise hand');
    const raised = view({ your_role: 'audience', hands: [{ user_id: 'c', display_name: 'Cy', avatar_url: null, raised_at: iso(-5) }], bans: [] });
    const html = audience(raised, 'c');
    expect(html).toContain('Lower hand');
    expect(html).toContain('aria-pressed="true"');
  });

  it('shows the invitation with Accept, Decline, the time left and a microphone check', () => {
    const v = view({ your_role: 'audience', hands: [], bans: [], invitations: [{ id: 'i1', user_id: 'c', invited_by: 'host', created_at: iso(0), expires_at: iso(65) }] });
    const html = audience(v, 'c');
    expect(html).toContain('role="alertdialog"');
    expect(html).toContain('You&#x27;re invited to speak');
    expect(html).toMatch(/1:0[45] left to answer/);
    expect(html).toContain('>Accept<');
    expect(html).toContain('>Decline<');
    expect(html).toContain('Check my microphone');
    // The hand button waits until the invitation is answered.
    expect(html).not.toContain('Raise hand');
  });

  it('says where I stand', () => {
    expect(audience(view({ your_role: 'speaker' }), 'sp')).toContain('You&#x27;re on stage.');
    expect(audience(view({ your_role: 'speaker' }), 'sp')).toContain('Leave the stage');
    expect(audience(view({ your_role: 'speaker' }), 'sp', 'muted')).toContain('You&#x27;re muted by the host.');
    expect(audience(view({ your_role: 'audience' }), 'c', 'moved_back')).toContain('You were moved back to the audience.');
    const removed = audience(view({ your_role: 'audience', hands: [] }), 'c', 'removed');
    expect(removed).toContain('You were removed from this event.');
    // A kicked user may come back, as the audience.
    expect(removed).toContain('Raise hand');
    expect(audience(view({ your_role: 'audience', hands: [] }), 'c', 'banned')).not.toContain('Raise hand');
    expect(audience(view({ your_role: 'audience' }), 'c', 'banned')).toContain('You are banned from this event.');
    expect(statusLine(view({ your_role: 'audience' }), null)).toBeNull();
    expect(audience(view({ your_role: 'audience', hands: [] }), 'c', 'withdrawn')).toContain('The host withdrew the invitation.');
    const expired = audience(view({ your_role: 'audience', hands: [] }), 'c', 'expired');
    expect(expired).toContain('The invitation expired. Raise your hand to be invited again.');
    expect(expired).toContain('data-status="expired"');
    expect(expired).not.toContain('role="alertdialog"');
  });

  it('tells a backstage speaker where they stand and lets an on-air speaker go backstage', () => {
    const guest = { user_id: 'g', display_name: 'Gia Guest', avatar_url: null, role: 'speaker' as const, since: iso(-5), backstage: true };
    const v = view({ your_role: 'speaker', members: [...view().members, guest], hands: [], bans: [] });
    const html = audience(v, 'g');
    expect(html).toContain('You&#x27;re backstage: the host will bring you on air.');
    expect(html).toContain('data-status="backstage"');
    expect(html).not.toContain('>Go backstage<');
    expect(html).toContain('aria-label="Backstage"');
    // The backstage takes no seat.
    expect(html).toContain('2 of 4 seats taken');
    expect(audience(v, 'g', 'on_air')).toContain('You&#x27;re on air.');
    expect(audience(view({ your_role: 'speaker' }), 'sp')).toContain('>Go backstage<');
    expect(statusLine(v, null, 'g')).toBe("You're backstage: the host will bring you on air");
    expect(clock(65)).toBe('1:05');
  });
});
