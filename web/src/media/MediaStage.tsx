// The video area of the event page and the studio: live video through our SFU (lib/sfu.ts).
//   - viewers: while the event is live, join the room subscribe-only and show everyone on stage
//     (one tile per video track with name, avatar, muted state and an active-speaker ring; the
//     audio plays through one <audio> per track);
//   - the studio (`publishing`): join with the host's token (backstage while scheduled too),
//     broadcast the tracks the studio's device toggles turn on (`tracks`), and show the others.
// The connection comes back by itself after a drop; a final failure says what to do.
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { Avatar } from '../components/ui';
import { useAuth } from '../lib/auth';
import { useNow } from '../lib/hooks';
import type { RemoteTrack, SfuSnapshot } from '../lib/sfu';
import { stageFingerprint } from '../lib/stageControl';
import type { EventStatus, TrackSource } from '../lib/types';
import { useSfu } from './useSfu';

interface Props {
  eventId: string;
  status: EventStatus;
  /** The studio: the caller will publish rather than only watch. */
  publishing?: boolean;
  /** The studio's tracks to broadcast (memoised; see useLocalMedia). */
  tracks?: Partial<Record<TrackSource, MediaStreamTrack>>;
  /** Called with a fingerprint of the room whenever the SFU reports a change (the studio's
   * "On stage" panel reloads on it). */
  onRoomChange?: (fingerprint: string) => void;
  /** Called with the user id of whoever speaks now (null: nobody), for the stage's member list. */
  onSpeaker?: (userId: string | null) => void;
  /** Called with whether a host's mute holds my microphone (it lifts when I unmute). */
  onMicMutedByHost?: (muted: boolean) => void;
  /** User ids of the backstage (the green room): their tiles carry a "Backstage" badge. */
  backstageUsers?: readonly string[];
  /** Called with the camera received of each user (by user id), e.g. for backstage previews. */
  onCameras?: (cameras: ReadonlyMap<string, MediaStreamTrack>) => void;
}

/** A small muted video of one received track (the studio's backstage previews). */
export function TrackPreview({ track, label, className }: { track: MediaStreamTrack; label: string; className?: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const v = ref.current;
    if (!v) return;
    v.srcObject = new MediaStream([track]);
    v.play().catch(() => undefined);
    return () => {
      v.srcObject = null;
    };
  }, [track]);
  return <video ref={ref} className={className} autoPlay playsInline muted aria-label={label} data-testid="backstage-preview" />;
}

const SOURCE_LABEL: Record<TrackSource, string> = { camera: 'camera', microphone: 'microphone', screen: 'screen', screen_audio: 'screen audio' };

function headline(status: EventStatus, publishing: boolean, backstage = false): string {
  if (publishing && backstage && (status === 'live' || status === 'scheduled')) return 'You are backstage: only the host and the backstage see and hear you.';
  if (status === 'live') return publishing ? 'You are live: the chat is open.' : 'This event is live.';
  if (status === 'scheduled') return 'The event has not started yet.';
  if (status === 'ended') return 'This event has ended.';
  return 'This event was cancelled.';
}

function VideoTile({ t, speaking, micMuted, backstage }: { t: RemoteTrack; speaking: boolean; micMuted: boolean; backstage: boolean }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const v = ref.current;
    if (!v) return;
    v.srcObject = new MediaStream([t.track]);
    v.play().catch(() => undefined);
    return () => {
      v.srcObject = null;
    };
  }, [t.track]);
  const what = t.source === 'screen' ? 'screen' : 'camera';
  return (
    <figure
      className={`tile${t.source === 'screen' ? ' tile-screen' : ''}${speaking ? ' speaking' : ''}`}
      data-testid="remote-video"
      data-source={t.source}
      data-participant-name={t.name}
      data-muted={t.muted ? 'true' : 'false'}
      data-backstage={backstage ? 'true' : undefined}
    >
      <video ref={ref} autoPlay playsInline muted aria-label={`${t.name}'s ${what}`} />
      {t.muted && (
        <div className="tile-off" aria-hidden="true">
          <Avatar name={t.name} url={t.avatar} size={64} />
        </div>
      )}
      <figcaption className="tile-name">
        <Avatar name={t.name} url={t.avatar} size={22} />
        <span className="tile-who">{t.name}</span>
        {backstage && <span className="tile-tag tile-backstage">Backstage</span>}
        {t.source === 'screen' && <span className="tile-tag">Screen</span>}
        {t.muted && <span className="tile-tag">{t.source === 'screen' ? 'Paused' : 'Camera off'}</span>}
        {t.source === 'camera' && micMuted && (
          <span className="tile-tag" title="Microphone muted">
            Muted
          </span>
        )}
        {speaking && <span className="visually-hidden">(speaking)</span>}
      </figcaption>
    </figure>
  );
}

/** Someone on stage with a microphone and no camera. */
function VoiceTile({ name, avatar, speaking, muted, backstage }: { name: string; avatar: string | null; speaking: boolean; muted: boolean; backstage: boolean }) {
  return (
    <figure
      className={`tile tile-voice${speaking ? ' speaking' : ''}`}
      data-testid="remote-voice"
      data-participant-name={name}
      data-backstage={backstage ? 'true' : undefined}
    >
      <div className="tile-off" aria-hidden="true">
        <Avatar name={name} url={avatar} size={64} />
      </div>
      <figcaption className="tile-name">
        <span className="tile-who">{name}</span>
        {backstage && <span className="tile-tag tile-backstage">Backstage</span>}
        {muted && <span className="tile-tag">Muted</span>}
        {speaking && <span className="visually-hidden">(speaking)</span>}
      </figcaption>
    </figure>
  );
}

function AudioSink({ t, resume, onBlocked }: { t: RemoteTrack; resume: number; onBlocked: () => void }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const a = ref.current;
    if (!a) return;
    if (!(a.srcObject instanceof MediaStream) || a.srcObject.getTracks()[0] !== t.track) a.srcObject = new MediaStream([t.track]);
    a.play().catch((e: unknown) => {
      if ((e as DOMException)?.name === 'NotAllowedError') onBlocked();
    });
  }, [t.track, resume, onBlocked]);
  return <audio ref={ref} autoPlay data-testid="remote-audio" data-source={t.source} data-participant-name={t.name} />;
}

function Reconnecting({ snap, onRetry }: { snap: SfuSnapshot; onRetry: () => void }) {
  const now = useNow(1000, snap.retryAt !== null);
  const secs = snap.retryAt ? Math.max(0, Math.ceil((snap.retryAt - now) / 1000)) : 0;
  return (
    <div className="stage-banner" role="status">
      <span>
        The live video connection dropped. {secs > 0 ? `Trying again in ${secs} s` : 'Trying again…'}
        {snap.error ? ` (${snap.error.replace(/\.$/, '')})` : ''}
      </span>
      <button type="button" className="btn btn-small" onClick={onRetry}>
        Try now
      </button>
    </div>
  );
}

function Placeholder({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="stage-message">
      <p>
        <strong>{title}</strong>
      </p>
      {children}
    </div>
  );
}

export function MediaStage({ eventId, status, publishing = false, tracks, onRoomChange, onSpeaker, onMicMutedByHost, backstageUsers, onCameras }: Props) {
  const { api } = useAuth();
  // Viewers watch while live; hosts may also check their setup backstage before going live.
  const active = status === 'live' || (publishing && status === 'scheduled');
  const { snapshot: snap, client, rejoin } = useSfu(api, eventId, active, publishing ? (tracks ?? {}) : null);
  const [soundBlocked, setSoundBlocked] = useState(false);
  const [resume, setResume] = useState(0);
  const onBlocked = useMemo(() => () => setSoundBlocked(true), []);
  const fingerprint = stageFingerprint(snap);
  useEffect(() => {
    onRoomChange?.(fingerprint);
  }, [fingerprint, onRoomChange]);

  const received = snap?.remote;
  const cameras = useMemo(() => {
    const m = new Map<string, MediaStreamTrack>();
    for (const t of received ?? []) if (t.kind === 'video' && t.source === 'camera' && !t.muted && !m.has(t.userId)) m.set(t.userId, t.track);
    return m;
  }, [received]);
  const camerasKey = [...cameras].map(([u, t]) => `${u}:${t.id}`).join(',');
  const camerasRef = useRef(cameras);
  camerasRef.current = cameras;
  useEffect(() => {
    onCameras?.(camerasRef.current);
  }, [camerasKey, onCameras]);
  const isBackstageUser = (userId: string) => !!backstageUsers?.includes(userId);
  const remote = received ?? [];
  const videos = remote.filter((t) => t.kind === 'video');
  const audios = remote.filter((t) => t.kind === 'audio');
  const micMuted = (pid: string) => audios.some((a) => a.participantId === pid && a.source === 'microphone' && a.muted);
  const voiceOnly = audios.filter((a) => a.source === 'microphone' && !videos.some((v) => v.participantId === a.participantId));
  const speaker = snap?.activeSpeaker ?? null;
  const speakerUser = (speaker && snap?.participants.find((p) => p.participant_id === speaker)?.user_id) || null;
  useEffect(() => {
    onSpeaker?.(speakerUser);
  }, [speakerUser, onSpeaker]);
  const micHeld = !!snap?.mutedByServer.includes('microphone');
  useEffect(() => {
    onMicMutedByHost?.(micHeld);
  }, [micHeld, onMicMutedByHost]);
  // The screen first (it spans the stage), then cameras.
  const ordered = [...videos.filter((v) => v.source === 'screen'), ...videos.filter((v) => v.source !== 'screen')];
  const hasMedia = videos.length > 0 || voiceOnly.length > 0;

  let body: ReactNode;
  if (!active) {
    body = (
      <Placeholder title={headline(status, publishing, !!snap?.grants?.backstage)}>
        <p className="small">
          {status === 'scheduled'
            ? 'The video starts here when the host goes live. Meanwhile, say hello in the chat.'
            : 'There is no live video any more.'}
        </p>
      </Placeholder>
    );
  } else if (!snap || snap.status === 'idle' || (snap.status === 'connecting' && !hasMedia)) {
    body = (
      <Placeholder title={headline(status, publishing, !!snap?.grants?.backstage)}>
        <p className="small" role="status">
          Connecting to the live video…
        </p>
      </Placeholder>
    );
  } else if (snap.status === 'failed') {
    body = (
      <Placeholder title="The live video is unavailable.">
        <p className="small" role="alert">
          {snap.error ?? 'The connection to the media server failed.'}
        </p>
        <button type="button" className="btn btn-small" onClick={rejoin}>
          Try again
        </button>
      </Placeholder>
    );
  } else if (!hasMedia) {
    body = (
      <Placeholder title={headline(status, publishing, !!snap?.grants?.backstage)}>
        <p className="small">
          {snap.status === 'reconnecting'
            ? 'Waiting for the live video to come back.'
            : publishing
              ? snap.publishing.length > 0
                ? 'Viewers see and hear what you broadcast (previewed below). Co-hosts appear here when they join the stage.'
                : 'Nobody else is on stage. Turn on your camera, microphone or screen below to broadcast.'
              : 'Nobody is on stage yet. The video starts as soon as the host turns on a camera or microphone; meanwhile, follow along in the chat.'}
        </p>
      </Placeholder>
    );
  } else {
    body = (
      <div className="stage-grid" data-count={ordered.length + voiceOnly.length}>
        {ordered.map((t) => (
          <VideoTile
            key={t.mid}
            t={t}
            speaking={speaker === t.participantId && t.source === 'camera'}
            micMuted={micMuted(t.participantId)}
            backstage={isBackstageUser(t.userId)}
          />
        ))}
        {voiceOnly.map((a) => (
          <VoiceTile key={a.mid} name={a.name} avatar={a.avatar} muted={a.muted} speaking={speaker === a.participantId} backstage={isBackstageUser(a.userId)} />
        ))}
      </div>
    );
  }

  return (
    <div className="stack">
      <div
        className={`stage${hasMedia && active ? ' stage-live' : ''}`}
        role="region"
        aria-label="Video stage"
        data-testid="media-stage"
        data-state={active ? (snap?.status ?? 'idle') : 'off'}
      >
        {body}
        {active && snap?.status === 'reconnecting' && <Reconnecting snap={snap} onRetry={() => client?.retryNow()} />}
        {audios.map((t) => (
          <AudioSink key={t.mid} t={t} resume={resume} onBlocked={onBlocked} />
        ))}
        {soundBlocked && audios.length > 0 && (
          <button
            type="button"
            className="btn btn-primary stage-sound"
            onClick={() => {
              setSoundBlocked(false);
              setResume((n) => n + 1);
            }}
          >
            Turn on sound
          </button>
        )}
      </div>
      {publishing && active && snap && <PublishStatus snap={snap} onUnmute={(s) => client?.setMuted(s, false)} />}
    </div>
  );
}

/** The studio's line under the stage: what is broadcast, and a host's mute to lift. */
function PublishStatus({ snap, onUnmute }: { snap: SfuSnapshot; onUnmute: (s: TrackSource) => void }) {
  const sending = snap.publishing.filter((s) => !snap.mutedByServer.includes(s) && !snap.mutedBySelf.includes(s));
  return (
    <>
      <p className="small muted" role="status" data-testid="publish-status">
        {snap.status !== 'connected'
          ? 'Not broadcasting: connecting to the media server…'
          : sending.length > 0
            ? snap.grants?.backstage
              ? `Backstage: sending your ${sending.map((s) => SOURCE_LABEL[s]).join(', ')} to the host, co-hosts, moderators and the backstage only.`
              : `Broadcasting your ${sending.map((s) => SOURCE_LABEL[s]).join(', ')}.`
            : 'Not broadcasting anything: turn on a device below.'}
      </p>
      {snap.mutedByServer.map((s) => (
        <div key={s} className="alert alert-warn" role="alert">
          A host muted your {SOURCE_LABEL[s]}: nobody hears or sees it.
          <button type="button" className="btn btn-small" onClick={() => onUnmute(s)}>
            Unmute {SOURCE_LABEL[s]}
          </button>
        </div>
      ))}
      {snap.notice && (
        <p className="alert alert-warn" role="alert">
          {snap.notice}
        </p>
      )}
    </>
  );
}
