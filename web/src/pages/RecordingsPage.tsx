// The Recordings library: the recordings of the events I host or co-host (GET /recordings?scope=mine).
import { useEffect } from 'react';
import { Empty, ErrorMessage, Loading } from '../components/ui';
import { useAuth } from '../lib/auth';
import { useAsync, useNow, usePageTitle } from '../lib/hooks';
import { isActive } from '../lib/recordings';
import { Link } from '../lib/router';
import { RecordingList } from '../recording/RecordingCard';

/** While one of them is still recording or being saved, the list is read again this often. */
const ACTIVE_POLL_MS = 5000;

export function RecordingsPage() {
  const { api } = useAuth();
  usePageTitle('Recordings');
  const list = useAsync(() => api.myRecordings(), [api]);
  const recordings = list.status === 'ready' ? (list.data?.recordings ?? []) : [];
  const anyActive = recordings.some(isActive);
  const { reload } = list;
  useEffect(() => {
    if (!anyActive) return;
    const t = window.setInterval(reload, ACTIVE_POLL_MS);
    return () => window.clearInterval(t);
  }, [anyActive, reload]);
  const now = useNow(1000, recordings.some((r) => r.state === 'recording'));

  return (
    <>
      <div className="page-head">
        <h1>Recordings</h1>
      </div>
      <p className="muted">Recordings of the events you host or co-host. Start one from the studio while your event is live.</p>
      {list.status === 'loading' && <Loading label="Loading your recordings…" />}
      {list.status === 'error' && <ErrorMessage message={list.error} onRetry={list.reload} />}
      {list.status === 'ready' && recordings.length === 0 && (
        <Empty>
          No recordings yet. Open the studio of a live event you host and press Record. <Link to="/">Go to your events</Link>
        </Empty>
      )}
      {recordings.length > 0 && <RecordingList recordings={recordings} now={now} label="Your recordings" />}
    </>
  );
}
