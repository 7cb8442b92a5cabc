import { useCallback, useEffect, useState } from 'react';
import { EventCard } from '../components/EventCard';
import { Empty, ErrorMessage, Loading } from '../components/ui';
import { errorText } from '../lib/api';
import { useAuth, useUser } from '../lib/auth';
import { usePageTitle } from '../lib/hooks';
import { Link } from '../lib/router';
import type { EventListStatus, StageEvent } from '../lib/types';

const PAGE = 12;

interface ListState {
  events: StageEvent[];
  cursor: string | null;
  loading: boolean;
  error: string | null;
  loaded: boolean;
}

function EventSection({ status, title, empty }: { status: EventListStatus; title: string; empty: string }) {
  const { api } = useAuth();
  const user = useUser();
  const [s, setS] = useState<ListState>({ events: [], cursor: null, loading: true, error: null, loaded: false });

  const load = useCallback(
    async (cursor: string | null) => {
      setS((p) => ({ ...p, loading: true, error: null }));
      try {
        const page = await api.listEvents(status, cursor, PAGE);
        setS((p) => ({
          events: cursor ? [...p.events, ...page.events.filter((e) => !p.events.some((x) => x.id === e.id))] : page.events,
          cursor: page.next_cursor,
          loading: false,
          error: null,
          loaded: true,
        }));
      } catch (e) {
        setS((p) => ({ ...p, loading: false, error: errorText(e) }));
      }
    },
    [api, status],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  const headingId = `section-${status}`;
  return (
    <section className="section" aria-labelledby={headingId} aria-busy={s.loading}>
      <h2 id={headingId}>{title}</h2>
      {s.events.length > 0 && (
        <ul className="event-grid">
          {s.events.map((e) => (
            <li key={e.id}>
              <EventCard event={e} role={e.host_id === user.id ? 'host' : e.cohost_ids.includes(user.id) ? 'cohost' : null} />
            </li>
          ))}
        </ul>
      )}
      {s.loaded && !s.error && s.events.length === 0 && <Empty>{empty}</Empty>}
      {s.error && <ErrorMessage message={s.error} onRetry={() => void load(s.loaded ? s.cursor : null)} />}
      {s.loading && <Loading label={s.loaded ? 'Loading more…' : `Loading ${title.toLowerCase()}…`} />}
      {!s.loading && !s.error && s.cursor && (
        <button type="button" className="btn" onClick={() => void load(s.cursor)}>
          Load more {title.toLowerCase()}
        </button>
      )}
    </section>
  );
}

export function HomePage() {
  usePageTitle('Events');
  return (
    <>
      <div className="page-head">
        <h1>Events</h1>
        <Link to="/events/new" className="btn btn-primary">
          Schedule an event
        </Link>
      </div>
      <EventSection status="live" title="Live now" empty="Nobody is live right now." />
      <EventSection status="upcoming" title="Upcoming" empty="No upcoming events. Schedule one!" />
      <EventSection status="past" title="Past" empty="No past events yet." />
    </>
  );
}
