import { useState } from 'react';
import { AuditLogPanel, ChatSettingsPanel, HeldMessagesPanel, StandingPanel } from '../chat/ModerationPanels';
import { ErrorMessage, Loading, StatusBadge } from '../components/ui';
import { useAuth, useUser } from '../lib/auth';
import { canModerate } from '../lib/chatState';
import { useAction, usePageTitle } from '../lib/hooks';
import { Link } from '../lib/router';
import type { StageEvent } from '../lib/types';
import { useEvent } from '../lib/useEvent';
import { useLiveChat } from '../lib/useLiveChat';
import { LocalPreview } from '../media/LocalPreview';
import { MediaStage } from '../media/MediaStage';
import { OnStagePanel } from '../media/OnStagePanel';
import { useLocalMedia } from '../media/useLocalMedia';
import { ChatColumn, HostLine, hasLiveChat, whenLine } from './EventPage';

type Confirm = 'end' | 'cancel' | null;

function LifecycleControls({ event, isHost, onChange }: { event: StageEvent; isHost: boolean; onChange: (e: StageEvent) => void }) {
  const { api } = useAuth();
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
          {(event.status === 'scheduled' || event.status === 'live') && (
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
  const chat = useLiveChat(api, event.id, hasLiveChat(event));
  const isHost = event.host_id === me.id;
  const mod = canModerate(chat.state);
  // One set of devices: previewed below, broadcast by the stage.
  const media = useLocalMedia();
  const broadcasting = event.status === 'live' || event.status === 'scheduled';
  // Bumped by the stage whenever the SFU reports a change in the room.
  const [roomKey, setRoomKey] = useState('');
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
        <LifecycleControls event={event} isHost={isHost} onChange={onChange} />
      </div>
      <div className="event-layout">
        <div className="stack">
          <MediaStage eventId={event.id} status={event.status} publishing tracks={media.tracks} onRoomChange={setRoomKey} />
          <LocalPreview media={media} broadcasting={broadcasting} />
          {broadcasting && <OnStagePanel api={api} eventId={event.id} myUserId={me.id} refreshKey={roomKey} />}
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
  usePageTitle(event.status === 'ready' ? `Studio · ${event.data.title}` : 'Studio');
  if (event.status === 'loading') return <Loading label="Loading the studio…" />;
  if (event.status === 'error') return <ErrorMessage message={event.error} onRetry={event.retryable ? event.reload : undefined} />;
  const e = event.data;
  if (e.host_id !== me.id && !e.cohost_ids.includes(me.id)) {
    return (
      <div className="narrow">
        <ErrorMessage message="Only the host and co-hosts can open the studio. Ask the host to add you as a co-host, or watch from the event page." />
        <Link to={`/events/${e.id}`}>Go to the event page</Link>
      </div>
    );
  }
  return <Studio event={e} onChange={event.set} />;
}
