// The studio's "Recording" panel (host and co-hosts): the record toggle with a red dot, the
// elapsed time and the state in words, and the layout of the composite (switched live while
// recording, or chosen for the next recording).
import { type ChangeEvent, useEffect, useState } from 'react';
import { ErrorMessage } from '../components/ui';
import type { ApiClient } from '../lib/api';
import { useAction, useNow } from '../lib/hooks';
import {
  DEFAULT_LAYOUT,
  LAYOUTS,
  formatElapsed,
  isActive,
  isLayout,
  isRunning,
  layoutLabel,
  recordingElapsedMs,
  recordingStateWords,
  studioRecording,
} from '../lib/recordings';
import { Link } from '../lib/router';
import type { EventStatus, Recording, RecordingLayout } from '../lib/types';
import type { FrameListener } from '../lib/useLiveChat';
import { useRecordings } from '../lib/useRecordings';

function Elapsed({ recording }: { recording: Recording }) {
  const ticking = recording.state === 'recording';
  const now = useNow(1000, ticking);
  const ms = recordingElapsedMs(recording, now);
  return (
    <span className="record-elapsed mono" data-testid="record-elapsed" aria-label={`Elapsed ${formatElapsed(ms)}`}>
      {formatElapsed(ms)}
    </span>
  );
}

export function RecordingPanel({
  api,
  eventId,
  status,
  subscribe,
}: {
  api: ApiClient;
  eventId: string;
  status: EventStatus;
  subscribe?: (l: FrameListener) => () => void;
}) {
  const recs = useRecordings(api, eventId, { subscribe });
  const current = studioRecording(recs.items);
  const running = isRunning(current);
  const active = isActive(current);
  const toggle = useAction();
  const layoutAction = useAction();
  const [nextLayout, setNextLayout] = useState<RecordingLayout>(DEFAULT_LAYOUT);
  const [pendingLayout, setPendingLayout] = useState<RecordingLayout | null>(null);
  const words = recordingStateWords(active || current?.state === 'failed' || current?.state === 'ready' ? current : null);
  const live = status === 'live';
  // A layout error is about the recording it was for: gone once that one moves on.
  const { setError: setLayoutError } = layoutAction;
  useEffect(() => setLayoutError(null), [current?.id, current?.state, setLayoutError]);

  async function onToggle() {
    layoutAction.setError(null);
    if (running && current) {
      const r = await toggle.run(() => api.stopRecording(eventId, current.id));
      if (r) recs.applied(r);
      else recs.refresh();
    } else {
      const r = await toggle.run(() => api.startRecording(eventId, { layout: nextLayout }));
      if (r) recs.applied(r);
      else recs.refresh();
    }
  }

  async function onLayout(e: ChangeEvent<HTMLSelectElement>) {
    const value = e.target.value;
    if (!isLayout(value)) return;
    toggle.setError(null);
    if (!running || !current) {
      setNextLayout(value);
      return;
    }
    setPendingLayout(value);
    const r = await layoutAction.run(() => api.setRecordingLayout(eventId, current.id, value));
    setPendingLayout(null);
    if (r) recs.applied(r);
    else recs.refresh();
  }

  const layoutValue: string = pendingLayout ?? (running && current ? current.layout : nextLayout);
  const stopping = current?.state === 'stopping';
  let label = running ? 'Stop recording' : 'Record';
  if (toggle.busy) label = running ? 'Stopping…' : 'Starting…';
  else if (stopping) label = 'Stopping…';

  return (
    <section className="card record-panel" aria-labelledby="record-title" data-recording-id={current?.id}>
      <div className="page-head">
        <h2 id="record-title">Recording</h2>
        <Link to="/recordings" className="small">
          Your recordings
        </Link>
      </div>
      <div className="record-bar">
        <button
          type="button"
          className={running ? 'btn btn-danger' : 'btn btn-live'}
          data-testid="record-toggle"
          data-recording={running ? 'true' : 'false'}
          disabled={toggle.busy || stopping || (!running && !live)}
          onClick={() => void onToggle()}
        >
          {!running && <span className="rec-dot" aria-hidden="true" />}
          {label}
        </button>
        <p className={`record-state record-${words.tone}`} role="status" data-testid="record-state" data-state={active || current?.state === 'failed' || current?.state === 'ready' ? current?.state : 'idle'}>
          {current?.state === 'recording' && <span className="rec-dot rec-dot-live" aria-hidden="true" />}
          <span>{words.text}</span>
          {current && (active || current.state === 'ready') && <Elapsed recording={current} />}
          {current?.state === 'ready' && (
            <Link to={`/recordings/${encodeURIComponent(current.id)}`} className="small">
              Watch it
            </Link>
          )}
        </p>
      </div>
      {!live && !running && <p className="muted small">You can record once the event is live.</p>}
      <div className="field record-layout">
        <label htmlFor="record-layout">{running ? 'Layout of the recording' : 'Layout to record with'}</label>
        <select
          id="record-layout"
          className="select-inline"
          data-testid="layout-switcher"
          value={layoutValue}
          disabled={layoutAction.busy || stopping}
          onChange={(e) => void onLayout(e)}
        >
          {LAYOUTS.map((l) => (
            <option key={l.value} value={l.value}>
              {l.label}
            </option>
          ))}
        </select>
        <span className="hint">
          {running && current
            ? layoutAction.busy
              ? `Switching to ${layoutLabel(pendingLayout ?? '')}…`
              : `Recording with ${layoutLabel(current.layout)}. A change applies at once.`
            : 'Active speaker: whoever speaks large. Grid: everyone the same size. Screen share: a shared screen large, cameras beside it.'}
        </span>
      </div>
      {toggle.error && <ErrorMessage message={toggle.error} />}
      {layoutAction.error && <ErrorMessage message={layoutAction.error} />}
      {recs.error && <p className="muted small">Could not refresh the recording state: {recs.error}</p>}
      {recs.unsupported && <p className="muted small">Recording is not available on this server.</p>}
    </section>
  );
}
