import { useCallback, useEffect, useRef, useState } from 'react';
import { ChatPane } from '../chat/ChatPane';
import { PresenceList } from '../chat/PresenceList';
import { Avatar, ErrorMessage, Loading, StatusBadge } from '../components/ui';
import { useAuth, useUser } from '../lib/auth';
import type { ChatState } from '../lib/chatState';
import { formatWhen } from '../lib/datetime';
import { usePageTitle } from '../lib/hooks';
import { Link } from '../lib/router';
import type { StageEvent, User } from '../lib/types';
import { useEvent } from '../lib/useEvent';
import { type LiveChat, useLiveChat } from '../lib/useLiveChat';
import { ChatTranscript } from '../chat/ChatTranscript';
import { LocalPreview } from '../media/LocalPreview';
import { MediaStage } from '../media/MediaStage';
import { type DeviceKind, type LocalMedia, useLocalMedia } from '../media/useLocalMedia';
import { isBackstage, isStaff } from '../lib/stageState';
import { useStage } from '../lib/useStage';
import { AudienceStage } from '../stage/AudienceStage';
import { EventRecordings } from '../recording/EventRecordings';

/** The host as far as this page can tell: the API gives only host_id, so the name comes from
 * the chat (presence or messages) once the host has been seen there. */
export function HostLine({ event, chat, me }: { event: StageEvent; chat: ChatState; me: User }) {
  let name: string | null = null;
  let avatar: string | null = null;
  const you = event.host_id === me.id;
  if (you) {
    name = me.display_name;
    avatar = me.avatar_url;
  } else {
    const present = chat.users.find((u) => u.user_id === event.host_id);
    name = present?.display_name ?? chat.names[event.host_id] ?? null;
    avatar = present?.avatar_url ?? null;
  }
  if (!name) {
    // The API has no public profile lookup: the host's name is known once they are in the chat.
    const active = event.status === 'live' || event.status === 'scheduled';
    return active ? <p className="host-line muted">The host has not joined the chat yet.</p> : null;
  }
  return (
    <p className="host-line">
      <Avatar name={name} url={avatar} />
      <span>
        Hosted by <strong>{name}</strong>
        {you && <span className="muted"> (you)</span>}
      </span>
    </p>
  );
}

export function whenLine(e: StageEvent): string {
  switch (e.status) {
    case 'live':
      return `Live since ${formatWhen(e.went_live_at ?? e.starts_at)}`;
    case 'scheduled':
      return `Starts ${formatWhen(e.starts_at)}`;
    case 'ended':
      return `Ended ${formatWhen(e.ended_at)}`;
    default:
      return `Cancelled ${formatWhen(e.cancelled_at)}`;
  }
}

export function chatClosedReason(e: StageEvent): string | null {
  if (e.status === 'ended') return 'This event has ended, so the chat is closed.';
  if (e.status === 'cancelled') return 'This event was cancelled, so there is no chat.';
  return null;
}

/** Whether the event has a live chat (a socket); finished events show a read-only transcript. */
export function hasLiveChat(e: StageEvent): boolean {
  return e.status === 'scheduled' || e.status === 'live';
}

/** The chat column: live chat and presence, or the transcript once the event is over. */
export function ChatColumn({ event, chat }: { event: StageEvent; chat: LiveChat }) {
  const { api } = useAuth();
  const closed = chatClosedReason(event);
  if (event.status === 'cancelled') {
    return (
      <section className="card" aria-label="Chat">
        <p className="muted">{closed}</p>
      </section>
    );
  }
  if (!hasLiveChat(event)) return <ChatTranscript api={api} eventId={event.id} reason={closed ?? ''} />;
  return (
    <div className="stack">
      <ChatPane api={api} eventId={event.id} chat={chat} closedReason={closed} />
      <PresenceList state={chat.state} />
    </div>
  );
}

/** Turns every capture device off while `on` is false (a speaker moved back to the audience). */
export function useDevicesOffUnless(media: LocalMedia, on: boolean) {
  const ref = useRef(media);
  ref.current = media;
  useEffect(() => {
    if (on) return;
    const m = ref.current;
    for (const k of Object.keys(m.streams) as DeviceKind[]) if (m.streams[k]) void m.toggle(k);
  }, [on]);
}

/** What a speaker may broadcast (the host and co-hosts also share a screen). */
export const SPEAKER_DEVICES: readonly DeviceKind[] = ['camera', 'mic'];

function EventView({ event }: { event: StageEvent }) {
  const { api } = useAuth();
  const me = useUser();
  const live = hasLiveChat(event);
  const chat = useLiveChat(api, event.id, live);
  const stage = useStage(api, event.id, me.id, chat.stage, chat.state.connection, chat.kicks, live);
  const role = stage.view?.your_role ?? 'audience';
  const out = stage.status === 'removed' || stage.status === 'banned';
  // A speaker broadcasts from this page (hosts and co-hosts use the studio). A speaker waiting
  // backstage (a guest from an invite link) publishes the same way, to the green room only, and
  // may already do so before the event goes live.
  const backstage = role === 'speaker' && isBackstage(stage.view, me.id);
  const speaker = role === 'speaker' && !out && (event.status === 'live' || (backstage && event.status === 'scheduled'));
  const media = useLocalMedia();
  useDevicesOffUnless(media, speaker);
  const [speaking, setSpeaking] = useState<string | null>(null);
  const { setStatus } = stage;
  // Unmuting my microphone lifts the host's mute: the state line follows.
  const onMicMutedByHost = useCallback((held: boolean) => setStatus((s) => (held ? 'muted' : s === 'muted' ? 'on_stage' : s)), [setStatus]);
  const canHost = event.host_id === me.id || event.cohost_ids.includes(me.id) || (!out && isStaff(role));
  return (
    <>
      <div className="page-head">
        <div>
          <div className="row">
            <StatusBadge status={event.status} />
            <span className="muted small">{whenLine(event)}</span>
          </div>
          <h1>{event.title}</h1>
          <HostLine event={event} chat={chat.state} me={me} />
        </div>
        {canHost && (
          <Link to={`/events/${event.id}/studio`} className="btn btn-primary">
            Open studio
          </Link>
        )}
      </div>
      <div className="event-layout">
        <div className="stack">
          <MediaStage
            eventId={event.id}
            status={event.status}
            publishing={speaker}
            tracks={speaker ? media.tracks : undefined}
            onSpeaker={setSpeaking}
            onMicMutedByHost={speaker ? onMicMutedByHost : undefined}
          />
          {speaker && <LocalPreview media={media} broadcasting kinds={SPEAKER_DEVICES} backstage={backstage} />}
          {live && (
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
              startMic={() => {
                if (!media.streams.mic) void media.toggle('mic');
              }}
            />
          )}
          {event.description && (
            <section className="card" aria-label="About this event">
              <p className="text">{event.description}</p>
            </section>
          )}
          {(event.status === 'live' || event.status === 'ended') && !me.guest_event_id && <EventRecordings eventId={event.id} status={event.status} />}
        </div>
        <ChatColumn event={event} chat={chat} />
      </div>
    </>
  );
}

export function EventPage({ id }: { id: string }) {
  const { api } = useAuth();
  const event = useEvent(api, id);
  usePageTitle(event.status === 'ready' ? event.data.title : 'Event');
  if (event.status === 'loading') return <Loading label="Loading the event…" />;
  if (event.status === 'error') return <ErrorMessage message={event.error} onRetry={event.retryable ? event.reload : undefined} />;
  return <EventView event={event.data} />;
}
