import { type FormEvent, useState } from 'react';
import { localInputToRfc3339, rfc3339ToLocalInput, defaultStartInput } from '../lib/datetime';
import { eventChanges, parseIds } from '../lib/eventInput';
import type { EventInput, StageEvent } from '../lib/types';
import { ErrorMessage } from './ui';

interface Props {
  event?: StageEvent;
  /** Only the host may change the co-host list. */
  canEditCohosts: boolean;
  submitLabel: string;
  onSubmit: (input: EventInput) => Promise<void>;
  error: string | null;
  busy: boolean;
}

export function EventForm({ event, canEditCohosts, submitLabel, onSubmit, error, busy }: Props) {
  const [title, setTitle] = useState(event?.title ?? '');
  const [description, setDescription] = useState(event?.description ?? '');
  const [startsAt, setStartsAt] = useState(event ? rfc3339ToLocalInput(event.starts_at) : defaultStartInput());
  const [coverUrl, setCoverUrl] = useState(event?.cover_url ?? '');
  const [cohosts, setCohosts] = useState((event?.cohost_ids ?? []).join('\n'));
  const [localError, setLocalError] = useState<string | null>(null);
  const startLocked = !!event && event.status !== 'scheduled';
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setLocalError(null);
    // null: not the form's to change (as PATCH reads null), so not sent.
    let starts_at: string | null = null;
    if (!startLocked) {
      const converted = startsAt ? localInputToRfc3339(startsAt) : null;
      if (!converted) {
        setLocalError('Pick the date and time the event starts.');
        return;
      }
      starts_at = converted;
    }
    const input = eventChanges(event, {
      title: title.trim(),
      description: description.trim(),
      starts_at,
      cover_url: coverUrl.trim(),
      cohost_ids: canEditCohosts ? parseIds(cohosts) : null,
    });
    if (event && Object.keys(input).length === 0) {
      setLocalError('Nothing has changed. Edit a field, then save.');
      return;
    }
    await onSubmit(input);
  }

  const shown = localError ?? error;
  return (
    <form onSubmit={submit} noValidate>
      {shown && <ErrorMessage message={shown} />}
      <div className="field">
        <label htmlFor="event-title">Title</label>
        <input id="event-title" type="text" required maxLength={140} value={title} onChange={(e) => setTitle(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="event-description">Description</label>
        <textarea id="event-description" rows={4} maxLength={5000} value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="event-starts">Starts at</label>
        <input
          id="event-starts"
          type="datetime-local"
          required
          disabled={startLocked}
          aria-describedby="event-starts-hint"
          value={startsAt}
          onChange={(e) => setStartsAt(e.target.value)}
        />
        <span className="hint" id="event-starts-hint">
          {startLocked ? 'The start time cannot change once the event has gone live.' : `Your local time (${zone}).`}
        </span>
      </div>
      <div className="field">
        <label htmlFor="event-cover">Cover image URL (optional)</label>
        <input id="event-cover" type="url" inputMode="url" placeholder="https://…" value={coverUrl} onChange={(e) => setCoverUrl(e.target.value)} />
      </div>
      {canEditCohosts && (
        <div className="field">
          <label htmlFor="event-cohosts">Co-host user IDs (optional)</label>
          <textarea
            id="event-cohosts"
            rows={2}
            className="mono"
            aria-describedby="event-cohosts-hint"
            value={cohosts}
            onChange={(e) => setCohosts(e.target.value)}
          />
          <span className="hint" id="event-cohosts-hint">
            Up to 10, separated by commas or new lines. Each person finds their ID on their profile page.
          </span>
        </div>
      )}
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? 'Saving…' : submitLabel}
      </button>
    </form>
  );
}
