// The stage (hands, invitations, roles, bans) as pure decisions, tested in stageState.test.ts.
// The view comes from GET /events/{id}/stage; every `stage` frame of the live socket is applied
// at once where it is safe (a hand goes down, an invitation is answered, someone changes role)
// and the view is fetched again shortly after (debounced, see StageRefetcher), since frames do
// not carry names and avatars. The rank rules mirror the events service's policy.
import type { StageBan, StageChange, StageHand, StageInvitation, StageMember, StageRole, StageView } from './types';

export const ROLE_RANK: Record<StageRole, number> = { host: 4, cohost: 3, moderator: 2, speaker: 1, audience: 0 };

export const STAGE_ROLE_LABEL: Record<StageRole, string> = {
  host: 'Host',
  cohost: 'Co-host',
  moderator: 'Moderator',
  speaker: 'Speaker',
  audience: 'Audience',
};

const ROLES = new Set<string>(Object.keys(ROLE_RANK));

export function asRole(r: string | undefined | null): StageRole {
  return r && ROLES.has(r) ? (r as StageRole) : 'audience';
}

/** Runs the stage with the host: sees the hand queue, invites, mutes, kicks and bans. */
export function isStaff(role: StageRole): boolean {
  return role === 'host' || role === 'cohost' || role === 'moderator';
}

/** Takes a seat on the stage and may publish (moderators run it without a seat). */
export function isOnStage(role: StageRole): boolean {
  return role === 'host' || role === 'cohost' || role === 'speaker';
}

/** The role of `userId` in the view (everyone not listed is the audience). */
export function roleOf(view: StageView | null, userId: string): StageRole {
  return asRole(view?.members.find((m) => m.user_id === userId)?.role);
}

// ---- the green room (backstage) -------------------------------------------------------------------

/** Only co-hosts and speakers can be backstage. */
export function canBeBackstage(role: StageRole): boolean {
  return role === 'cohost' || role === 'speaker';
}

/** Whether `userId` waits backstage (in the green room) as the view shows it. */
export function isBackstage(view: StageView | null, userId: string): boolean {
  return !!view?.members.some((m) => m.user_id === userId && m.backstage === true);
}

/** Whether I see (and hear) the backstage: staff, and the backstage people themselves. */
export function seesBackstage(view: StageView | null, me: string): boolean {
  return !!view && (isStaff(view.your_role) || isBackstage(view, me));
}

/** Members on air: everyone listed but the backstage. */
export function onAirMembers(view: StageView | null): StageMember[] {
  return sortedMembers(view).filter((m) => m.backstage !== true);
}

/** Members in the green room, by rank then name. */
export function backstageMembers(view: StageView | null): StageMember[] {
  return sortedMembers(view).filter((m) => m.backstage === true);
}

/** Seats taken: the host, co-hosts and speakers on air (the backstage takes none). */
export function seatsTaken(view: StageView | null): number {
  return onAirMembers(view).filter((m) => isOnStage(asRole(m.role))).length;
}

/** Whether I may go backstage myself: an on-air co-host or speaker. */
export function canGoBackstage(view: StageView | null, me: string): boolean {
  return !!view && canBeBackstage(view.your_role) && !isBackstage(view, me);
}

// ---- the audience side --------------------------------------------------------------------------

/** Seconds until `iso`, never negative (0 for a missing or past time). */
export function secondsUntil(iso: string | null | undefined, now: number): number {
  if (!iso) return 0;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : Math.max(0, Math.ceil((t - now) / 1000));
}

/** My pending invitation to speak that has not expired yet, if any. */
export function myInvitation(view: StageView | null, me: string, now: number): StageInvitation | null {
  return view?.invitations.find((i) => i.user_id === me && (!i.expires_at || secondsUntil(i.expires_at, now) > 0)) ?? null;
}

export function handIsUp(view: StageView | null, me: string): boolean {
  return !!view?.hands.some((h) => h.user_id === me);
}

/** The hand button the audience gets: raise, lower, or none (on stage or staff). */
export function handButton(view: StageView | null, me: string): 'raise' | 'lower' | null {
  if (!view || view.your_role !== 'audience') return null;
  return handIsUp(view, me) ? 'lower' : 'raise';
}

export type MyStageStatus =
  | 'on_stage'
  | 'backstage'
  | 'on_air'
  | 'muted'
  | 'moved_back'
  | 'removed'
  | 'banned'
  | 'declined'
  | 'withdrawn'
  | 'expired'
  | null;

export const MY_STATUS_TEXT: Record<Exclude<MyStageStatus, null>, string> = {
  on_stage: "You're on stage",
  backstage: "You're backstage: the host will bring you on air",
  on_air: "You're on air",
  muted: "You're muted by the host",
  moved_back: 'You were moved back to the audience',
  removed: 'You were removed from this event',
  banned: 'You are banned from this event',
  declined: 'You declined the invitation to speak',
  withdrawn: 'The host withdrew the invitation',
  expired: 'The invitation expired. Raise your hand to be invited again',
};

/**
 * My status once the invitation I was shown is gone from the view: it ran out ("expired"), or
 * staff withdrew it (a frame was missed and the reload says so). Accepting puts me on stage,
 * declining, a kick or a ban say it themselves.
 */
export function invitationGone(current: MyStageStatus, gone: StageInvitation, view: StageView | null, now: number): MyStageStatus {
  if (!view || view.your_role !== 'audience') return current;
  if (current === 'declined' || current === 'removed' || current === 'banned' || current === 'withdrawn') return current;
  return gone.expires_at && secondsUntil(gone.expires_at, now) === 0 ? 'expired' : 'withdrawn';
}

/** What a change says about me for the state line; `current` is what the line says now. */
export function myStatusAfter(current: MyStageStatus, change: StageChange, me: string): MyStageStatus {
  if (change.target_user_id !== me) return current;
  const role = asRole(change.role);
  switch (change.kind) {
    case 'brought_on_air':
      return 'on_air';
    case 'sent_backstage':
      return 'backstage';
    case 'invitation_accepted':
      return 'on_stage';
    case 'invitation_declined':
      return change.actor_id === me ? 'declined' : current;
    case 'invitation_withdrawn':
      return 'withdrawn';
    case 'invited':
      return current === 'withdrawn' || current === 'expired' || current === 'declined' ? null : current;
    case 'hand_raised':
      return current === 'withdrawn' || current === 'expired' ? null : current;
    case 'role_changed':
      // Backstage stays backstage (a guest joining through a link starts there; the reload says).
      if (isOnStage(role)) return current === 'backstage' ? 'backstage' : 'on_stage';
      if (role === 'audience') {
        // Leaving by oneself needs no explanation.
        const wasOn = change.previous_role ? isOnStage(asRole(change.previous_role)) || isStaff(asRole(change.previous_role)) : true;
        return change.actor_id === me || !wasOn ? null : 'moved_back';
      }
      return null;
    case 'muted':
      return change.source === 'microphone' || !change.source ? 'muted' : current;
    case 'kicked':
      return 'removed';
    case 'banned':
      return 'banned';
    case 'unbanned':
      return current === 'banned' ? null : current;
    default:
      return current;
  }
}

/** My status as the view shows it after a (re)load, keeping what only frames can tell. */
export function myStatusFromView(current: MyStageStatus, view: StageView, me: string): MyStageStatus {
  const role = view.your_role;
  if (current === 'removed' || current === 'banned') return current;
  if (isOnStage(role)) {
    if (isBackstage(view, me)) return 'backstage';
    if (current === 'muted' || current === 'on_air') return current;
    return current === 'backstage' ? 'on_air' : 'on_stage';
  }
  if (current === 'on_stage' || current === 'muted' || current === 'on_air' || current === 'backstage') return 'moved_back';
  return current;
}

// ---- applying frames ------------------------------------------------------------------------------

const withoutUser = <T extends { user_id: string }>(list: T[], userId: string) => list.filter((x) => x.user_id !== userId);

/**
 * The view after `change`, for what a frame can tell without a reload (names and avatars of new
 * members, hands and bans come with the reload). Unknown kinds leave it as it is.
 */
export function applyStageChange(view: StageView, change: StageChange, me: string): StageView {
  const target = change.target_user_id;
  const staff = isStaff(view.your_role);
  switch (change.kind) {
    case 'hand_lowered':
      return { ...view, hands: withoutUser(view.hands, target) };
    case 'invited': {
      const inv = change.invitation;
      if (!inv || (!staff && target !== me) || view.invitations.some((i) => i.id === inv.id)) return view;
      return { ...view, invitations: [...view.invitations, inv], hands: withoutUser(view.hands, target) };
    }
    case 'invitation_declined':
    case 'invitation_withdrawn':
      return { ...view, invitations: view.invitations.filter((i) => i.user_id !== target && i.id !== change.invitation?.id) };
    case 'invitation_accepted':
    case 'role_changed': {
      const role = asRole(change.role);
      const known = view.members.find((m) => m.user_id === target);
      let members: StageMember[];
      if (role === 'audience') members = withoutUser(view.members, target);
      else if (known) members = view.members.map((m) => (m.user_id === target ? { ...m, role, since: change.at } : m));
      else members = view.members; // the reload brings their name
      // A host hand-over demotes the old host (whoever held it, usually the actor) to co-host.
      const handOver = role === 'host';
      if (handOver) members = members.map((m) => (m.user_id !== target && m.role === 'host' ? { ...m, role: 'cohost' as const, since: change.at } : m));
      const wasHost = handOver && target !== me && (view.your_role === 'host' || change.actor_id === me);
      return {
        ...view,
        members,
        hands: withoutUser(view.hands, target),
        invitations: view.invitations.filter((i) => i.user_id !== target),
        your_role: target === me ? role : wasHost ? 'cohost' : view.your_role,
      };
    }
    case 'kicked':
    case 'banned':
      return {
        ...view,
        members: withoutUser(view.members, target),
        hands: withoutUser(view.hands, target),
        invitations: view.invitations.filter((i) => i.user_id !== target),
        your_role: target === me ? 'audience' : view.your_role,
      };
    case 'unbanned':
      return { ...view, bans: withoutUser(view.bans, target) };
    case 'brought_on_air':
      // Unknown to me until now (I did not see the backstage): the reload brings their name.
      return { ...view, members: view.members.map((m) => (m.user_id === target ? { ...m, backstage: false, since: change.at } : m)) };
    case 'sent_backstage': {
      // Those who do not see the green room stop seeing them listed.
      if (target !== me && !seesBackstage(view, me)) return { ...view, members: withoutUser(view.members, target) };
      return { ...view, members: view.members.map((m) => (m.user_id === target ? { ...m, backstage: true, since: change.at } : m)) };
    }
    default:
      return view;
  }
}

/** Whether a change may alter what GET /stage shows (everything but a mute). */
export function needsReload(change: StageChange): boolean {
  return change.kind !== 'muted';
}

/**
 * Fetches the view again shortly after frames arrive, once per burst: the first poke schedules
 * a load after `delayMs`; pokes until then ride along. Answers of an older load are dropped.
 */
export class StageRefetcher {
  private timer: unknown = null;
  private seq = 0;
  private stopped = false;

  constructor(
    private readonly load: () => Promise<StageView>,
    private readonly onView: (v: StageView) => void,
    private readonly onError: (e: unknown) => void,
    private readonly delayMs = 300,
    private readonly timers: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(h: unknown): void } = {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
    },
  ) {}

  /** Loads now (the first load, a "Refresh" button). */
  async now(): Promise<void> {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    const n = ++this.seq;
    try {
      const v = await this.load();
      if (n === this.seq && !this.stopped) this.onView(v);
    } catch (e) {
      if (n === this.seq && !this.stopped) this.onError(e);
    }
  }

  /** Loads soon (a frame arrived). */
  poke(): void {
    if (this.stopped || this.timer !== null) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      void this.now();
    }, this.delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

// ---- the staff side -------------------------------------------------------------------------------

export type MemberAction = 'on_air' | 'backstage' | 'audience' | 'speaker' | 'moderator' | 'cohost' | 'host' | 'mute' | 'kick' | 'ban';

export const MEMBER_ACTION_LABEL: Record<MemberAction, string> = {
  on_air: 'Bring on air',
  backstage: 'Send backstage',
  audience: 'Move to audience',
  speaker: 'Make speaker',
  moderator: 'Make moderator',
  cohost: 'Make co-host',
  host: 'Hand over host',
  mute: 'Mute mic',
  kick: 'Kick',
  ban: 'Ban',
};

/** May `actor` act on someone with role `target` at all (the host acts on anyone else). */
export function outranks(actor: StageRole, target: StageRole): boolean {
  return actor === 'host' || ROLE_RANK[target] < ROLE_RANK[actor];
}

/** The accessible name of a member action's button ("Bring Ann on air", "Mute mic: Ann"). */
export function memberActionName(action: MemberAction, name: string): string {
  if (action === 'on_air') return `Bring ${name} on air`;
  if (action === 'backstage') return `Send ${name} backstage`;
  if (action === 'host') return `Make ${name} the host`;
  return `${MEMBER_ACTION_LABEL[action]}: ${name}`;
}

/** Whether `actor` may move someone with role `target` between the backstage and the air: the
 * host and co-hosts, by rank (moderators run the queue, not the show). */
export function canMoveStage(actor: StageRole, target: StageRole): boolean {
  return (actor === 'host' || actor === 'cohost') && canBeBackstage(target) && outranks(actor, target);
}

/** The buttons `actor` gets against a member (none against oneself), as the policy allows. */
export function memberActions(actor: StageRole, member: { user_id: string; role: StageRole; backstage?: boolean }, me: string): MemberAction[] {
  if (member.user_id === me || !isStaff(actor) || !outranks(actor, member.role)) return [];
  const t = member.role;
  const out: MemberAction[] = [];
  if (canMoveStage(actor, t)) out.push(member.backstage ? 'on_air' : 'backstage');
  if (t !== 'audience' && (t !== 'cohost' || actor === 'host')) out.push('audience');
  if (t === 'moderator' && actor === 'host') out.push('speaker');
  if (t !== 'moderator' && (actor === 'host' || actor === 'cohost')) out.push('moderator');
  if (actor === 'host' && t !== 'cohost') out.push('cohost');
  if (actor === 'host' && t !== 'audience' && !member.backstage) out.push('host');
  if (isOnStage(t)) out.push('mute');
  out.push('kick', 'ban');
  return out;
}

/** Whether `actor` may invite or lower the hand of someone in the audience. */
export function canManageHands(actor: StageRole): boolean {
  return isStaff(actor);
}

/** Hands in the order raised (oldest first), each with how long ago. */
export function handQueue(view: StageView | null): StageHand[] {
  if (!view) return [];
  return [...view.hands].sort((a, b) => (Date.parse(a.raised_at ?? '') || 0) - (Date.parse(b.raised_at ?? '') || 0));
}

/** "just now", "45 s ago", "3 min ago", "2 h ago". */
export function agoText(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

/** Members ordered by rank (host first), then name. */
export function sortedMembers(view: StageView | null): StageMember[] {
  if (!view) return [];
  return [...view.members].sort((a, b) => ROLE_RANK[asRole(b.role)] - ROLE_RANK[asRole(a.role)] || a.display_name.localeCompare(b.display_name));
}

/** The pending invitation of `userId` (staff see them all). */
export function invitationFor(view: StageView | null, userId: string): StageInvitation | null {
  return view?.invitations.find((i) => i.user_id === userId) ?? null;
}

export function banList(view: StageView | null): StageBan[] {
  return view?.bans ?? [];
}

/** The line after a staff action went through. */
export function actionDoneText(action: MemberAction | 'invite' | 'lower' | 'unban', name: string): string {
  switch (action) {
    case 'on_air':
      return `${name} is on air: everyone sees and hears them now.`;
    case 'backstage':
      return `${name} is backstage: only the host, co-hosts, moderators and the backstage see and hear them.`;
    case 'invite':
      return `${name} is invited to speak; the invitation is open for 2 minutes.`;
    case 'lower':
      return `${name}’s hand is down.`;
    case 'unban':
      return `${name} may come back to the event.`;
    case 'audience':
      return `${name} is back in the audience.`;
    case 'speaker':
      return `${name} is a speaker now.`;
    case 'moderator':
      return `${name} is a moderator now.`;
    case 'cohost':
      return `${name} is a co-host now.`;
    case 'host':
      return `${name} is the host now.`;
    case 'mute':
      return `${name}’s microphone is muted; only they can unmute it.`;
    case 'kick':
      return `${name} was removed from the event (they may come back).`;
    case 'ban':
      return `${name} is banned from the event.`;
  }
}

/** Open invitations (not expired yet), oldest first. */
export function openInvitations(view: StageView | null, now: number): StageInvitation[] {
  if (!view) return [];
  return view.invitations
    .filter((i) => !i.expires_at || secondsUntil(i.expires_at, now) > 0)
    .sort((a, b) => (Date.parse(a.created_at ?? '') || 0) - (Date.parse(b.created_at ?? '') || 0));
}

// ---- the stage log --------------------------------------------------------------------------------

/** A short stand-in for someone whose name the view does not know. */
export function shortId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

/** Names the view knows (members, hands, bans), by user id; `extra` (names seen before) fills gaps. */
export function stageNames(view: StageView | null, extra?: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>(extra ?? []);
  for (const x of [...(view?.bans ?? []), ...(view?.hands ?? []), ...(view?.members ?? [])]) out.set(x.user_id, x.display_name);
  return out;
}

const ROLE_WITH_ARTICLE: Record<StageRole, string> = {
  host: 'the host',
  cohost: 'a co-host',
  moderator: 'a moderator',
  speaker: 'a speaker',
  audience: 'the audience',
};

/** One log entry in words: "Hana invited Ann", "Ann raised a hand", "Hana brought Gus on air". */
export function stageLogText(e: StageChange, names: ReadonlyMap<string, string>): string {
  const who = (id: string) => names.get(id) ?? shortId(id);
  const actor = who(e.actor_id);
  const target = who(e.target_user_id);
  const self = e.actor_id === e.target_user_id;
  const reason = e.reason ? ` (“${e.reason}”)` : '';
  switch (e.kind) {
    case 'hand_raised':
      return `${target} raised a hand`;
    case 'hand_lowered':
      return self ? `${target} lowered their hand` : `${actor} lowered ${target}’s hand`;
    case 'invited':
      return `${actor} invited ${target}`;
    case 'invitation_accepted':
      return `${target} accepted the invitation`;
    case 'invitation_declined':
      return `${target} declined the invitation`;
    case 'invitation_withdrawn':
      return `${actor} withdrew the invitation to ${target}`;
    case 'role_changed': {
      const role = asRole(e.role);
      if (role === 'host') return `${actor} handed the host role to ${target}`;
      if (role === 'audience') return self ? `${target} stepped down to the audience` : `${actor} moved ${target} to the audience`;
      return `${actor} made ${target} ${ROLE_WITH_ARTICLE[role]}`;
    }
    case 'muted':
      return `${actor} muted ${target}’s ${e.source === 'camera' ? 'camera' : e.source === 'screen' ? 'screen' : e.source === 'screen_audio' ? 'screen audio' : 'microphone'}`;
    case 'kicked':
      return `${actor} removed ${target} from the event${reason}`;
    case 'banned':
      return `${actor} banned ${target}${reason}`;
    case 'unbanned':
      return `${actor} unbanned ${target}`;
    case 'brought_on_air':
      return `${actor} brought ${target} on air`;
    case 'sent_backstage':
      return self ? `${target} went backstage` : `${actor} sent ${target} backstage`;
    default:
      return `${actor}: ${String(e.kind).replace(/_/g, ' ')} (${target})`;
  }
}

/** Log entries newest first (the server sends them so; entries without a time keep their place). */
export function newestFirst(entries: readonly StageChange[]): StageChange[] {
  return entries
    .map((e, i) => ({ e, i, t: Date.parse(e.at ?? '') }))
    .sort((a, b) => (Number.isNaN(a.t) || Number.isNaN(b.t) ? a.i - b.i : b.t - a.t || a.i - b.i))
    .map((x) => x.e);
}
