// The studio's "Stage" panel (host, co-hosts, moderators): the hand queue with Invite and Lower,
// the members with role badges and what the policy lets me do to each (move to audience, make
// moderator or co-host, mute their microphone, kick, ban: the last two after a confirm step with
// an optional reason), and the bans with Unban. Decisions live in lib/stageState.ts.
import { useEffect, useId, useRef, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Avatar, Empty, ErrorMessage, Loading } from '../components/ui';
import { type ApiClient, errorText } from '../lib/api';
import { useNow } from '../lib/hooks';
import {
  MEMBER_ACTION_LABEL,
  type MemberAction,
  actionDoneText,
  agoText,
  asRole,
  backstageMembers,
  canGoBackstage,
  handQueue,
  invitationFor,
  isBackstage,
  isStaff,
  memberActionName,
  memberActions,
  newestFirst,
  onAirMembers,
  openInvitations,
  seatsTaken,
  secondsUntil,
  shortId,
  stageLogText,
  stageNames,
} from '../lib/stageState';
import type { StageChange, StageChanged, StageInvitation, StageMember, StageView } from '../lib/types';
import { TrackPreview } from '../media/MediaStage';
import { clock } from './AudienceStage';
import { StageRoleBadge } from './StagePeople';

interface Props {
  api: ApiClient;
  eventId: string;
  me: string;
  view: StageView | null;
  loadError: string | null;
  speaking: string | null;
  onChanged: (r: StageChanged) => void;
  onReload: () => void;
  /** The camera the studio receives of each user (by user id), for the backstage previews. */
  cameras?: ReadonlyMap<string, MediaStreamTrack>;
  /** Counts the `stage` frames received (the open stage log reloads on each). */
  frames?: number;
}

type Confirm = { userId: string; name: string; action: 'kick' | 'ban' | 'host' } | null;

export function StageControlPanel({ api, eventId, me, view, loadError, speaking, onChanged, onReload, cameras, frames }: Props) {
  const titleId = useId();
  const backstageTitleId = useId();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [reason, setReason] = useState('');
  const openers = useRef(new Map<string, HTMLButtonElement>());
  const now = useNow(1000, !!view && (view.hands.length > 0 || view.invitations.length > 0));
  const myRole = view ? view.your_role : 'audience';
  // Names seen so far (a hand goes down once invited; the invitation and the log still name them).
  const seenNames = useRef(new Map<string, string>());
  const names = stageNames(view, seenNames.current);
  seenNames.current = names;
  const nameOf = (userId: string) => names.get(userId) ?? shortId(userId);

  async function run(key: string, what: string, fn: () => Promise<StageChanged | unknown>, doneText: string) {
    setBusy(key);
    setError(null);
    setDone(null);
    try {
      const r = await fn();
      if (r && typeof r === 'object' && 'change' in r) onChanged(r as StageChanged);
      else onReload();
      setDone(doneText);
      return true;
    } catch (e) {
      setError(`Could not ${what}: ${errorText(e)}`);
      onReload();
      return false;
    } finally {
      setBusy(null);
    }
  }

  function memberAction(userId: string, name: string, a: MemberAction) {
    if (a === 'kick' || a === 'ban' || a === 'host') {
      setError(null);
      setDone(null);
      setReason('');
      setConfirm({ userId, name, action: a });
      return;
    }
    const key = `${userId}:${a}`;
    const what = `${MEMBER_ACTION_LABEL[a].toLowerCase()} (${name})`;
    if (a === 'mute') void run(key, what, () => api.stageMute(eventId, userId, 'microphone'), actionDoneText(a, name));
    else if (a === 'on_air') void run(key, `bring ${name} on air`, () => api.bringOnAir(eventId, userId), actionDoneText(a, name));
    else if (a === 'backstage') void run(key, `send ${name} backstage`, () => api.sendBackstage(eventId, userId), actionDoneText(a, name));
    else void run(key, what, () => api.setStageRole(eventId, userId, a), actionDoneText(a, name));
  }

  async function confirmed() {
    if (!confirm) return;
    const { userId, name, action } = confirm;
    const r = reason.trim() || undefined;
    const ok = await run(
      `${userId}:${action}`,
      action === 'host' ? `make ${name} the host` : `${action} ${name}`,
      () =>
        action === 'host'
          ? api.setStageRole(eventId, userId, 'host')
          : action === 'kick'
            ? api.kick(eventId, userId, r)
            : api.banFromEvent(eventId, userId, r),
      action === 'host' ? `${actionDoneText('host', name)} You are a co-host.` : actionDoneText(action, name),
    );
    // Handing over changes who may do what here: fetch the stage as it is now.
    if (ok && action === 'host') onReload();
    if (ok) {
      setConfirm(null);
      setReason('');
    }
  }

  function cancelConfirm() {
    const c = confirm;
    setConfirm(null);
    setReason('');
    if (c) window.setTimeout(() => openers.current.get(`${c.userId}:${c.action}`)?.focus(), 0);
  }

  const opener = (key: string) => (el: HTMLButtonElement | null) => {
    if (el) openers.current.set(key, el);
    else openers.current.delete(key);
  };

  const hands = handQueue(view);
  const members = onAirMembers(view);
  const backstage = backstageMembers(view);
  const staff = isStaff(myRole);
  const meBackstage = isBackstage(view, me);
  const handIds = new Set(hands.map((h) => h.user_id));
  const invitedOnly = openInvitations(view, now).filter((i) => !handIds.has(i.user_id));
  const withdrawButton = (inv: StageInvitation, name: string) => (
    <button
      type="button"
      className="btn btn-small"
      disabled={busy !== null}
      aria-label={`Withdraw the invitation to ${name}`}
      onClick={() =>
        void run(`${inv.id}:withdraw`, `withdraw the invitation to ${name}`, () => api.withdrawInvitation(eventId, inv.id), `The invitation to ${name} is withdrawn.`)
      }
    >
      {busy === `${inv.id}:withdraw` ? 'Withdrawing…' : 'Withdraw'}
    </button>
  );
  const confirmBox = (userId: string) =>
    confirm?.userId === userId ? (
      confirm.action === 'host' ? (
        <HostConfirm
          name={confirm.name}
          busy={busy === `${userId}:host`}
          onConfirm={() => void confirmed()}
          onCancel={cancelConfirm}
        />
      ) : (
      <KickBanConfirm
        name={confirm.name}
        action={confirm.action}
        reason={reason}
        onReason={setReason}
        busy={busy === `${userId}:${confirm.action}`}
        onConfirm={() => void confirmed()}
        onCancel={cancelConfirm}
      />
      )
    ) : null;

  const memberRow = (m: StageMember, inBackstage = false) => {
    const actions = memberActions(myRole, { user_id: m.user_id, role: asRole(m.role), backstage: m.backstage === true }, me);
    const isSpeaking = speaking === m.user_id;
    const camera = inBackstage ? cameras?.get(m.user_id) : undefined;
    return (
      <li
        key={m.user_id}
        data-testid={inBackstage ? 'stage-backstage-row' : 'stage-member-row'}
        data-user-id={m.user_id}
        data-role={m.role}
        data-backstage={inBackstage ? 'true' : undefined}
        className={isSpeaking ? 'speaking' : undefined}
      >
        <div className="host-line">
          <span className="stage-avatar-ring">
            <Avatar name={m.display_name} url={m.avatar_url} size={32} />
          </span>
          <strong>{m.display_name}</strong>
          {m.user_id === me && <span className="muted small">(you)</span>}
          <StageRoleBadge role={m.role} />
          {inBackstage && <span className="badge badge-backstage">Backstage</span>}
          {isSpeaking && <span className="small muted">speaking</span>}
        </div>
        {inBackstage &&
          (camera ? (
            <TrackPreview track={camera} label={`${m.display_name}'s camera (backstage preview)`} className="backstage-preview" />
          ) : (
            <p className="small muted">No camera from {m.display_name} yet.</p>
          ))}
        {confirmBox(m.user_id) ??
          (actions.length > 0 && (
            <div className="row" role="group" aria-label={`Actions for ${m.display_name}`}>
              {actions.map((a) => (
                <button
                  key={a}
                  type="button"
                  className={`btn btn-small${a === 'kick' || a === 'ban' ? ' btn-danger' : a === 'on_air' ? ' btn-primary' : ''}`}
                  disabled={busy !== null}
                  aria-label={memberActionName(a, m.display_name)}
                  ref={a === 'kick' || a === 'ban' || a === 'host' ? opener(`${m.user_id}:${a}`) : undefined}
                  onClick={() => memberAction(m.user_id, m.display_name, a)}
                >
                  {busy === `${m.user_id}:${a}` ? 'Working…' : MEMBER_ACTION_LABEL[a]}
                </button>
              ))}
            </div>
          ))}
      </li>
    );
  };

  return (
    <section className="card stage-panel" aria-labelledby={titleId} data-testid="stage-panel">
      <div className="page-head">
        <h2 id={titleId}>Stage</h2>
        <button type="button" className="btn btn-small" onClick={onReload}>
          Refresh
        </button>
      </div>
      {view && (
        <p className="small muted">
          {seatsTaken(view)} of {view.max_speakers} speaker seats taken{backstage.length > 0 ? ` (${backstage.length} backstage, without a seat)` : ''}.
          Invitations are open for 2 minutes.
        </p>
      )}
      {done && (
        <p className="alert alert-info" role="status">
          {done}
        </p>
      )}
      {error && <ErrorMessage message={error} />}
      {loadError && <ErrorMessage message={`Could not load the stage: ${loadError}`} onRetry={onReload} />}
      {!view && !loadError && <Loading label="Loading the stage…" />}
      {view && !staff && <p className="muted">Only the host, co-hosts and moderators manage the stage.</p>}
      {(myRole === 'cohost' || myRole === 'moderator') && (
        <p className="small muted">
          You are a {myRole === 'cohost' ? 'co-host' : 'moderator'} on this stage.{' '}
          <button
            type="button"
            className="btn btn-small"
            disabled={busy !== null}
            onClick={() => void run('me:leave', 'step down', () => api.leaveStage(eventId), 'You are back in the audience.')}
          >
            {busy === 'me:leave' ? 'Stepping down…' : 'Step down to the audience'}
          </button>{' '}
          {canGoBackstage(view, me) && (
            <button
              type="button"
              className="btn btn-small"
              disabled={busy !== null}
              onClick={() => void run('me:backstage', 'go backstage', () => api.sendBackstage(eventId, me), 'You are backstage now.')}
            >
              {busy === 'me:backstage' ? 'Going backstage…' : 'Go backstage'}
            </button>
          )}
        </p>
      )}
      {meBackstage && (
        <p className="alert alert-info stage-status" role="status" data-testid="stage-status" data-status="backstage">
          You're backstage: the host will bring you on air. Until then only the host, co-hosts, moderators and the backstage see and hear you.
        </p>
      )}

      {view && staff && (
        <>
          <h3>Raised hands</h3>
          {hands.length === 0 ? (
            <Empty>No hands are up.</Empty>
          ) : (
            <ul className="panel-list stage-list" data-testid="stage-hands">
              {hands.map((h) => {
                const inv = invitationFor(view, h.user_id);
                const left = inv ? secondsUntil(inv.expires_at, now) : 0;
                return (
                  <li key={h.user_id} data-testid="stage-hand" data-user-id={h.user_id}>
                    <div className="host-line">
                      <Avatar name={h.display_name} url={h.avatar_url} />
                      <strong>{h.display_name}</strong>
                      <span className="muted small">
                        <time dateTime={h.raised_at ?? undefined}>raised {agoText(h.raised_at, now)}</time>
                      </span>
                    </div>
                    {inv && left > 0 && <p className="small muted">Invited: {clock(left)} left to answer.</p>}
                    <div className="row" role="group" aria-label={`Hand of ${h.display_name}`}>
                      <button
                        type="button"
                        className="btn btn-small btn-primary"
                        disabled={busy !== null || (!!inv && left > 0)}
                        aria-label={`Invite ${h.display_name} to speak`}
                        onClick={() => void run(`${h.user_id}:invite`, `invite ${h.display_name}`, () => api.invite(eventId, h.user_id), actionDoneText('invite', h.display_name))}
                      >
                        {busy === `${h.user_id}:invite` ? 'Inviting…' : 'Invite'}
                      </button>
                      <button
                        type="button"
                        className="btn btn-small"
                        disabled={busy !== null}
                        aria-label={`Lower ${h.display_name}’s hand`}
                        onClick={() => void run(`${h.user_id}:lower`, `lower ${h.display_name}’s hand`, () => api.lowerHandOf(eventId, h.user_id), actionDoneText('lower', h.display_name))}
                      >
                        {busy === `${h.user_id}:lower` ? 'Lowering…' : 'Lower'}
                      </button>
                      {inv && left > 0 && withdrawButton(inv, h.display_name)}
                    </div>
                  </li>
                );
              })}
            </ul>
          )}

          {invitedOnly.length > 0 && (
            <>
              <h3>Invited</h3>
              <ul className="panel-list stage-list" data-testid="stage-invitations">
                {invitedOnly.map((inv) => {
                  const name = nameOf(inv.user_id);
                  return (
                    <li key={inv.id} data-testid="stage-invitation-row" data-user-id={inv.user_id}>
                      <div className="host-line">
                        <strong>{name}</strong>
                        <span className="muted small">{clock(secondsUntil(inv.expires_at, now))} left to answer</span>
                      </div>
                      <div className="row" role="group" aria-label={`Invitation of ${name}`}>
                        {withdrawButton(inv, name)}
                      </div>
                    </li>
                  );
                })}
              </ul>
            </>
          )}

          <h3>On stage</h3>
          {members.length === 0 ? (
            <Empty>Nobody is on stage.</Empty>
          ) : (
            <ul className="panel-list stage-list" data-testid="stage-members">
              {members.map((m) => memberRow(m))}
            </ul>
          )}

          <section className="stage-backstage" aria-labelledby={backstageTitleId} data-testid="stage-backstage">
            <h3 id={backstageTitleId}>Backstage</h3>
            <p className="small muted">
              Guests from invite links wait here. Only the host, co-hosts, moderators and the backstage see and hear them until they are brought on air.
            </p>
            {backstage.length === 0 ? (
              <Empty>Nobody is backstage.</Empty>
            ) : (
              <ul className="panel-list stage-list" data-testid="stage-backstage-members">
                {backstage.map((m) => memberRow(m, true))}
              </ul>
            )}
          </section>

          <h3>Banned</h3>
          {view.bans.length === 0 ? (
            <Empty>Nobody is banned.</Empty>
          ) : (
            <ul className="panel-list stage-list" data-testid="stage-bans">
              {view.bans.map((b) => (
                <li key={b.user_id} data-user-id={b.user_id}>
                  <div className="host-line">
                    <Avatar name={b.display_name} url={b.avatar_url} />
                    <strong>{b.display_name}</strong>
                    <span className="muted small">banned {agoText(b.banned_at, now)}</span>
                  </div>
                  {b.reason && <p className="small muted">Reason: {b.reason}</p>}
                  <button
                    type="button"
                    className="btn btn-small"
                    disabled={busy !== null}
                    aria-label={`Unban ${b.display_name}`}
                    onClick={() => void run(`${b.user_id}:unban`, `unban ${b.display_name}`, () => api.unbanFromEvent(eventId, b.user_id), actionDoneText('unban', b.display_name))}
                  >
                    {busy === `${b.user_id}:unban` ? 'Unbanning…' : 'Unban'}
                  </button>
                </li>
              ))}
            </ul>
          )}

          <StageLogSection api={api} eventId={eventId} names={names} refresh={`${frames ?? 0}`} view={view} />
        </>
      )}
    </section>
  );
}

/** "Stage log" (staff): the latest changes in words, newest first; loaded on open, reloaded on
 * each stage frame while open. */
function StageLogSection(props: {
  api: ApiClient;
  eventId: string;
  names: ReadonlyMap<string, string>;
  refresh: string;
  view: StageView | null;
}) {
  const { api, eventId, refresh, view } = props;
  const titleId = useId();
  const [open, setOpen] = useState(false);
  const [entries, setEntries] = useState<StageChange[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loaded = useRef(false);

  useEffect(() => {
    if (!open) {
      loaded.current = false;
      return;
    }
    let cancelled = false;
    // The first load at once; later ones (frames, reloads of the view) once a burst settles.
    const timer = window.setTimeout(
      () => {
        api.stageLog(eventId, 50).then(
          (r) => {
            if (cancelled) return;
            loaded.current = true;
            setEntries(newestFirst(r.entries));
            setError(null);
          },
          (e: unknown) => {
            if (!cancelled) setError(errorText(e));
          },
        );
      },
      loaded.current ? 300 : 0,
    );
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [api, eventId, open, refresh, view]);

  return (
    <details className="stage-log" data-testid="stage-log" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>
        <h3 id={titleId}>Stage log</h3>
      </summary>
      {error && <ErrorMessage message={`Could not load the stage log: ${error}`} />}
      {open && entries === null && !error && <Loading label="Loading the stage log…" />}
      {entries &&
        (entries.length === 0 ? (
          <Empty>Nothing has happened on this stage yet.</Empty>
        ) : (
          <ol className="panel-list stage-log-list" aria-labelledby={titleId}>
            {entries.map((e, i) => (
              <li key={`${e.at ?? ''}:${e.kind}:${e.target_user_id}:${i}`} data-kind={e.kind}>
                {e.at && (
                  <time className="muted small" dateTime={e.at}>
                    {new Date(e.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })}
                  </time>
                )}{' '}
                {stageLogText(e, props.names)}
              </li>
            ))}
          </ol>
        ))}
    </details>
  );
}

function HostConfirm(props: { name: string; busy: boolean; onConfirm: () => void; onCancel: () => void }) {
  return (
    <ConfirmDialog
      text={`Make ${props.name} the host? They run the stage from now on, and you stay on it as a co-host.`}
      confirmLabel={`Yes, make ${props.name} the host`}
      busyLabel="Handing over…"
      danger={false}
      busy={props.busy}
      onConfirm={props.onConfirm}
      onCancel={props.onCancel}
    />
  );
}

function KickBanConfirm(props: {
  name: string;
  action: 'kick' | 'ban';
  reason: string;
  onReason: (r: string) => void;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const kick = props.action === 'kick';
  return (
    <ConfirmDialog
      text={
        kick
          ? `Remove ${props.name} from the event? They are disconnected, and may come back.`
          : `Ban ${props.name} from the event? They are disconnected and cannot come back until you unban them.`
      }
      confirmLabel={kick ? `Yes, kick ${props.name}` : `Yes, ban ${props.name}`}
      busyLabel={kick ? 'Kicking…' : 'Banning…'}
      reason={{ value: props.reason, onChange: props.onReason }}
      busy={props.busy}
      onConfirm={props.onConfirm}
      onCancel={props.onCancel}
    />
  );
}
