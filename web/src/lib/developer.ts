// The Developer page (API keys and webhooks), the pure part: the scopes and what each includes,
// the new-key form's checks and request body, a key's state; the webhook form's event-type
// filters and request body, an endpoint's state in words, and deliveries summed up in a line.
import { ApiError, errorText } from './api';
import { formatWhen, localInputToRfc3339 } from './datetime';
import type {
  ApiKey,
  ApiKeyInput,
  ApiKeyScope,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookInput,
  WebhookPatch,
} from './types';

// ---- API keys ----------------------------------------------------------------------------------

export interface ScopeInfo {
  scope: ApiKeyScope;
  /** What it lets the key do, in a few words. */
  help: string;
}

/** Every scope, in the order the form lists them (each read scope before its write scopes). */
export const SCOPES: readonly ScopeInfo[] = [
  { scope: 'profile:read', help: 'Read your profile.' },
  { scope: 'profile:write', help: 'Change your name and photo.' },
  { scope: 'events:read', help: 'List and read your events.' },
  { scope: 'events:write', help: 'Schedule, edit, start and end events.' },
  { scope: 'chat:read', help: 'Read chat messages, presence and moderation logs.' },
  { scope: 'chat:write', help: 'Chat as you.' },
  { scope: 'chat:moderate', help: 'Delete messages, time out, ban, pin and review held messages.' },
  { scope: 'tokens:mint', help: 'Get media tokens to join the stage.' },
  { scope: 'recordings:read', help: 'List and play recordings.' },
  { scope: 'recordings:write', help: 'Start, stop and delete recordings.' },
  { scope: 'broadcasts:manage', help: 'Manage restreaming destinations.' },
  { scope: 'webhooks:manage', help: 'Manage webhook endpoints and their deliveries.' },
];

const SCOPE_ORDER = new Map(SCOPES.map((s, i) => [s.scope as string, i]));

/** What a scope includes besides itself (a write scope includes its read scope). */
export const IMPLIES: Readonly<Partial<Record<ApiKeyScope, readonly ApiKeyScope[]>>> = {
  'profile:write': ['profile:read'],
  'events:write': ['events:read'],
  'chat:write': ['chat:read'],
  'chat:moderate': ['chat:read'],
  'recordings:write': ['recordings:read'],
};

export const API_KEY_NAME_MAX = 64;
export const API_KEY_LIMIT = 25;

export function isScope(s: string): s is ApiKeyScope {
  return SCOPE_ORDER.has(s);
}

function byScopeOrder(a: string, b: string): number {
  return (SCOPE_ORDER.get(a) ?? 999) - (SCOPE_ORDER.get(b) ?? 999) || a.localeCompare(b);
}

/** Which of `scopes` include `scope` (empty when none does): "events:read" is included in
 * ["events:write"]. */
export function includedBy(scope: string, scopes: Iterable<string>): ApiKeyScope[] {
  const out: ApiKeyScope[] = [];
  for (const s of scopes) if (s !== scope && (IMPLIES[s as ApiKeyScope] ?? []).includes(scope as ApiKeyScope)) out.push(s as ApiKeyScope);
  return out.sort(byScopeOrder);
}

/** The scopes `scopes` grant without naming them (["events:write"] → ["events:read"]), in order. */
export function impliedScopes(scopes: Iterable<string>): ApiKeyScope[] {
  const given = new Set(scopes);
  const out = new Set<ApiKeyScope>();
  for (const s of given) for (const i of IMPLIES[s as ApiKeyScope] ?? []) if (!given.has(i)) out.add(i);
  return [...out].sort(byScopeOrder);
}

/** A key's scopes for display: the ones it names, then those they include (marked `implied`). */
export function scopeDisplay(scopes: readonly string[]): { scope: string; implied: boolean }[] {
  const named = [...new Set(scopes)].sort(byScopeOrder);
  return [...named.map((scope) => ({ scope, implied: false })), ...impliedScopes(named).map((scope) => ({ scope, implied: true }))];
}

/** The scopes to send for the ticked ones: known, in order, without those another ticked scope
 * already includes (ticking events:write and events:read sends events:write). */
export function scopesToSend(ticked: Iterable<string>): ApiKeyScope[] {
  const known = [...new Set(ticked)].filter(isScope);
  return known.filter((s) => includedBy(s, known).length === 0).sort(byScopeOrder);
}

export type ExpiryChoice = 'never' | '30' | '90' | '365' | 'date';

export const EXPIRY_CHOICES: readonly { value: ExpiryChoice; label: string }[] = [
  { value: 'never', label: 'Never' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In a year' },
  { value: 'date', label: 'On a date…' },
];

export interface ApiKeyForm {
  name: string;
  scopes: readonly string[];
  expiry: ExpiryChoice;
  /** The datetime-local value when `expiry` is "date". */
  expiresOn: string;
}

export type ApiKeyField = 'name' | 'scopes' | 'expiry';

export const emptyApiKeyForm = (): ApiKeyForm => ({ name: '', scopes: [], expiry: 'never', expiresOn: '' });

// Control characters (what the server refuses in a name).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function toRfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The form's checks (the server makes the same ones): a message for each field that is wrong. */
export function apiKeyFormErrors(form: ApiKeyForm, nowMs: number = Date.now()): Partial<Record<ApiKeyField, string>> {
  const errors: Partial<Record<ApiKeyField, string>> = {};
  const name = form.name.trim();
  if (!name) errors.name = 'Enter a name for the key, such as "CI deploys".';
  else if (Array.from(name).length > API_KEY_NAME_MAX) errors.name = `Use at most ${API_KEY_NAME_MAX} characters for the name.`;
  else if (CONTROL.test(name)) errors.name = 'Use a name on one line, without control characters.';
  if (scopesToSend(form.scopes).length === 0) errors.scopes = 'Tick at least one scope.';
  if (form.expiry === 'date') {
    const at = form.expiresOn ? localInputToRfc3339(form.expiresOn) : null;
    if (!at) errors.expiry = 'Pick the date and time the key stops working.';
    else if (Date.parse(at) <= nowMs) errors.expiry = 'Pick a date in the future, or choose "Never".';
  }
  return errors;
}

/** The body of POST /api-keys for a form without errors. */
export function apiKeyInput(form: ApiKeyForm, nowMs: number = Date.now()): ApiKeyInput {
  const input: ApiKeyInput = { name: form.name.trim(), scopes: scopesToSend(form.scopes) };
  if (form.expiry === 'date') {
    const at = localInputToRfc3339(form.expiresOn);
    if (at) input.expires_at = at;
  } else if (form.expiry !== 'never') {
    input.expires_at = toRfc3339(nowMs + Number(form.expiry) * 86_400_000);
  }
  return input;
}

/** Which field of the form a refusal of POST /api-keys is about (null: the form as a whole). */
export function apiKeyFieldOfCode(code: string | undefined): ApiKeyField | null {
  switch (code) {
    case 'api_key_name_required':
    case 'api_key_name_too_long':
    case 'invalid_api_key_name':
      return 'name';
    case 'unknown_scope':
    case 'scopes_required':
      return 'scopes';
    case 'invalid_expires_at':
      return 'expiry';
    default:
      return null;
  }
}

export type ApiKeyState = 'active' | 'revoked' | 'expired';

export const API_KEY_STATE_LABEL: Record<ApiKeyState, string> = { active: 'Active', revoked: 'Revoked', expired: 'Expired' };

export function apiKeyState(key: Pick<ApiKey, 'revoked_at' | 'expires_at'>, nowMs: number = Date.now()): ApiKeyState {
  if (key.revoked_at) return 'revoked';
  const exp = key.expires_at ? Date.parse(key.expires_at) : Number.NaN;
  if (!Number.isNaN(exp) && exp <= nowMs) return 'expired';
  return 'active';
}

/** "sck_AbCd1234…": how the list tells keys apart. */
export function keyHint(prefix: string): string {
  return `${prefix}…`;
}

/** A key as the list keeps it: the secret of a new key never goes into the list. */
export function withoutSecret<T extends { secret?: unknown }>(created: T): Omit<T, 'secret'> {
  const { secret: _secret, ...rest } = created;
  return rest;
}

// ---- webhooks: event-type filters -----------------------------------------------------------

export interface FamilyInfo {
  /** The filter: "event.*". */
  value: string;
  label: string;
  help: string;
}

export const EVENT_FAMILIES: readonly FamilyInfo[] = [
  { value: 'event.*', label: 'Events', help: 'An event is scheduled, updated, goes live, ends or is cancelled (event.live, event.ended…).' },
  { value: 'stage.*', label: 'Stage', help: 'Hands, invitations, roles, kicks and bans on the stage (stage.banned…).' },
  { value: 'chat.*', label: 'Chat moderation', help: 'Messages deleted, timeouts, bans, pins and held messages.' },
  { value: 'recording.*', label: 'Recordings', help: 'A recording starts, is ready or fails (recording.ready…).' },
  { value: 'broadcast.*', label: 'Restreaming', help: 'A destination goes live, retries, fails or stops (broadcast.failed…).' },
];

const FAMILY_NAMES = EVENT_FAMILIES.map((f) => f.value.slice(0, -2));
const EVENT_KINDS = ['scheduled', 'updated', 'live', 'ended', 'cancelled'];
export const MAX_EVENT_TYPES = 50;

/** Whether the server takes `f` as a filter: "*", "family.*" or one type ("event.live"). */
export function isValidFilter(f: string): boolean {
  if (f === '*') return true;
  const dot = f.indexOf('.');
  if (dot < 0) return false;
  const family = f.slice(0, dot);
  const kind = f.slice(dot + 1);
  if (!FAMILY_NAMES.includes(family)) return false;
  if (kind === '*') return true;
  if (!/^[a-z_]{1,40}$/.test(kind)) return false;
  return family !== 'event' || EVENT_KINDS.includes(kind);
}

/** What the form's event-type controls hold. */
export interface FilterSelection {
  /** "All events": every type, now and to come. */
  all: boolean;
  /** The ticked families ("event.*"…). */
  families: readonly string[];
  /** Single types typed in ("event.live, stage.banned"). */
  types: string;
}

export const allEvents = (): FilterSelection => ({ all: true, families: [], types: '' });

/** The single types typed in, one list (commas, spaces or new lines between them). */
export function parseTypes(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** The selection an endpoint's filters make (to edit them): no filter or "*" is all events. */
export function selectionOf(eventTypes: readonly string[]): FilterSelection {
  if (eventTypes.length === 0 || eventTypes.includes('*')) return allEvents();
  const families = EVENT_FAMILIES.map((f) => f.value).filter((v) => eventTypes.includes(v));
  const types = eventTypes.filter((t) => !families.includes(t));
  return { all: false, families, types: types.join(', ') };
}

/** Ticking "All events" clears the families; ticking a family clears "All events". */
export function toggleAll(sel: FilterSelection, on: boolean): FilterSelection {
  return on ? { all: true, families: [], types: '' } : { ...sel, all: false };
}

export function toggleFamily(sel: FilterSelection, family: string, on: boolean): FilterSelection {
  const families = on ? [...new Set([...sel.families, family])] : sel.families.filter((f) => f !== family);
  return { ...sel, all: false, families: EVENT_FAMILIES.map((f) => f.value).filter((v) => families.includes(v)) };
}

/** What is wrong with a selection (null: nothing). */
export function filterError(sel: FilterSelection): string | null {
  if (sel.all) return null;
  const types = parseTypes(sel.types);
  const bad = types.find((t) => !isValidFilter(t));
  if (bad) return `"${bad}" is not an event type. Use a family such as event.* or a type such as event.live, stage.banned or recording.ready.`;
  if (sel.families.length + types.length === 0) return 'Choose "All events", at least one family, or type the event types you want.';
  if (sel.families.length + types.length > MAX_EVENT_TYPES) return `Choose at most ${MAX_EVENT_TYPES} event types, or whole families instead.`;
  return null;
}

/** The `event_types` to send: [] for all events (the API's default), else the families ticked
 * then the types typed in, without a type its ticked family already covers. */
export function eventTypesOf(sel: FilterSelection): string[] {
  if (sel.all) return [];
  const families = EVENT_FAMILIES.map((f) => f.value).filter((v) => sel.families.includes(v));
  if (families.length === 0 && parseTypes(sel.types).length === 0) return [];
  const covered = (t: string) => families.some((f) => t.startsWith(f.slice(0, -1)));
  const types = parseTypes(sel.types).filter((t) => t === '*' || !covered(t));
  if (types.includes('*')) return [];
  return [...families, ...types];
}

/** An endpoint's filters in words: "All events", or "Events (event.*), stage.banned". */
export function eventTypesLabel(eventTypes: readonly string[]): string {
  if (eventTypes.length === 0 || eventTypes.includes('*')) return 'All events';
  return eventTypes
    .map((t) => {
      const family = EVENT_FAMILIES.find((f) => f.value === t);
      return family ? `${family.label} (${t})` : t;
    })
    .join(', ');
}

// ---- webhooks: the form -----------------------------------------------------------------------

export interface WebhookForm {
  url: string;
  description: string;
  filters: FilterSelection;
}

export type WebhookField = 'url' | 'description' | 'filters';

export const DESCRIPTION_MAX = 200;

export const emptyWebhookForm = (): WebhookForm => ({ url: '', description: '', filters: allEvents() });

export function webhookFormOf(e: WebhookEndpoint): WebhookForm {
  return { url: e.url, description: e.description, filters: selectionOf(e.event_types) };
}

/** Whether `raw` is an absolute http(s) URL with a host and no credentials (the server also
 * refuses private and loopback addresses unless it allows them: it says so). */
export function checkWebhookUrl(raw: string): string | null {
  const t = raw.trim();
  if (!t) return 'Enter the https:// address of your endpoint.';
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    return 'Use a full address such as https://example.com/stagecast-hook.';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'Use an https:// (or http://) address.';
  if (!url.hostname) return 'Use a full address such as https://example.com/stagecast-hook.';
  if (url.username || url.password) return 'Leave the user name and password out of the URL: verify our signature instead.';
  return null;
}

export function webhookFormErrors(form: WebhookForm): Partial<Record<WebhookField, string>> {
  const errors: Partial<Record<WebhookField, string>> = {};
  const url = checkWebhookUrl(form.url);
  if (url) errors.url = url;
  const description = form.description.trim();
  if (Array.from(description).length > DESCRIPTION_MAX) errors.description = `Shorten the description to ${DESCRIPTION_MAX} characters.`;
  else if (CONTROL.test(description)) errors.description = 'Use one line without control characters for the description.';
  const filters = filterError(form.filters);
  if (filters) errors.filters = filters;
  return errors;
}

/** The body of POST /webhooks for a form without errors. */
export function webhookInput(form: WebhookForm): WebhookInput {
  const input: WebhookInput = { url: form.url.trim() };
  const description = form.description.trim();
  if (description) input.description = description;
  const types = eventTypesOf(form.filters);
  if (types.length > 0) input.event_types = types;
  return input;
}

const sameList = (a: readonly string[], b: readonly string[]) => {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** The body of PATCH /webhooks/{id}: only what the form changed (empty: nothing did). */
export function webhookChanges(e: WebhookEndpoint, form: WebhookForm): WebhookPatch {
  const patch: WebhookPatch = {};
  const url = form.url.trim();
  if (url !== e.url) patch.url = url;
  const description = form.description.trim();
  if (description !== e.description) patch.description = description;
  const types = eventTypesOf(form.filters);
  const current = e.event_types.includes('*') ? [] : e.event_types;
  if (!sameList(types, current)) patch.event_types = types;
  return patch;
}

/** Which field of the form a refusal of POST or PATCH /webhooks is about (null: the whole form). */
export function webhookFieldOfCode(code: string | undefined): WebhookField | null {
  switch (code) {
    case 'url_required':
    case 'url_too_long':
    case 'invalid_url':
    case 'url_not_allowed':
      return 'url';
    case 'description_too_long':
    case 'invalid_description':
      return 'description';
    case 'unknown_event_type':
    case 'too_many_event_types':
      return 'filters';
    default:
      return null;
  }
}

/** Text for an error of the webhooks section: `errorText`, except where a code means something
 * else here (an endpoint's description is shorter than an event's). */
export function webhookErrorText(e: unknown): string {
  if (e instanceof ApiError && e.code === 'description_too_long') return `The description is too long. Shorten it to ${DESCRIPTION_MAX} characters.`;
  if (e instanceof ApiError && e.code === 'invalid_description') return 'Use one line without control characters for the description.';
  if (e instanceof ApiError && e.code === 'url_not_allowed') {
    return "The URL points at a private or loopback address (such as localhost, 127.0.0.1, 10.x or 192.168.x), which stagecast does not call. Use your server's public https:// address.";
  }
  return errorText(e);
}

// ---- webhooks: an endpoint's state ------------------------------------------------------------

export type EndpointState = 'enabled' | 'failing' | 'disabled' | 'disabled_failing';

export function endpointState(e: Pick<WebhookEndpoint, 'enabled' | 'disabled_reason' | 'failing_since'>): EndpointState {
  if (e.enabled) return e.failing_since ? 'failing' : 'enabled';
  return e.disabled_reason === 'failing' ? 'disabled_failing' : 'disabled';
}

export const ENDPOINT_STATE_LABEL: Record<EndpointState, string> = {
  enabled: 'Enabled',
  failing: 'Failing',
  disabled: 'Off',
  disabled_failing: 'Off: kept failing',
};

/** What to tell the owner about an endpoint's state, with what to do (null: all is well). */
export function endpointNotice(e: WebhookEndpoint, locale?: string): string | null {
  const since = e.failing_since ? formatWhen(e.failing_since, locale) : '';
  switch (endpointState(e)) {
    case 'failing':
      return `Deliveries have been failing since ${since}. stagecast keeps retrying, but if none succeeds for a few days it turns this endpoint off. Check the Deliveries for the status or error your server answered.`;
    case 'disabled_failing':
      return `stagecast turned this endpoint off because its deliveries kept failing${since ? ` (failing since ${since})` : ''}. Events are not sent to it while it is off. Fix your server (the Deliveries show what it answered), then switch Enabled back on; you can redeliver the failed deliveries.`;
    case 'disabled':
      return 'You turned this endpoint off: events are not sent to it while it is off. Switch Enabled back on to receive them again.';
    default:
      return null;
  }
}

// ---- webhooks: deliveries ---------------------------------------------------------------------

export const DELIVERY_STATE_LABEL: Record<string, string> = { pending: 'Pending', succeeded: 'Delivered', failed: 'Failed' };

export function deliveryStateLabel(state: string): string {
  return DELIVERY_STATE_LABEL[state] ?? state;
}

/** "HTTP 200 in 120 ms", "no answer: cannot connect to the endpoint (3 ms)". */
export function attemptText(a: WebhookAttempt): string {
  const took = `${a.duration_ms} ms`;
  if (a.status_code === 0) return `No answer: ${a.error || 'the request failed'} (${took})`;
  const body = a.error ? `: ${a.error}` : '';
  return `HTTP ${a.status_code} in ${took}${body}`;
}

export function lastAttempt(d: Pick<WebhookDelivery, 'log'>): WebhookAttempt | null {
  return d.log.length > 0 ? d.log[d.log.length - 1] : null;
}

const attemptsWord = (n: number) => `${n} ${n === 1 ? 'attempt' : 'attempts'}`;

/** One line for a delivery: how it went, its last answer, and what comes next. */
export function deliverySummary(d: WebhookDelivery, locale?: string): string {
  const last = lastAttempt(d);
  const answer = last ? (last.status_code === 0 ? `no answer (${last.error || 'the request failed'})` : `HTTP ${last.status_code}`) : '';
  switch (d.state) {
    case 'succeeded':
      return `Delivered after ${attemptsWord(d.attempts)}${answer ? ` (${answer})` : ''}.`;
    case 'failed':
      return `Failed after ${attemptsWord(d.attempts)}${answer ? `; last answer: ${answer}` : ''}. Fix your server, then redeliver it.`;
    case 'pending': {
      const next = d.next_attempt_at ? formatWhen(d.next_attempt_at, locale) : '';
      if (d.attempts === 0) return next ? `Waiting to be sent (${next}).` : 'Waiting to be sent.';
      return `${attemptsWord(d.attempts)} so far${answer ? `; last answer: ${answer}` : ''}. ${next ? `Next try ${next}.` : 'Trying again soon.'}`;
    }
    default:
      return `${d.state}: ${attemptsWord(d.attempts)}.`;
  }
}

/** The payload as the receiver got it, indented. */
export function prettyPayload(payload: unknown): string {
  if (payload === null || payload === undefined) return '(no payload)';
  try {
    return JSON.stringify(payload, null, 2);
  } catch {
    return String(payload);
  }
}

/** The deliveries after one was redelivered (or changed): the new copy in its place. */
export function replaceDelivery(list: readonly WebhookDelivery[], d: WebhookDelivery): WebhookDelivery[] {
  return list.map((x) => (x.id === d.id ? d : x));
}
