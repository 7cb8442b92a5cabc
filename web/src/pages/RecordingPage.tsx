// One recording: the player (HLS), the chat replay beside it in step with the video, the MP4
// download and, for the host, deletion.
import { type MouseEvent, useCallback, useEffect, useRef, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorMessage, Loading } from '../components/ui';
import { ApiError, errorText } from '../lib/api';
import { useAuth, useUser } from '../lib/auth';
import { formatWhen } from '../lib/datetime';
import { useAction, usePageTitle } from '../lib/hooks';
import { formatBytes, formatElapsed, isActive, layoutLabel, recordingElapsedMs, withAccessToken } from '../lib/recordings';
import { Link, navigate } from '../lib/router';
import { jwtExpiry } from '../lib/session';
import type { Recording } from '../lib/types';
import { HlsPlayer } from '../recording/HlsPlayer';
import { RecordingBadge } from '../recording/RecordingCard';
import { ReplayChat } from '../recording/ReplayChat';

/** While the recording is not finished, it is read again this often (playback appears, the state
 * moves on). */
const ACTIVE_POLL_MS = 4000;

type Load =
  | { status: 'loading' }
  | { status: 'denied' }
  | { status: 'gone' }
  | { status: 'error'; error: string }
  | { status: 'ready'; recording: Recording };

function useRecording(id: string) {
  const { api } = useAuth();
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let live = true;
    api.getRecording(id).then(
      (recording) => live && setLoad({ status: 'ready', recording }),
      (e: unknown) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 404) setLoad({ status: 'gone' });
        else if (e instanceof ApiError && e.status === 403) setLoad({ status: 'denied' });
        // A failed background read keeps the page (the next one may work).
        else setLoad((l) => (l.status === 'ready' ? l : { status: 'error', error: errorText(e) }));
      },
    );
    return () => {
      live = false;
    };
  }, [api, id, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const active = load.status === 'ready' && isActive(load.recording);
  useEffect(() => {
    if (!active) return;
    const t = window.setInterval(reload, ACTIVE_POLL_MS);
    return () => window.clearInterval(t);
  }, [active, reload]);
  return { load, reload };
}

function Refused({ title, text }: { title: string; text: string }) {
  usePageTitle(title);
  return (
    <div className="narrow card" data-testid="recording-refused">
      <h1>{title}</h1>
      <p>{text}</p>
      <Link to="/recordings" className="btn btn-primary">
        Go to your recordings
      </Link>
    </div>
  );
}

function NoPlayback({ recording }: { recording: Recording }) {
  let text: string;
  if (recording.state === 'starting' || recording.state === 'recording')
    text = 'Nothing is stored yet: the first seconds of the recording are still on their way. This page checks again every few seconds.';
  else if (recording.state === 'stopping') text = 'The recording is being saved. This page checks again every few seconds.';
  else if (recording.state === 'failed')
    text = `This recording failed before any video was stored${recording.error ? ` (${recording.error.replace(/\.$/, '')})` : ''}, so there is nothing to play.`;
  else text = 'This recording has no video to play.';
  return (
    <div className="stage stage-message" data-testid="recording-no-playback">
      <p>{text}</p>
    </div>
  );
}

function DownloadLink({ url }: { url: string }) {
  const { api, session } = useAuth();
  // A link cannot send a header: the token rides in the query. Refresh it first when it is about
  // to expire.
  const onClick = async (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const exp = session ? jwtExpiry(session.access_token) : null;
    if (exp !== null && exp * 1000 - Date.now() > 60_000) return;
    e.preventDefault();
    try {
      window.location.assign(withAccessToken(url, await api.freshAccessToken(60)));
    } catch {
      // Signed out: the app goes to the sign-in page.
    }
  };
  return (
    <a className="btn" data-testid="download-mp4" href={withAccessToken(url, session?.access_token)} download onClick={(e) => void onClick(e)}>
      Download MP4
    </a>
  );
}

function RecordingView({ recording, reload }: { recording: Recording; reload: () => void }) {
  const { api } = useAuth();
  const me = useUser();
  usePageTitle(`Recording · ${recording.event_title}`);
  const [currentMs, setCurrentMs] = useState(0);
  const [seekSeq, setSeekSeq] = useState(0);
  const video = useRef<HTMLVideoElement | null>(null);
  const [confirm, setConfirm] = useState(false);
  const del = useAction();
  const isHost = recording.host_id === me.id;
  const playback = recording.playback ?? null;

  async function onDelete() {
    let gone = false;
    await del.run(async () => {
      try {
        await api.deleteRecording(recording.id);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 'recording_not_found')) throw e;
      }
      gone = true;
    });
    if (gone) navigate('/recordings');
  }

  const seek = (ms: number) => {
    const v = video.current;
    if (!v) return;
    v.currentTime = ms / 1000;
    setCurrentMs(ms);
    void v.play().catch(() => undefined);
  };

  // While it records, the chat goes on too: read the replay again every 15 s of recording.
  const replayKey = recording.state === 'recording' ? `recording-${Math.floor((recording.duration_ms ?? 0) / 15_000)}` : recording.state;

  const meta = [
    recording.started_at ? formatWhen(recording.started_at) : null,
    formatElapsed(recordingElapsedMs(recording, Date.now())),
    layoutLabel(recording.layout),
    recording.quality,
    formatBytes(recording.size_bytes),
  ].filter(Boolean);

  return (
    <>
      <div className="page-head">
        <div>
          <div className="row">
            <RecordingBadge state={recording.state} />
            <span className="muted small">{meta.join(' · ')}</span>
          </div>
          <h1>{recording.event_title || 'Recording'}</h1>
          <Link to={`/events/${encodeURIComponent(recording.event_id)}`} className="small">
            Go to the event
          </Link>
        </div>
        <div className="row">
          {playback?.mp4_url && recording.state === 'ready' ? (
            <DownloadLink url={playback.mp4_url} />
          ) : (
            <span className="muted small">The MP4 download is ready once the recording is saved.</span>
          )}
          {isHost && (
            <button type="button" className="btn btn-danger" data-testid="delete-recording" disabled={del.busy || confirm} onClick={() => setConfirm(true)}>
              Delete
            </button>
          )}
        </div>
      </div>
      {confirm && (
        <ConfirmDialog
          text="Delete this recording for everyone? The video, its download and its thumbnail are removed, and this cannot be undone."
          confirmLabel="Delete recording"
          busyLabel="Deleting…"
          busy={del.busy}
          confirmTestId="delete-recording-confirm"
          onConfirm={() => void onDelete()}
          onCancel={() => setConfirm(false)}
        />
      )}
      {del.error && <ErrorMessage message={del.error} />}
      <div className="event-layout">
        <div className="stack">
          {recording.state === 'recording' && (
            <p className="alert alert-info" role="status" data-testid="recording-live">
              <span className="rec-dot rec-dot-live" aria-hidden="true" /> Live recording — the playlist grows. Play from the start, or jump to the end to follow along.
            </p>
          )}
          {recording.state === 'failed' && playback && (
            <p className="alert alert-warn" role="status">
              This recording failed{recording.error ? ` (${recording.error.replace(/\.$/, '')})` : ''}. What was stored before that can still be played.
            </p>
          )}
          {playback ? (
            <HlsPlayer
              api={api}
              src={playback.hls_url}
              live={recording.state === 'recording'}
              onTime={setCurrentMs}
              onSeeked={() => setSeekSeq((n) => n + 1)}
              videoRef={video}
            />
          ) : (
            <NoPlayback recording={recording} />
          )}
          {recording.stop_reason === 'idle' && (
            <p className="muted small">Stopped automatically: nobody was on air for a while.</p>
          )}
          {recording.gaps && recording.gaps.length > 0 && (
            <p className="muted small">
              {recording.gaps.length === 1 ? 'One gap' : `${recording.gaps.length} gaps`} in this recording:{' '}
              {recording.gaps.map((g) => `${formatElapsed(g.at_ms)} (${Math.round(g.duration_ms / 1000)} s, ${g.reason})`).join('; ')}.
            </p>
          )}
          {(!playback || isActive(recording)) && (
            <button type="button" className="btn btn-small" onClick={reload}>
              Check for updates
            </button>
          )}
        </div>
        <ReplayChat api={api} recordingId={recording.id} currentMs={currentMs} seekSeq={seekSeq} reloadKey={replayKey} onSeek={seek} />
      </div>
    </>
  );
}

export function RecordingPage({ id }: { id: string }) {
  const { load, reload } = useRecording(id);
  if (load.status === 'loading') return <Loading label="Loading the recording…" />;
  if (load.status === 'denied')
    return (
      <Refused
        title="You can't watch this recording"
        text="Only people who may watch the event can watch its recordings. If you think you should, ask the event's host."
      />
    );
  if (load.status === 'gone')
    return <Refused title="This recording was deleted" text="Its host deleted it, or the link is wrong. Your own recordings are listed on the Recordings page." />;
  if (load.status === 'error') return <ErrorMessage message={load.error} onRetry={reload} />;
  return <RecordingView recording={load.recording} reload={reload} />;
}
