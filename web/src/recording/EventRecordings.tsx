// The event page's "Recordings" section (live and past events): GET /events/{id}/recordings.
import { Empty, ErrorMessage } from '../components/ui';
import { useAuth } from '../lib/auth';
import { useNow } from '../lib/hooks';
import { isActive } from '../lib/recordings';
import type { EventStatus } from '../lib/types';
import { useRecordings } from '../lib/useRecordings';
import { RecordingList } from './RecordingCard';

/** How often a live event's page re-reads its recordings (the studio polls faster). */
const EVENT_PAGE_POLL_MS = 15_000;

export function EventRecordings({ eventId, status }: { eventId: string; status: EventStatus }) {
  const { api } = useAuth();
  const recs = useRecordings(api, eventId, { pollMs: status === 'live' ? EVENT_PAGE_POLL_MS : null });
  const ticking = recs.items.some((r) => r.state === 'recording');
  const now = useNow(1000, ticking);
  if (recs.unsupported) return null;
  return (
    <section className="card" aria-labelledby="event-recordings-title">
      <h2 id="event-recordings-title">Recordings</h2>
      {recs.items.length > 0 && <RecordingList recordings={recs.items} now={now} label="Recordings of this event" />}
      {recs.loaded && recs.items.length === 0 && (
        <Empty>{status === 'live' ? 'Nobody is recording this event yet.' : 'This event was not recorded.'}</Empty>
      )}
      {!recs.loaded && !recs.error && <p className="muted small">Loading the recordings…</p>}
      {recs.error && !recs.loaded && <ErrorMessage message={recs.error} onRetry={recs.refresh} />}
      {recs.items.some(isActive) && <p className="muted small">A recording is running; open it to watch from the start.</p>}
    </section>
  );
}
