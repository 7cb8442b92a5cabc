import { useMemo, useState } from 'react';
import { AuditLogPanel, ChatSettingsPanel, HeldMessagesPanel, StandingPanel } from '../chat/ModerationPanels';
import { ErrorMessage, Loading, StatusBadge } from '../components/ui';
import { DestinationsPanel } from '../destinations/DestinationsPanel';
import { useAuth, useUser } from '../lib/auth';
import { canModerate } from '../lib/chatState';
import { useAction, useAsync, usePageTitle } from '../lib/hooks';
import { Link } from '../lib/router';
import { backstageMembers, isBackstage, isOnStage, isStaff } from '../lib/stageState';
import type { StageEvent, StageRole } from '../lib/types';
import { useStage } from '../lib/useStage';
import { useEvent } from '../lib/useEvent';
import { useLiveChat } from '../lib/useLiveChat';
import { LocalPreview } from '../media/LocalPreview';
import { MediaStage } from '../media/MediaStage';
import { OnStagePanel } from '../media/OnStagePanel';
import { useLocalMedia } from '../media/useLocalMedia';
import { AudienceStage } from '../stage/AudienceStage';
import { RecordingPanel } from '../recording/RecordingPanel';
import { GuestLinksPanel } from '../stage/GuestLinksPanel';
import { StageControlPanel } from '../stage/StageControlPanel';
import { ChatColumn, HostLine, SPEAKER_DEVICES, hasLiveChat, useDevicesOffUnless, whenLine } from './EventPage';

type Confirm = 'end' | 'cancel' | null;

function LifecycleControls({ event, isHost, onChange }: { event: StageEvent; isHost: boolean; onChange: (e: StageEvent) => void }) {
  const { api, user } = useAuth();
  // A guest's session cannot open the edit page (their session is for this page and the event's).
  const guest = !!user?.guest_event_id;
  const action = useAction();
  const [confirm, setConfirm] = useState<Confirm>(null);

  async function go(kind: 'go-live' | 'end' | 'cancel') {
    const next = await action.run(() => api.transition(event.id, kind));
    setConfirm(null);
    if (next) onChange(next);
  }

  return (
    <div className="stack">
      {action.error && <ErrorMessage message={action.error} />}
      {confirm ? (
        <div className="alert alert-warn" role="alertdialog" aria-labelledby="confirm-text">
          <p id="confirm-text">
            {confirm === 'end'
              ? 'End the event for everyone? The chat closes and this cannot be undone.'
              : 'Cancel this event? Viewers will see it as cancelled and this cannot be undone.'}
          </p>
          <div className="row">
            <button type="button" className="btn btn-danger" disabled={action.busy} onClick={() => go(confirm)} autoFocus>
              {confirm === 'end' ? 'Yes, end the event' : 'Yes, cancel the event'}
            </button>
            <button type="button" className="btn" onClick={() => setConfirm(null)}>
              {confirm === 'end' ? 'Keep it live' : 'Keep it scheduled'}
            </button>
          </div>
        </div>
      ) : (
        <div className="row">
          {event.status === 'scheduled' && (
            <button type="button" className="btn btn-live" disabled={action.busy} onClick={() => go('go-live')}>
              {action.busy ? 'Going live…' : 'Go live'}
            </button>
          )}
          {event.status === 'live' && (
            <button type="button" className="btn btn-danger" disabled={action.busy} onClick={() => setConfirm('end')}>
              End event
            </button>
          )}
          {event.status === 'scheduled' && isHost && (
            <button type="button" className="btn btn-danger" disabled={action.busy} onClick={() => setConfirm('cancel')}>
              Cancel event
            </button>
          )}
          {(event.status === 'scheduled' || event.status === 'live') && !guest && (
            <Link to={`/events/${event.id}/edit`} className="btn">
              Edit details
            </Link>
          )}
          <Link to={`/events/${event.id}`} className="btn">
            Audience view
          </Link>
        </div>
      )}
    </div>
  );
}

function Studio({ event, onChange }: { event: StageEvent; onChange: (e: StageEvent) => void }) {
  const { api } = useAuth();
  const me = useUser();
  const live = hasLiveChat(event);
  const chat = useLiveChat(api, event.id, live);
  const stage = useStage(api, event.id, me.id, chat.stage, chat.state.connection, chat.kicks, live);
  const isHost = event.host_id === me.id;
  // The event's host and co-hosts run it; the stage's roles add co-hosts, moderators and speakers.
  const runsEvent = isHost || event.cohost_ids.includes(me.id);
  const role: StageRole = stage.view?.your_role ?? (runsEvent ? (isHost ? 'host' : 'cohost') : 'audience');
  const out = stage.status === 'removed' || stage.status === 'banned';
  const staff = !out && (runsEvent || isStaff(role));
  // Who may broadcast: the host and co-hosts (also backstage while scheduled) and speakers.
  const publisher = !out && (runsEvent || isOnStage(role));
  const mod = canModerate(chat.state);
  // One set of devices: previewed below, broadcast by the stage.
  const media = useLocalMedia();
  useDevicesOffUnless(media, publisher);
  const broadcasting = event.status === 'live' || event.status === 'scheduled';
  // Bumped by the stage whenever the SFU reports a change in the room.
  const [roomKey, setRoomKey] = useState('');
  const [speaking, setSpeaking] = useState<string | null>(null);
  // The green room: who waits backstage (their tiles get a badge) and the cameras received of them.
  const backstage = backstageMembers(stage.view);
  const backstageKey = backstage.map((m) => m.user_id).join(',');
  const backstageUsers = useMemo(() => (backstageKey ? backstageKey.split(',') : []), [backstageKey]);
  const [cameras, setCameras] = useState<ReadonlyMap<string, MediaStreamTrack>>(() => new Map());
  return (
    <>
      <div className="page-head">
        <div>
          <div className="row">
            <StatusBadge status={event.status} />
            <span className="muted small">{whenLine(event)}</span>
          </div>
          <h1>
            <span className="visually-hidden">Studio: </span>
            {event.title}
          </h1>
          <HostLine event={event} chat={chat.state} me={me} />
        </div>
        {runsEvent || role === 'host' || role === 'cohost' ? (
          <LifecycleControls event={event} isHost={isHost} onChange={onChange} />
        ) : (
          <Link to={`/events/${event.id}`} className="btn">
            Audience view
          </Link>
        )}
      </div>
      <div className="event-layout">
        <div className="stack">
          <MediaStage
            eventId={event.id}
            status={event.status}
            publishing={publisher}
            tracks={publisher ? media.tracks : undefined}
            onRoomChange={setRoomKey}
            onSpeaker={setSpeaking}
            backstageUsers={backstageUsers}
            onCameras={setCameras}
          />
          {publisher && (
            <LocalPreview
              media={media}
              broadcasting={broadcasting}
              kinds={runsEvent || role === 'host' || role === 'cohost' ? undefined : SPEAKER_DEVICES}
              backstage={isBackstage(stage.view, me.id)}
            />
          )}
          {broadcasting && (runsEvent || role === 'host' || role === 'cohost') && !out && (
            <RecordingPanel api={api} eventId={event.id} status={event.status} subscribe={chat.subscribe} />
          )}
          {broadcasting && (runsEvent || role === 'host' || role === 'cohost') && !out && (
            <DestinationsPanel api={api} eventId={event.id} status={event.status} subscribe={chat.subscribe} />
          )}
          {live && staff && (
            <StageControlPanel
              api={api}
              eventId={event.id}
              me={me.id}
              view={stage.view}
              loadError={stage.error}
              speaking={speaking}
              onChanged={stage.applied}
              onReload={stage.reload}
              cameras={cameras}
              frames={chat.stage.seq}
            />
          )}
          {live && !staff && (
            <AudienceStage
              api={api}
              eventId={event.id}
              me={me.id}
              view={stage.view}
              loadError={stage.error}
              status={stage.status}
              speaking={speaking}
              onChanged={stage.applied}
              onStatus={stage.setStatus}
              onReload={stage.reload}
            />
          )}
          {live && staff && (runsEvent || role === 'host' || role === 'cohost') && (
            <GuestLinksPanel api={api} eventId={event.id} isHost={isHost || role === 'host'} />
          )}
          {broadcasting && staff && <OnStagePanel api={api} eventId={event.id} myUserId={me.id} refreshKey={roomKey} />}
          {mod && hasLiveChat(event) && (
            <div className="studio-grid">
              <ChatSettingsPanel api={api} eventId={event.id} state={chat.state} />
              <HeldMessagesPanel api={api} eventId={event.id} />
              <StandingPanel
                api={api}
                eventId={event.id}
                state={chat.state}
                canAppoint={chat.state.you?.role === 'host' || chat.state.you?.role === 'cohost'}
              />
              <AuditLogPanel api={api} eventId={event.id} state={chat.state} />
            </div>
          )}
        </div>
        <ChatColumn event={event} chat={chat} />
      </div>
    </>
  );
}

export function StudioPage({ id }: { id: string }) {
  const { api } = useAuth();
  const me = useUser();
  const event = useEvent(api, id);
  // The stage role admits speakers and moderators too (the same role their media token carries).
  const stageRole = useAsync(() => api.stage(id).then((v) => v.your_role), [api, id]);
  usePageTitle(event.status === 'ready' ? `Studio · ${event.data.title}` : 'Studio');
  if (event.status === 'loading') return <Loading label="Loading the studio…" />;
  if (event.status === 'error') return <ErrorMessage message={event.error} onRetry={event.retryable ? event.reload : undefined} />;
  const e = event.data;
  if (e.host_id !== me.id && !e.cohost_ids.includes(me.id)) {
    if (stageRole.status === 'loading') return <Loading label="Loading the studio…" />;
    const r = stageRole.status === 'ready' ? stageRole.data : 'audience';
    if (r !== 'audience') return <Studio event={e} onChange={event.set} />;
    return (
      <div className="narrow">
        <ErrorMessage message="Only the host, co-hosts, moderators and speakers can open the studio. Raise your hand on the event page to be invited on stage." />
        <Link to={`/events/${e.id}`}>Go to the event page</Link>
      </div>
    );
  }
  return <Studio event={e} onChange={event.set} />;
}
