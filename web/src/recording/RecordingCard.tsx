// A recording as a card (thumbnail, event title, date, duration, state badge) and a grid of them,
// for the Recordings library and the event page.
import { useState } from 'react';
import { useAuth } from '../lib/auth';
import { formatWhen } from '../lib/datetime';
import { formatElapsed, recordingBadge, recordingElapsedMs, withAccessToken } from '../lib/recordings';
import { Link } from '../lib/router';
import type { Recording } from '../lib/types';

/** A recording's badge: red while it records, a warning when it failed. */
export function RecordingBadge({ state }: { state: string }) {
  const cls = state === 'recording' ? 'badge badge-live' : state === 'failed' ? 'badge badge-failed' : 'badge';
  return (
    <span className={cls} data-state={state}>
      {recordingBadge(state)}
    </span>
  );
}

/** The thumbnail through the gateway (an <img> cannot send a header, so the token rides in the
 * query), or a placeholder when there is none or it does not load (not recorded yet). */
export function RecordingThumb({ recording }: { recording: Recording }) {
  const { session } = useAuth();
  const [failed, setFailed] = useState<string | null>(null);
  const src = recording.thumbnail_url ? withAccessToken(recording.thumbnail_url, session?.access_token) : null;
  if (src && failed !== recording.thumbnail_url) {
    return <img className="cover" src={src} alt="" loading="lazy" onError={() => setFailed(recording.thumbnail_url)} />;
  }
  return (
    <div className="cover thumb-placeholder" aria-hidden="true">
      <span>▶</span>
    </div>
  );
}

export function RecordingCard({ recording, now }: { recording: Recording; now: number }) {
  const when = recording.started_at ?? recording.ended_at;
  return (
    <article className="event-card recording-card" data-testid="recording-card" data-recording-id={recording.id} data-state={recording.state}>
      <RecordingThumb recording={recording} />
      <div className="body">
        <div className="row">
          <RecordingBadge state={recording.state} />
          <span className="muted small mono">{formatElapsed(recordingElapsedMs(recording, now))}</span>
        </div>
        <h3>
          <Link to={`/recordings/${encodeURIComponent(recording.id)}`}>{recording.event_title || 'Untitled event'}</Link>
        </h3>
        <p className="muted small">{when ? formatWhen(when) : 'Starting…'}</p>
      </div>
    </article>
  );
}

export function RecordingList({ recordings, now, label }: { recordings: Recording[]; now: number; label: string }) {
  return (
    <ul className="event-grid" data-testid="recordings-list" aria-label={label}>
      {recordings.map((r) => (
        <li key={r.id}>
          <RecordingCard recording={r} now={now} />
        </li>
      ))}
    </ul>
  );
}
