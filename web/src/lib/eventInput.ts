// What the event form sends: only what changed, co-host ids parsed from free text.
import type { EventInput, StageEvent } from './types';

/** Co-host ids typed one per line or separated by commas/spaces. */
export function parseIds(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The fields that differ from `event` (all the given ones for a new event). A null field of `next`
 * is one the form does not set (a co-host cannot change the co-hosts; a locked start time): as
 * PATCH /events/{id} reads null, it is left as it is, so it is never sent. An empty `starts_at`
 * means the same. An empty `cover_url` is sent: it removes the cover.
 */
export function eventChanges(event: StageEvent | undefined, next: Required<EventInput>): EventInput {
  if (!event) {
    const input: EventInput = {};
    if (next.title !== null) input.title = next.title;
    if (next.starts_at) input.starts_at = next.starts_at;
    if (next.description) input.description = next.description;
    if (next.cover_url) input.cover_url = next.cover_url;
    if (next.cohost_ids?.length) input.cohost_ids = next.cohost_ids;
    return input;
  }
  const out: EventInput = {};
  if (next.title !== null && next.title !== event.title) out.title = next.title;
  if (next.description !== null && next.description !== (event.description ?? '')) out.description = next.description;
  if (next.starts_at && Date.parse(next.starts_at) !== Date.parse(event.starts_at)) out.starts_at = next.starts_at;
  if (next.cover_url !== null && next.cover_url !== (event.cover_url ?? '')) out.cover_url = next.cover_url;
  if (next.cohost_ids !== null) {
    const before = [...event.cohost_ids].sort().join(',');
    if ([...next.cohost_ids].sort().join(',') !== before) out.cohost_ids = next.cohost_ids;
  }
  return out;
}
