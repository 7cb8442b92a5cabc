import { EventForm } from '../components/EventForm';
import { ErrorMessage, Loading } from '../components/ui';
import { useAuth, useUser } from '../lib/auth';
import { useAction, useAsync, usePageTitle } from '../lib/hooks';
import { Link, navigate } from '../lib/router';

export function NewEventPage() {
  usePageTitle('Schedule an event');
  const { api } = useAuth();
  const action = useAction();
  return (
    <div className="narrow card">
      <h1>Schedule an event</h1>
      <EventForm
        canEditCohosts
        submitLabel="Schedule event"
        busy={action.busy}
        error={action.error}
        onSubmit={async (input) => {
          const created = await action.run(() => api.createEvent(input));
          if (created) navigate(`/events/${created.id}/studio`);
        }}
      />
    </div>
  );
}

export function EditEventPage({ id }: { id: string }) {
  const { api } = useAuth();
  const user = useUser();
  const event = useAsync(() => api.getEvent(id), [api, id]);
  const action = useAction();
  usePageTitle(event.status === 'ready' ? `Edit ${event.data.title}` : 'Edit event');

  if (event.status === 'loading') return <Loading label="Loading the event…" />;
  if (event.status === 'error') return <ErrorMessage message={event.error} onRetry={event.retryable ? event.reload : undefined} />;
  const e = event.data;
  const isHost = e.host_id === user.id;
  if (!isHost && !e.cohost_ids.includes(user.id)) {
    return <ErrorMessage message="Only the host and co-hosts can edit this event. Ask the host to add you as a co-host." />;
  }
  if (e.status === 'ended' || e.status === 'cancelled') {
    return (
      <div className="narrow">
        <ErrorMessage message={`This event has ${e.status === 'ended' ? 'ended' : 'been cancelled'} and can no longer be edited.`} />
        <Link to={`/events/${e.id}`}>Back to the event</Link>
      </div>
    );
  }
  return (
    <div className="narrow card">
      <h1>Edit event</h1>
      <EventForm
        event={e}
        canEditCohosts={isHost}
        submitLabel="Save changes"
        busy={action.busy}
        error={action.error}
        onSubmit={async (input) => {
          const saved = await action.run(() => api.updateEvent(e.id, input));
          if (saved) navigate(`/events/${saved.id}/studio`);
        }}
      />
      <p className="form-foot">
        <Link to={`/events/${e.id}/studio`}>Cancel and go back to the studio</Link>
      </p>
    </div>
  );
}
