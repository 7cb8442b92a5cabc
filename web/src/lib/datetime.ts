// Conversions between <input type="datetime-local"> values (the user's local wall-clock time)
// and the RFC 3339 UTC timestamps of the API.

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * "2025-03-01T19:30" in the browser's time zone → "2025-03-01T18:30:00Z".
 * Returns null for an empty or malformed value, or a wall-clock time that does not exist.
 */
export function localInputToRfc3339(value: string): string | null {
  const m = LOCAL_INPUT.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((p) => (p === undefined ? 0 : Number(p)));
  const date = new Date(y, mo - 1, d, h, mi, s);
  // Reject impossible dates (Feb 30 rolls over into March).
  if (Number.isNaN(date.getTime()) || date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return null;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An RFC 3339 timestamp → the value a datetime-local input shows for it in the local time zone. */
export function rfc3339ToLocalInput(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The datetime-local value `minutes` from now, rounded up to the next 5 minutes (form default). */
export function defaultStartInput(now = new Date(), minutes = 60): string {
  const d = new Date(now.getTime() + minutes * 60_000);
  d.setSeconds(0, 0);
  d.setMinutes(Math.ceil(d.getMinutes() / 5) * 5);
  return rfc3339ToLocalInput(d.toISOString());
}

/** "Sat, 1 Mar, 19:30" in the user's locale. */
export function formatWhen(iso: string | null | undefined, locale?: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString(locale, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

export function formatTime(iso: string | null | undefined, locale?: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
}

/** Whole seconds until `untilMs`, never negative. */
export function secondsLeft(untilMs: number | null | undefined, nowMs: number): number {
  if (!untilMs) return 0;
  return Math.max(0, Math.ceil((untilMs - nowMs) / 1000));
}

/** "45 s", "10 min", "1 h 5 min". */
export function formatDuration(secs: number): string {
  if (secs < 60) return `${secs} s`;
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return s > 0 ? `${m} min ${s} s` : `${m} min`;
}
