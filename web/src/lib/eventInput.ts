// What the event form sends: only what changed, co-host ids parsed from free text.
import type { EventInput, StageEvent } from './types';

/** Co-host ids typed one per line or separated by commas/spaces. */
export function parseIds(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The fields that differ from `event` (all of them for a new event). */
export function eventChanges(event: StageEvent | undefined, next: Required<EventInput>): EventInput {
  if (!event) {
    const input: EventInput = { title: next.title, starts_at: next.starts_at };
    if (next.description) input.description = next.description;
    if (next.cover_url) input.cover_url = next.cover_url;
    if (next.cohost_ids.length) input.cohost_ids = next.cohost_ids;
    return input;
  }
  const out: EventInput = {};
  if (next.title !== event.title) out.title = next.title;
  if (next.description !== (event.description ?? '')) out.description = next.description;
  if (next.starts_at !== '' && Date.parse(next.starts_at) !== Date.parse(event.starts_at)) out.starts_at = next.starts_at;
  if (next.cover_url !== (event.cover_url ?? '')) out.cover_url = next.cover_url;
  const before = [...event.cohost_ids].sort().join(',');
  if ([...next.cohost_ids].sort().join(',') !== before) out.cohost_ids = next.cohost_ids;
  return out;
}
