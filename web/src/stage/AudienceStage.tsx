// The audience's side of the stage on the event page: who is on stage, a "Raise hand" / "Lower
// hand" button, the invitation to speak (Accept / Decline, with the time left and a microphone
// check), "Leave the stage" for speakers, and one state line saying where I stand. Decisions
// live in lib/stageState.ts; the view and frames come from lib/useStage.ts.
import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { ErrorMessage } from '../components/ui';
import { type ApiClient, errorText } from '../lib/api';
import { useNow } from '../lib/hooks';
import {
  MY_STATUS_TEXT,
  type MyStageStatus,
  canGoBackstage,
  handButton,
  invitationGone,
  isBackstage,
  isOnStage,
  isStaff,
  myInvitation,
  seatsTaken,
  secondsUntil,
} from '../lib/stageState';
import type { StageChanged, StageInvitation, StageView } from '../lib/types';
import { MicMeter } from '../media/LocalPreview';
import { StagePeople } from './StagePeople';

interface Props {
  api: ApiClient;
  eventId: string;
  me: string;
  view: StageView | null;
  loadError: string | null;
  status: MyStageStatus;
  speaking: string | null;
  onChanged: (r: StageChanged) => void;
  onStatus: (s: MyStageStatus) => void;
  onReload: () => void;
  /** Turns my microphone on once I am on stage (the page's publishing devices), if it can. */
  startMic?: () => void;
}

/** The state line: what happened lately, else where I stand. */
export function statusLine(view: StageView | null, status: MyStageStatus, me?: string): string | null {
  if (status) return MY_STATUS_TEXT[status];
  if (view && me && isOnStage(view.your_role) && isBackstage(view, me)) return MY_STATUS_TEXT.backstage;
  if (view && isOnStage(view.your_role)) return MY_STATUS_TEXT.on_stage;
  if (view && isStaff(view.your_role)) return 'You moderate this stage. Open the studio to manage hands and speakers.';
  return null;
}

export function AudienceStage(props: Props) {
  const { api, eventId, me, view, status } = props;
  const titleId = useId();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow(1000, !!view?.invitations.length);
  const invitation = status === 'banned' ? null : myInvitation(view, me, now);
  const hand = status === 'banned' ? null : handButton(view, me);
  const onStage = !!view && isOnStage(view.your_role);
  const line = statusLine(view, status, me);
  const backstage = onStage && isBackstage(view, me);

  // The invitation leaving the dialog without my answer: it ran out, or the host withdrew it
  // (the frame says so too; a reload after a missed frame only shows it gone).
  const shown = useRef<StageInvitation | null>(null);
  const { onStatus } = props;
  useEffect(() => {
    const prev = shown.current;
    shown.current = invitation;
    if (prev && !invitation) {
      const next = invitationGone(status, prev, view, Date.now());
      if (next !== status) onStatus(next);
    }
  }, [invitation, status, view, onStatus]);

  async function act(key: string, fn: () => Promise<StageChanged>, after?: (r: StageChanged) => void) {
    setBusy(key);
    setError(null);
    try {
      const r = await fn();
      props.onChanged(r);
      after?.(r);
    } catch (e) {
      setError(errorText(e));
      props.onReload();
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="card stage-audience" aria-labelledby={titleId} data-testid="stage-audience">
      <div className="page-head">
        <h2 id={titleId}>Stage</h2>
        {view && (
          <span className="muted small">
            {seatsTaken(view)} of {view.max_speakers} seats taken
          </span>
        )}
      </div>
      {line && (
        <p
          className={`stage-status${status === 'removed' || status === 'banned' || status === 'moved_back' || status === 'muted' || status === 'withdrawn' || status === 'expired' ? ' alert alert-warn' : ' alert alert-info'}`}
          role="status"
          data-testid="stage-status"
          data-status={status ?? (backstage ? 'backstage' : onStage ? 'on_stage' : '')}
        >
          {line}.
          {status === 'muted' && ' Unmute your microphone under the video when you are ready.'}
          {status === 'removed' && ' You may come back: you are watching from the audience again.'}
        </p>
      )}
      {props.loadError && !view && <ErrorMessage message={`Could not load the stage: ${props.loadError}`} onRetry={props.onReload} />}
      {error && <ErrorMessage message={error} />}
      <StagePeople view={view} me={me} speaking={props.speaking} />
      {invitation && (
        <InvitationDialog
          invitation={invitation}
          secondsLeft={secondsUntil(invitation.expires_at, now)}
          busy={busy}
          onAccept={(mic) =>
            void act('accept', () => api.answerInvitation(eventId, invitation.id, 'accept'), () => {
              if (mic) props.startMic?.();
            })
          }
          onDecline={() => void act('decline', () => api.answerInvitation(eventId, invitation.id, 'decline'))}
          canStartMic={!!props.startMic}
        />
      )}
      <div className="row">
        {hand === 'raise' && !invitation && (
          <button type="button" className="btn btn-primary" disabled={busy !== null} onClick={() => void act('hand', () => api.raiseHand(eventId))}>
            {busy === 'hand' ? 'Raising…' : '✋ Raise hand'}
          </button>
        )}
        {hand === 'lower' && !invitation && (
          <>
            <button type="button" className="btn" aria-pressed="true" disabled={busy !== null} onClick={() => void act('hand', () => api.lowerHand(eventId))}>
              {busy === 'hand' ? 'Lowering…' : 'Lower hand'}
            </button>
            <span className="muted small" role="status">
              Your hand is up: the hosts can invite you to speak.
            </span>
          </>
        )}
        {canGoBackstage(view, me) && (
          <button type="button" className="btn" disabled={busy !== null} onClick={() => void act('backstage', () => api.sendBackstage(eventId, me))}>
            {busy === 'backstage' ? 'Going backstage…' : 'Go backstage'}
          </button>
        )}
        {onStage && view?.your_role === 'speaker' && (
          <button
            type="button"
            className="btn"
            disabled={busy !== null}
            onClick={() =>
              void act('leave', () => api.leaveStage(eventId), () => {
                props.onStatus(null);
              })
            }
          >
            {busy === 'leave' ? 'Leaving…' : 'Leave the stage'}
          </button>
        )}
      </div>
    </section>
  );
}

/** "1:05" for 65 seconds. */
export function clock(secs: number): string {
  return `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
}

function InvitationDialog(props: {
  invitation: StageInvitation;
  secondsLeft: number;
  busy: string | null;
  canStartMic: boolean;
  onAccept: (startMic: boolean) => void;
  onDecline: () => void;
}) {
  const ids = { title: useId(), text: useId(), mic: useId() };
  const [startMic, setStartMic] = useState(true);
  const onKeyDown = (e: KeyboardEvent) => {
    // Escape declines: the host is waiting for an answer either way.
    if (e.key === 'Escape' && props.busy === null) {
      e.preventDefault();
      props.onDecline();
    }
  };
  return (
    <div
      className="alert alert-info stage-invitation"
      role="alertdialog"
      aria-labelledby={ids.title}
      aria-describedby={ids.text}
      onKeyDown={onKeyDown}
      data-testid="stage-invitation"
    >
      <h3 id={ids.title}>You're invited to speak</h3>
      <p id={ids.text}>
        The host asks you onto the stage: everyone will hear your microphone (and see your camera if you turn it on).{' '}
        <strong aria-live="off">{props.secondsLeft > 0 ? `${clock(props.secondsLeft)} left to answer.` : 'The invitation is about to expire.'}</strong>
      </p>
      <MicCheck />
      {props.canStartMic && (
        <label className="small stage-invitation-mic" htmlFor={ids.mic}>
          <input id={ids.mic} type="checkbox" checked={startMic} onChange={(e) => setStartMic(e.target.checked)} /> Turn on my microphone when I join
        </label>
      )}
      <div className="row">
        <button type="button" className="btn btn-primary" disabled={props.busy !== null} onClick={() => props.onAccept(startMic)} autoFocus>
          {props.busy === 'accept' ? 'Joining…' : 'Accept'}
        </button>
        <button type="button" className="btn" disabled={props.busy !== null} onClick={props.onDecline}>
          {props.busy === 'decline' ? 'Declining…' : 'Decline'}
        </button>
      </div>
    </div>
  );
}

/** A microphone check before going on stage: a level meter while it runs, nothing is sent. */
function MicCheck() {
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(
    () => () => {
      stream?.getTracks().forEach((t) => t.stop());
    },
    [stream],
  );
  async function start() {
    setError(null);
    try {
      const md = navigator.mediaDevices;
      if (!md) throw new Error('no mediaDevices');
      setStream(await md.getUserMedia({ audio: true }));
    } catch (e) {
      const name = (e as DOMException)?.name;
      setError(
        name === 'NotAllowedError'
          ? "Microphone access was blocked. Allow it in your browser's site settings to speak."
          : name === 'NotFoundError'
            ? 'No microphone was found. Connect one to speak.'
            : 'Could not start the microphone check. You can still accept and try from the device controls.',
      );
    }
  }
  if (stream) {
    return (
      <div className="stage-mic-check">
        <MicMeter stream={stream} />
        <button type="button" className="btn btn-small" onClick={() => setStream(null)}>
          Stop the check
        </button>
      </div>
    );
  }
  return (
    <div className="stage-mic-check">
      <button type="button" className="btn btn-small" onClick={() => void start()}>
        Check my microphone
      </button>
      <span className="small muted"> Speak and watch the level move; nothing is sent until you accept.</span>
      {error && (
        <p className="small" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
