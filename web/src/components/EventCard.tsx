import { formatWhen } from '../lib/datetime';
import { Link } from '../lib/router';
import type { StageEvent } from '../lib/types';
import { StatusBadge } from './ui';

function when(e: StageEvent): string {
  switch (e.status) {
    case 'live':
      return `Live since ${formatWhen(e.went_live_at ?? e.starts_at)}`;
    case 'ended':
      return `Ended ${formatWhen(e.ended_at)}`;
    case 'cancelled':
      return `Cancelled ${formatWhen(e.cancelled_at)}`;
    default:
      return `Starts ${formatWhen(e.starts_at)}`;
  }
}

export function EventCard({ event, role }: { event: StageEvent; role: 'host' | 'cohost' | null }) {
  return (
    <article className="event-card">
      {event.cover_url ? <img className="cover" src={event.cover_url} alt="" loading="lazy" /> : <div className="cover" aria-hidden="true" />}
      <div className="body">
        <div className="row">
          <StatusBadge status={event.status} />
          {role && <span className="badge badge-role">{role === 'host' ? 'You host' : 'You co-host'}</span>}
        </div>
        <h3>
          <Link to={`/events/${event.id}`}>{event.title}</Link>
        </h3>
        <p className="muted small">{when(event)}</p>
      </div>
    </article>
  );
}
