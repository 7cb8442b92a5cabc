import { describe, expect, it, vi } from 'vitest';
import {
  MY_STATUS_TEXT,
  StageRefetcher,
  agoText,
  applyStageChange,
  backstageMembers,
  canGoBackstage,
  canMoveStage,
  handButton,
  handQueue,
  invitationGone,
  newestFirst,
  openInvitations,
  shortId,
  stageLogText,
  stageNames,
  isBackstage,
  memberActionName,
  memberActions,
  onAirMembers,
  seatsTaken,
  seesBackstage,
  myInvitation,
  myStatusAfter,
  myStatusFromView,
  needsReload,
  secondsUntil,
  sortedMembers,
} from './stageState';
import type { StageChange, StageView } from './types';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const at = (secs: number) => new Date(NOW + secs * 1000).toISOString();

function view(patch: Partial<StageView> = {}): StageView {
  return {
    event_id: 'ev',
    max_speakers: 8,
    your_role: 'host',
    members: [
      { user_id: 'host', display_name: 'Hana', avatar_url: null, role: 'host', since: at(-600), backstage: false },
      { user_id: 'sp', display_name: 'Sam', avatar_url: null, role: 'speaker', since: at(-60), backstage: false },
    ],
    hands: [
      { user_id: 'b', display_name: 'Bo', avatar_url: null, raised_at: at(-10) },
      { user_id: 'a', display_name: 'Ann', avatar_url: null, raised_at: at(-30) },
    ],
    invitations: [],
    bans: [{ user_id: 'x', display_name: 'Xu', avatar_url: null, banned_by: 'host', reason: '', banned_at: at(-100) }],
    ...patch,
  };
}

const change = (kind: StageChange['kind'], target: string, patch: Partial<StageChange> = {}): StageChange => ({
  kind,
  actor_id: 'host',
  target_user_id: target,
  role: 'audience',
  at: at(0),
  ...patch,
});

describe('the audience side', () => {
  it('offers raise or lower to the audience only', () => {
    expect(handButton(view({ your_role: 'audience' }), 'c')).toBe('raise');
    expect(handButton(view({ your_role: 'audience' }), 'a')).toBe('lower');
    expect(handButton(view({ your_role: 'speaker' }), 'sp')).toBeNull();
    expect(handButton(null, 'a')).toBeNull();
  });

  it('finds my invitation while it is open and counts down', () => {
    const inv = { id: 'i1', user_id: 'a', invited_by: 'host', created_at: at(-10), expires_at: at(110) };
    const v = view({ your_role: 'audience', invitations: [inv] });
    expect(myInvitation(v, 'a', NOW)).toEqual(inv);
    expect(myInvitation(v, 'b', NOW)).toBeNull();
    expect(myInvitation(v, 'a', NOW + 111_000)).toBeNull();
    expect(secondsUntil(inv.expires_at, NOW + 500)).toBe(110);
    expect(secondsUntil(inv.expires_at, NOW + 200_000)).toBe(0);
    expect(secondsUntil(null, NOW)).toBe(0);
  });

  it('says what happened to me', () => {
    expect(myStatusAfter(null, change('invitation_accepted', 'a', { actor_id: 'a', role: 'speaker' }), 'a')).toBe('on_stage');
    expect(myStatusAfter(null, change('role_changed', 'a', { role: 'speaker', previous_role: 'audience' }), 'a')).toBe('on_stage');
    expect(myStatusAfter('on_stage', change('muted', 'a', { role: 'speaker', source: 'microphone' }), 'a')).toBe('muted');
    expect(myStatusAfter('on_stage', change('muted', 'a', { role: 'speaker', source: 'camera' }), 'a')).toBe('on_stage');
    expect(myStatusAfter('on_stage', change('role_changed', 'a', { previous_role: 'speaker' }), 'a')).toBe('moved_back');
    // Leaving by oneself is not "moved back".
    expect(myStatusAfter('on_stage', change('role_changed', 'a', { actor_id: 'a', previous_role: 'speaker' }), 'a')).toBeNull();
    expect(myStatusAfter(null, change('kicked', 'a'), 'a')).toBe('removed');
    expect(myStatusAfter(null, change('banned', 'a'), 'a')).toBe('banned');
    expect(myStatusAfter(null, change('invitation_declined', 'a', { actor_id: 'a' }), 'a')).toBe('declined');
    // Someone else's change leaves my line alone.
    expect(myStatusAfter('on_stage', change('kicked', 'b'), 'a')).toBe('on_stage');
  });

  it('keeps what only frames tell across a reload, and notices a demotion the frames missed', () => {
    expect(myStatusFromView('muted', view({ your_role: 'speaker' }), 'sp')).toBe('muted');
    expect(myStatusFromView(null, view({ your_role: 'speaker' }), 'sp')).toBe('on_stage');
    expect(myStatusFromView('on_stage', view({ your_role: 'audience' }), 'sp')).toBe('moved_back');
    expect(myStatusFromView('removed', view({ your_role: 'audience' }), 'a')).toBe('removed');
    expect(myStatusFromView(null, view({ your_role: 'audience' }), 'a')).toBeNull();
  });
});

describe('applyStageChange', () => {
  it('lowers hands and lifts bans at once', () => {
    expect(applyStageChange(view(), change('hand_lowered', 'a'), 'host').hands.map((h) => h.user_id)).toEqual(['b']);
    expect(applyStageChange(view(), change('unbanned', 'x'), 'host').bans).toEqual([]);
  });

  it('adds an invitation staff or the invitee can see, and drops the hand', () => {
    const inv = { id: 'i1', user_id: 'a', invited_by: 'host', created_at: at(0), expires_at: at(120) };
    const v = applyStageChange(view(), change('invited', 'a', { invitation: inv }), 'host');
    expect(v.invitations).toEqual([inv]);
    expect(v.hands.map((h) => h.user_id)).toEqual(['b']);
    // Applying the same frame twice changes nothing.
    expect(applyStageChange(v, change('invited', 'a', { invitation: inv }), 'host')).toBe(v);
    // Someone else's invitation is not shown to the audience.
    const aud = view({ your_role: 'audience', hands: [] });
    expect(applyStageChange(aud, change('invited', 'a', { invitation: inv }), 'c')).toBe(aud);
    expect(applyStageChange(aud, change('invited', 'a', { invitation: inv }), 'a').invitations).toEqual([inv]);
  });

  it('follows role changes: mine changes your_role; audience leaves the members', () => {
    const inv = { id: 'i1', user_id: 'a', invited_by: 'host', created_at: at(0), expires_at: at(120) };
    const mine = applyStageChange(view({ your_role: 'audience', invitations: [inv] }), change('invitation_accepted', 'a', { role: 'speaker' }), 'a');
    expect(mine.your_role).toBe('speaker');
    expect(mine.invitations).toEqual([]);
    const down = applyStageChange(view(), change('role_changed', 'sp', { previous_role: 'speaker' }), 'host');
    expect(down.members.map((m) => m.user_id)).toEqual(['host']);
    const up = applyStageChange(view(), change('role_changed', 'sp', { role: 'moderator' }), 'host');
    expect(up.members.find((m) => m.user_id === 'sp')?.role).toBe('moderator');
  });

  it('takes kicked and banned people off the stage', () => {
    const v = applyStageChange(view(), change('kicked', 'sp'), 'host');
    expect(v.members.map((m) => m.user_id)).toEqual(['host']);
    const me = applyStageChange(view({ your_role: 'speaker' }), change('banned', 'sp'), 'sp');
    expect(me.your_role).toBe('audience');
  });

  it('ignores kinds it does not know and reloads on all but mutes', () => {
    const v = view();
    // A newer server's kind, not in this client's document yet.
    expect(applyStageChange(v, change('something_new' as StageChange['kind'], 'a'), 'host')).toBe(v);
    expect(needsReload(change('muted', 'sp'))).toBe(false);
    expect(needsReload(change('hand_raised', 'a'))).toBe(true);
  });
});

describe('the staff side', () => {
  it('lists hands oldest first and members by rank', () => {
    expect(handQueue(view()).map((h) => h.user_id)).toEqual(['a', 'b']);
    expect(sortedMembers(view()).map((m) => m.user_id)).toEqual(['host', 'sp']);
    expect(agoText(at(-30), NOW)).toBe('30 s ago');
    expect(agoText(at(-1), NOW)).toBe('just now');
    expect(agoText(at(-300), NOW)).toBe('5 min ago');
  });

  it('offers only what the policy allows', () => {
    expect(memberActions('host', { user_id: 'sp', role: 'speaker' }, 'host')).toEqual(['backstage', 'audience', 'moderator', 'cohost', 'host', 'mute', 'kick', 'ban']);
    expect(memberActions('host', { user_id: 'c', role: 'cohost' }, 'host')).toEqual(['backstage', 'audience', 'moderator', 'host', 'mute', 'kick', 'ban']);
    expect(memberActions('cohost', { user_id: 'sp', role: 'speaker' }, 'c')).toEqual(['backstage', 'audience', 'moderator', 'mute', 'kick', 'ban']);
    expect(memberActions('moderator', { user_id: 'sp', role: 'speaker' }, 'm')).toEqual(['audience', 'mute', 'kick', 'ban']);
    // Nobody acts on an equal or higher role, except the host; nobody on themselves.
    expect(memberActions('moderator', { user_id: 'm2', role: 'moderator' }, 'm')).toEqual([]);
    expect(memberActions('cohost', { user_id: 'h', role: 'host' }, 'c')).toEqual([]);
    expect(memberActions('host', { user_id: 'host', role: 'host' }, 'host')).toEqual([]);
    expect(memberActions('speaker', { user_id: 'a', role: 'audience' }, 'sp')).toEqual([]);
  });

  it('brings the backstage on air and sends on-air co-hosts and speakers backstage, by rank', () => {
    expect(memberActions('host', { user_id: 'g', role: 'speaker', backstage: true }, 'host')[0]).toBe('on_air');
    expect(memberActions('host', { user_id: 'g', role: 'cohost', backstage: true }, 'host')[0]).toBe('on_air');
    expect(memberActions('cohost', { user_id: 'g', role: 'speaker', backstage: true }, 'c')[0]).toBe('on_air');
    // A co-host does not move another co-host; moderators move nobody.
    expect(memberActions('cohost', { user_id: 'c2', role: 'cohost', backstage: true }, 'c')).toEqual([]);
    expect(memberActions('moderator', { user_id: 'g', role: 'speaker', backstage: true }, 'm')).toEqual(['audience', 'mute', 'kick', 'ban']);
    expect(memberActions('moderator', { user_id: 'sp', role: 'speaker' }, 'm')).not.toContain('backstage');
    expect(canMoveStage('host', 'cohost')).toBe(true);
    expect(canMoveStage('cohost', 'speaker')).toBe(true);
    expect(canMoveStage('cohost', 'cohost')).toBe(false);
    expect(canMoveStage('moderator', 'speaker')).toBe(false);
    // Only co-hosts and speakers are ever backstage.
    expect(canMoveStage('host', 'moderator')).toBe(false);
    expect(memberActionName('on_air', 'Gia Guest')).toBe('Bring Gia Guest on air');
    expect(memberActionName('backstage', 'Sam')).toBe('Send Sam backstage');
    expect(memberActionName('mute', 'Sam')).toBe('Mute mic: Sam');
  });
});

describe('the green room', () => {
  const guest = { user_id: 'g', display_name: 'Gia', avatar_url: null, role: 'speaker' as const, since: at(-5), backstage: true };
  const withGuest = (patch: Partial<StageView> = {}) => view({ members: [...view().members, guest], ...patch });

  it('lists the backstage apart, without a seat', () => {
    const v = withGuest();
    expect(onAirMembers(v).map((m) => m.user_id)).toEqual(['host', 'sp']);
    expect(backstageMembers(v).map((m) => m.user_id)).toEqual(['g']);
    expect(seatsTaken(v)).toBe(2);
    expect(isBackstage(v, 'g')).toBe(true);
    expect(isBackstage(v, 'sp')).toBe(false);
    expect(seesBackstage(v, 'host')).toBe(true);
    expect(seesBackstage(withGuest({ your_role: 'speaker' }), 'g')).toBe(true);
    expect(seesBackstage(view({ your_role: 'speaker' }), 'sp')).toBe(false);
    expect(seesBackstage(view({ your_role: 'audience' }), 'a')).toBe(false);
  });

  it('lets an on-air co-host or speaker go backstage themselves', () => {
    expect(canGoBackstage(view({ your_role: 'speaker' }), 'sp')).toBe(true);
    expect(canGoBackstage(withGuest({ your_role: 'speaker' }), 'g')).toBe(false);
    expect(canGoBackstage(view({ your_role: 'host' }), 'host')).toBe(false);
    expect(canGoBackstage(view({ your_role: 'moderator' }), 'm')).toBe(false);
    expect(canGoBackstage(view({ your_role: 'audience' }), 'a')).toBe(false);
  });

  it('applies brought_on_air and sent_backstage', () => {
    const on = applyStageChange(withGuest(), change('brought_on_air', 'g', { role: 'speaker' }), 'host');
    expect(on.members.find((m) => m.user_id === 'g')?.backstage).toBe(false);
    expect(seatsTaken(on)).toBe(3);
    const back = applyStageChange(view(), change('sent_backstage', 'sp', { role: 'speaker' }), 'host');
    expect(back.members.find((m) => m.user_id === 'sp')?.backstage).toBe(true);
    expect(seatsTaken(back)).toBe(1);
    // Going backstage oneself.
    const mine = applyStageChange(view({ your_role: 'speaker' }), change('sent_backstage', 'sp', { actor_id: 'sp', role: 'speaker' }), 'sp');
    expect(isBackstage(mine, 'sp')).toBe(true);
    // The audience (and on-air speakers) stop seeing them listed.
    const aud = applyStageChange(view({ your_role: 'audience' }), change('sent_backstage', 'sp', { role: 'speaker' }), 'a');
    expect(aud.members.map((m) => m.user_id)).toEqual(['host']);
    // Someone the audience never saw comes on air: the reload brings their name.
    const unseen = view({ your_role: 'audience' });
    expect(applyStageChange(unseen, change('brought_on_air', 'g', { role: 'speaker' }), 'a').members).toEqual(unseen.members);
    expect(needsReload(change('brought_on_air', 'g'))).toBe(true);
  });

  it('says where I stand: backstage, then on air', () => {
    expect(MY_STATUS_TEXT.backstage).toBe("You're backstage: the host will bring you on air");
    expect(MY_STATUS_TEXT.on_air).toBe("You're on air");
    expect(myStatusAfter(null, change('sent_backstage', 'g', { role: 'speaker' }), 'g')).toBe('backstage');
    expect(myStatusAfter('backstage', change('brought_on_air', 'g', { role: 'speaker' }), 'g')).toBe('on_air');
    expect(myStatusAfter('backstage', change('brought_on_air', 'x', { role: 'speaker' }), 'g')).toBe('backstage');
    // A guest's role arrives while they are backstage: they stay backstage.
    expect(myStatusAfter('backstage', change('role_changed', 'g', { role: 'cohost', previous_role: 'speaker' }), 'g')).toBe('backstage');
    // From the view: backstage when listed so; on air once a reload shows them out of it.
    expect(myStatusFromView(null, withGuest({ your_role: 'speaker' }), 'g')).toBe('backstage');
    expect(myStatusFromView('on_stage', withGuest({ your_role: 'speaker' }), 'g')).toBe('backstage');
    expect(myStatusFromView('backstage', view({ your_role: 'speaker' }), 'sp')).toBe('on_air');
    expect(myStatusFromView('on_air', view({ your_role: 'speaker' }), 'sp')).toBe('on_air');
    expect(myStatusFromView('backstage', view({ your_role: 'audience' }), 'g')).toBe('moved_back');
  });
});

describe('StageRefetcher', () => {
  function harness() {
    const timers: { fn: () => void; ms: number }[] = [];
    const load = vi.fn<() => Promise<StageView>>();
    const onView = vi.fn();
    const onError = vi.fn();
    const r = new StageRefetcher(load, onView, onError, 250, {
      setTimeout: (fn, ms) => timers.push({ fn, ms }) - 1,
      clearTimeout: (h) => {
        timers[h as number].fn = () => undefined;
      },
    });
    return { r, timers, load, onView, onError };
  }

  it('loads once per burst of frames', async () => {
    const h = harness();
    h.load.mockResolvedValue(view());
    h.r.poke();
    h.r.poke();
    h.r.poke();
    expect(h.timers).toHaveLength(1);
    expect(h.timers[0].ms).toBe(250);
    h.timers[0].fn();
    await vi.waitFor(() => expect(h.onView).toHaveBeenCalledTimes(1));
    expect(h.load).toHaveBeenCalledTimes(1);
    h.r.poke();
    expect(h.timers).toHaveLength(2);
  });

  it('drops the answer of an older load and reports errors of the latest', async () => {
    const h = harness();
    let first!: (v: StageView) => void;
    h.load.mockReturnValueOnce(new Promise((r) => (first = r))).mockResolvedValueOnce(view({ max_speakers: 2 }));
    const a = h.r.now();
    const b = h.r.now();
    await b;
    first(view({ max_speakers: 1 }));
    await a;
    expect(h.onView.mock.calls.map((c) => (c[0] as StageView).max_speakers)).toEqual([2]);
    h.load.mockRejectedValueOnce(new Error('boom'));
    await h.r.now();
    expect(h.onError).toHaveBeenCalledTimes(1);
  });

  it('does nothing once stopped', async () => {
    const h = harness();
    h.r.poke();
    h.r.stop();
    h.timers[0].fn();
    h.r.poke();
    expect(h.load).not.toHaveBeenCalled();
    expect(h.timers).toHaveLength(1);
  });
});

describe('handing the host role over', () => {
  it('is offered by the host only, on members on air', () => {
    expect(memberActions('host', { user_id: 'm', role: 'moderator' }, 'host')).toContain('host');
    expect(memberActions('host', { user_id: 'g', role: 'speaker', backstage: true }, 'host')).not.toContain('host');
    expect(memberActions('cohost', { user_id: 'sp', role: 'speaker' }, 'c')).not.toContain('host');
    expect(memberActions('moderator', { user_id: 'sp', role: 'speaker' }, 'm')).not.toContain('host');
    expect(memberActionName('host', 'Ann')).toBe('Make Ann the host');
  });

  it('makes the old host a co-host at once', () => {
    const v = view({ members: [...view().members, { user_id: 'c', display_name: 'Cy', avatar_url: null, role: 'cohost', since: at(-5), backstage: false }] });
    const after = applyStageChange(v, change('role_changed', 'c', { role: 'host', previous_role: 'cohost' }), 'host');
    expect(after.members.map((m) => [m.user_id, m.role])).toEqual([
      ['host', 'cohost'],
      ['sp', 'speaker'],
      ['c', 'host'],
    ]);
    expect(after.your_role).toBe('cohost');
    // Seen by someone else: their own role stays.
    expect(applyStageChange({ ...v, your_role: 'moderator' }, change('role_changed', 'c', { role: 'host' }), 'm').your_role).toBe('moderator');
    // The new host.
    expect(applyStageChange({ ...v, your_role: 'cohost' }, change('role_changed', 'c', { role: 'host' }), 'c').your_role).toBe('host');
  });
});

describe('withdrawn and expired invitations', () => {
  const inv = { id: 'i1', user_id: 'a', invited_by: 'host', created_at: at(-10), expires_at: at(110) };

  it('drops a withdrawn invitation from the view', () => {
    const v = view({ invitations: [inv] });
    expect(applyStageChange(v, change('invitation_withdrawn', 'a', { invitation: inv }), 'host').invitations).toEqual([]);
    expect(applyStageChange({ ...v, your_role: 'audience' }, change('invitation_withdrawn', 'a'), 'a').invitations).toEqual([]);
    expect(needsReload(change('invitation_withdrawn', 'a'))).toBe(true);
  });

  it('tells the invitee', () => {
    expect(myStatusAfter(null, change('invitation_withdrawn', 'a'), 'a')).toBe('withdrawn');
    expect(myStatusAfter(null, change('invitation_withdrawn', 'a'), 'b')).toBeNull();
    expect(MY_STATUS_TEXT.withdrawn).toBe('The host withdrew the invitation');
    expect(MY_STATUS_TEXT.expired).toBe('The invitation expired. Raise your hand to be invited again');
    // A new hand or invitation clears the line.
    expect(myStatusAfter('withdrawn', change('hand_raised', 'a', { actor_id: 'a' }), 'a')).toBeNull();
    expect(myStatusAfter('expired', change('invited', 'a', { invitation: inv }), 'a')).toBeNull();
    expect(myStatusFromView('withdrawn', view({ your_role: 'audience' }), 'a')).toBe('withdrawn');
  });

  it('says why the invitation left the dialog', () => {
    const v = view({ your_role: 'audience', invitations: [] });
    expect(invitationGone(null, inv, v, NOW)).toBe('withdrawn');
    expect(invitationGone(null, inv, v, NOW + 110_000)).toBe('expired');
    expect(invitationGone('moved_back', inv, v, NOW + 200_000)).toBe('expired');
    expect(invitationGone('declined', inv, v, NOW + 200_000)).toBe('declined');
    expect(invitationGone('withdrawn', inv, v, NOW + 200_000)).toBe('withdrawn');
    expect(invitationGone('on_stage', inv, view({ your_role: 'speaker' }), NOW)).toBe('on_stage');
    expect(invitationGone(null, inv, null, NOW)).toBeNull();
  });

  it('lists the open invitations for staff', () => {
    const old = { ...inv, id: 'i0', user_id: 'z', created_at: at(-200), expires_at: at(-80) };
    const other = { ...inv, id: 'i2', user_id: 'b', created_at: at(-20) };
    expect(openInvitations(view({ invitations: [inv, old, other] }), NOW).map((i) => i.id)).toEqual(['i2', 'i1']);
    expect(openInvitations(null, NOW)).toEqual([]);
  });
});

describe('the stage log', () => {
  const names = stageNames(view(), new Map([['gone', 'Gus']]));

  it('knows the names in the view', () => {
    expect(names.get('host')).toBe('Hana');
    expect(names.get('a')).toBe('Ann');
    expect(names.get('x')).toBe('Xu');
    expect(names.get('gone')).toBe('Gus');
    expect(shortId('0123456789abcdef')).toBe('01234567…');
    expect(shortId('abc')).toBe('abc');
  });

  it('puts each change in words', () => {
    const t = (kind: StageChange['kind'], target: string, patch: Partial<StageChange> = {}) => stageLogText(change(kind, target, patch), names);
    expect(t('invited', 'a')).toBe('Hana invited Ann');
    expect(t('hand_raised', 'a', { actor_id: 'a' })).toBe('Ann raised a hand');
    expect(t('hand_lowered', 'a', { actor_id: 'a' })).toBe('Ann lowered their hand');
    expect(t('hand_lowered', 'a')).toBe('Hana lowered Ann’s hand');
    expect(t('brought_on_air', 'gone', { role: 'speaker' })).toBe('Hana brought Gus on air');
    expect(t('sent_backstage', 'sp', { actor_id: 'sp' })).toBe('Sam went backstage');
    expect(t('invitation_accepted', 'a', { actor_id: 'a' })).toBe('Ann accepted the invitation');
    expect(t('invitation_declined', 'a', { actor_id: 'a' })).toBe('Ann declined the invitation');
    expect(t('invitation_withdrawn', 'a')).toBe('Hana withdrew the invitation to Ann');
    expect(t('role_changed', 'sp', { role: 'moderator' })).toBe('Hana made Sam a moderator');
    expect(t('role_changed', 'sp', { role: 'host' })).toBe('Hana handed the host role to Sam');
    expect(t('role_changed', 'sp')).toBe('Hana moved Sam to the audience');
    expect(t('role_changed', 'sp', { actor_id: 'sp' })).toBe('Sam stepped down to the audience');
    expect(t('muted', 'sp', { source: 'microphone' })).toBe('Hana muted Sam’s microphone');
    expect(t('kicked', 'sp', { reason: 'spam' })).toBe('Hana removed Sam from the event (“spam”)');
    expect(t('banned', 'sp')).toBe('Hana banned Sam');
    expect(t('unbanned', 'x')).toBe('Hana unbanned Xu');
    expect(t('invited', '0123456789abcdef')).toBe('Hana invited 01234567…');
    expect(t('something_new' as StageChange['kind'], 'a')).toBe('Hana: something new (Ann)'); // a newer server's kind
  });

  it('orders entries newest first', () => {
    const e = [change('invited', 'a', { at: at(-30) }), change('hand_raised', 'a', { at: at(-60) }), change('invitation_accepted', 'a', { at: at(-5) })];
    expect(newestFirst(e).map((x) => x.kind)).toEqual(['invitation_accepted', 'invited', 'hand_raised']);
  });
});
