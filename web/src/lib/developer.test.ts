import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { localInputToRfc3339, rfc3339ToLocalInput } from './datetime';
import {
  SCOPES,
  allEvents,
  apiKeyFieldOfCode,
  apiKeyFormErrors,
  apiKeyInput,
  apiKeyState,
  attemptText,
  checkWebhookUrl,
  deliverySummary,
  emptyApiKeyForm,
  emptyWebhookForm,
  endpointNotice,
  endpointState,
  eventTypesLabel,
  eventTypesOf,
  filterError,
  impliedScopes,
  includedBy,
  isValidFilter,
  keyHint,
  parseTypes,
  prettyPayload,
  replaceDelivery,
  scopeDisplay,
  scopesToSend,
  selectionOf,
  toggleAll,
  toggleFamily,
  webhookChanges,
  webhookErrorText,
  webhookFieldOfCode,
  webhookFormErrors,
  webhookFormOf,
  webhookInput,
  withoutSecret,
} from './developer';
import type { WebhookDelivery, WebhookEndpoint } from './types';

const NOW = Date.parse('2026-12-05T12:00:00Z');

function endpoint(over: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return {
    id: 'w1',
    url: 'https://example.com/hook',
    description: '',
    event_types: [],
    enabled: true,
    disabled_reason: '',
    created_at: '2026-12-01T00:00:00Z',
    failing_since: null,
    ...over,
  };
}

function delivery(over: Partial<WebhookDelivery> = {}): WebhookDelivery {
  return {
    id: 'd1',
    message_id: 'm1',
    event_type: 'event.live',
    state: 'succeeded',
    attempts: 1,
    created_at: '2026-12-05T10:00:00Z',
    next_attempt_at: null,
    log: [{ at: '2026-12-05T10:00:00Z', status_code: 200, error: '', duration_ms: 42 }],
    payload: { type: 'event.live' },
    ...over,
  };
}

describe('API key scopes', () => {
  it('lists every scope the API knows, once', () => {
    expect(SCOPES.map((s) => s.scope)).toEqual([
      'profile:read',
      'profile:write',
      'events:read',
      'events:write',
      'chat:read',
      'chat:write',
      'chat:moderate',
      'tokens:mint',
      'recordings:read',
      'recordings:write',
      'broadcasts:manage',
      'webhooks:manage',
    ]);
  });

  it('knows what a write scope includes', () => {
    expect(impliedScopes(['events:write'])).toEqual(['events:read']);
    expect(impliedScopes(['chat:moderate', 'chat:write', 'recordings:write'])).toEqual(['chat:read', 'recordings:read']);
    expect(impliedScopes(['events:write', 'events:read'])).toEqual([]);
    expect(impliedScopes(['tokens:mint', 'webhooks:manage'])).toEqual([]);
    expect(includedBy('chat:read', ['chat:write', 'chat:moderate', 'events:read'])).toEqual(['chat:write', 'chat:moderate']);
    expect(includedBy('events:write', ['events:write'])).toEqual([]);
  });

  it('shows a key’s scopes, then what they include', () => {
    expect(scopeDisplay(['events:write', 'chat:moderate', 'events:write'])).toEqual([
      { scope: 'events:write', implied: false },
      { scope: 'chat:moderate', implied: false },
      { scope: 'events:read', implied: true },
      { scope: 'chat:read', implied: true },
    ]);
    expect(scopeDisplay(['events:read'])).toEqual([{ scope: 'events:read', implied: false }]);
  });

  it('sends the ticked scopes in order, without those another one includes or unknown ones', () => {
    expect(scopesToSend(['events:read', 'events:write', 'tokens:mint'])).toEqual(['events:write', 'tokens:mint']);
    expect(scopesToSend(['chat:read', 'chat:moderate', 'profile:read'])).toEqual(['profile:read', 'chat:moderate']);
    expect(scopesToSend(['root', 'events:read', 'events:read'])).toEqual(['events:read']);
    expect(scopesToSend([])).toEqual([]);
  });
});

describe('the new API key form', () => {
  const form = (over: Partial<ReturnType<typeof emptyApiKeyForm>> = {}) => ({ ...emptyApiKeyForm(), name: 'CI deploys', scopes: ['events:read'], ...over });

  it('asks for a name, a scope and a future expiry', () => {
    expect(apiKeyFormErrors(form(), NOW)).toEqual({});
    expect(apiKeyFormErrors(emptyApiKeyForm(), NOW)).toEqual({ name: expect.stringMatching(/Enter a name/), scopes: 'Tick at least one scope.' });
    expect(apiKeyFormErrors(form({ name: 'x'.repeat(65) }), NOW).name).toMatch(/at most 64/);
    expect(apiKeyFormErrors(form({ name: '🔑'.repeat(64) }), NOW)).toEqual({});
    expect(apiKeyFormErrors(form({ name: 'a\u0007b' }), NOW).name).toMatch(/control characters/);
    expect(apiKeyFormErrors(form({ scopes: ['root'] }), NOW).scopes).toBe('Tick at least one scope.');
    expect(apiKeyFormErrors(form({ expiry: 'date', expiresOn: '' }), NOW).expiry).toMatch(/Pick the date/);
    const past = rfc3339ToLocalInput('2026-12-05T11:00:00Z');
    expect(apiKeyFormErrors(form({ expiry: 'date', expiresOn: past }), NOW).expiry).toMatch(/in the future/);
    const future = rfc3339ToLocalInput('2027-01-05T11:00:00Z');
    expect(apiKeyFormErrors(form({ expiry: 'date', expiresOn: future }), NOW)).toEqual({});
  });

  it('makes the request body: trimmed name, scopes to send, expiry as RFC 3339 or left out', () => {
    expect(apiKeyInput(form({ name: '  CI deploys ', scopes: ['events:read', 'events:write'] }), NOW)).toEqual({ name: 'CI deploys', scopes: ['events:write'] });
    expect(apiKeyInput(form({ expiry: '30' }), NOW)).toEqual({ name: 'CI deploys', scopes: ['events:read'], expires_at: '2027-01-04T12:00:00Z' });
    expect(apiKeyInput(form({ expiry: '365' }), NOW).expires_at).toBe('2027-12-05T12:00:00Z');
    const on = rfc3339ToLocalInput('2027-02-01T09:30:00Z');
    expect(apiKeyInput(form({ expiry: 'date', expiresOn: on }), NOW).expires_at).toBe(localInputToRfc3339(on));
  });

  it('puts the server’s refusals next to their field', () => {
    expect(apiKeyFieldOfCode('api_key_name_required')).toBe('name');
    expect(apiKeyFieldOfCode('api_key_name_too_long')).toBe('name');
    expect(apiKeyFieldOfCode('invalid_api_key_name')).toBe('name');
    expect(apiKeyFieldOfCode('unknown_scope')).toBe('scopes');
    expect(apiKeyFieldOfCode('scopes_required')).toBe('scopes');
    expect(apiKeyFieldOfCode('invalid_expires_at')).toBe('expiry');
    expect(apiKeyFieldOfCode('api_key_limit')).toBeNull();
    expect(apiKeyFieldOfCode(undefined)).toBeNull();
  });

  it('tells active, revoked and expired keys apart', () => {
    expect(apiKeyState({ revoked_at: null, expires_at: null }, NOW)).toBe('active');
    expect(apiKeyState({ revoked_at: null, expires_at: '2027-01-01T00:00:00Z' }, NOW)).toBe('active');
    expect(apiKeyState({ revoked_at: null, expires_at: '2026-12-05T11:59:59Z' }, NOW)).toBe('expired');
    expect(apiKeyState({ revoked_at: '2026-12-04T00:00:00Z', expires_at: '2026-12-01T00:00:00Z' }, NOW)).toBe('revoked');
    expect(keyHint('sck_AbCd1234')).toBe('sck_AbCd1234…');
  });

  it('never keeps a secret in the list', () => {
    const kept = withoutSecret({ id: 'k', name: 'n', secret: 'sck_x' });
    expect(kept).toEqual({ id: 'k', name: 'n' });
    expect('secret' in kept).toBe(false);
  });
});

describe('webhook event-type filters', () => {
  it('accepts what the server accepts', () => {
    for (const ok of ['*', 'event.*', 'event.live', 'event.cancelled', 'stage.banned', 'chat.*', 'recording.ready', 'broadcast.failed', 'stage.hand_raised']) {
      expect(isValidFilter(ok), ok).toBe(true);
    }
    for (const bad of ['', 'event', 'event.started', 'stage.', 'media.joined', 'stage.Banned', 'stage.a b', `stage.${'a'.repeat(41)}`]) {
      expect(isValidFilter(bad), bad).toBe(false);
    }
  });

  it('turns the selection into event_types: [] for all events, families then single types', () => {
    expect(eventTypesOf(allEvents())).toEqual([]);
    expect(eventTypesOf(toggleFamily(allEvents(), 'event.*', true))).toEqual(['event.*']);
    const two = toggleFamily(toggleFamily(allEvents(), 'recording.*', true), 'event.*', true);
    expect(two).toEqual({ all: false, families: ['event.*', 'recording.*'], types: '' });
    expect(eventTypesOf(two)).toEqual(['event.*', 'recording.*']);
    // A type its ticked family covers is left out; duplicates too.
    expect(eventTypesOf({ all: false, families: ['event.*'], types: 'event.live, stage.banned,stage.banned\nbroadcast.failed' })).toEqual([
      'event.*',
      'stage.banned',
      'broadcast.failed',
    ]);
    expect(eventTypesOf({ all: false, families: [], types: 'event.live' })).toEqual(['event.live']);
    expect(eventTypesOf({ all: false, families: [], types: '*' })).toEqual([]);
  });

  it('ticking a family clears "All events" and ticking "All events" clears the families', () => {
    const one = toggleFamily(allEvents(), 'stage.*', true);
    expect(one.all).toBe(false);
    expect(toggleFamily(one, 'stage.*', false)).toEqual({ all: false, families: [], types: '' });
    expect(toggleAll({ all: false, families: ['stage.*'], types: 'event.live' }, true)).toEqual(allEvents());
    expect(toggleAll(allEvents(), false)).toEqual({ all: false, families: [], types: '' });
  });

  it('says when nothing is chosen or a typed type is wrong', () => {
    expect(filterError(allEvents())).toBeNull();
    expect(filterError({ all: false, families: [], types: '' })).toMatch(/Choose "All events"/);
    expect(filterError({ all: false, families: ['event.*'], types: 'event.started' })).toMatch(/"event.started" is not an event type/);
    expect(filterError({ all: false, families: [], types: 'event.live stage.banned' })).toBeNull();
    expect(parseTypes(' a, b\n\nb ,c ')).toEqual(['a', 'b', 'c']);
  });

  it('reads an endpoint’s filters back into a selection', () => {
    expect(selectionOf([])).toEqual(allEvents());
    expect(selectionOf(['*'])).toEqual(allEvents());
    expect(selectionOf(['recording.*', 'event.*', 'stage.banned'])).toEqual({ all: false, families: ['event.*', 'recording.*'], types: 'stage.banned' });
    for (const types of [['event.*'], ['event.*', 'stage.banned'], ['event.live']]) expect(eventTypesOf(selectionOf(types)).sort()).toEqual([...types].sort());
  });

  it('says which events an endpoint gets', () => {
    expect(eventTypesLabel([])).toBe('All events');
    expect(eventTypesLabel(['*'])).toBe('All events');
    expect(eventTypesLabel(['event.*', 'stage.banned'])).toBe('Events (event.*), stage.banned');
  });
});

describe('the webhook form', () => {
  it('checks the URL, the description and the filters', () => {
    expect(webhookFormErrors({ ...emptyWebhookForm(), url: 'https://example.com/stagecast-hook' })).toEqual({});
    expect(checkWebhookUrl('')).toMatch(/Enter the https:\/\/ address/);
    expect(checkWebhookUrl('example.com/hook')).toMatch(/full address/);
    expect(checkWebhookUrl('ftp://example.com/')).toMatch(/https:\/\//);
    expect(checkWebhookUrl('https://user:pw@example.com/')).toMatch(/user name and password/);
    // Private addresses are the server's call (it may allow them in development).
    expect(checkWebhookUrl('http://127.0.0.1:9000/hook')).toBeNull();
    const errors = webhookFormErrors({ url: '', description: 'x'.repeat(201), filters: { all: false, families: [], types: '' } });
    expect(Object.keys(errors).sort()).toEqual(['description', 'filters', 'url']);
  });

  it('makes the request bodies: only what is given, only what changed', () => {
    const form = { url: ' https://example.com/stagecast-hook ', description: '', filters: toggleFamily(allEvents(), 'event.*', true) };
    expect(webhookInput(form)).toEqual({ url: 'https://example.com/stagecast-hook', event_types: ['event.*'] });
    expect(webhookInput({ ...form, description: ' CRM ', filters: allEvents() })).toEqual({ url: 'https://example.com/stagecast-hook', description: 'CRM' });
    const e = endpoint({ url: 'https://example.com/stagecast-hook', event_types: ['event.*'] });
    expect(webhookChanges(e, webhookFormOf(e))).toEqual({});
    expect(webhookChanges(e, { ...webhookFormOf(e), filters: allEvents() })).toEqual({ event_types: [] });
    expect(webhookChanges(e, { ...webhookFormOf(e), url: 'https://example.org/h', description: 'x' })).toEqual({ url: 'https://example.org/h', description: 'x' });
    expect(webhookChanges(endpoint({ event_types: ['*'] }), { ...webhookFormOf(endpoint()), filters: allEvents() })).toEqual({});
  });

  it('puts the server’s refusals next to their field, in words for this form', () => {
    expect(webhookFieldOfCode('url_not_allowed')).toBe('url');
    expect(webhookFieldOfCode('invalid_url')).toBe('url');
    expect(webhookFieldOfCode('url_required')).toBe('url');
    expect(webhookFieldOfCode('unknown_event_type')).toBe('filters');
    expect(webhookFieldOfCode('description_too_long')).toBe('description');
    expect(webhookFieldOfCode('webhook_limit')).toBeNull();
    expect(webhookErrorText(new ApiError({ status: 422, code: 'description_too_long', detail: 'description must be at most 200 characters' }))).toMatch(/200 characters/);
    expect(webhookErrorText(new ApiError({ status: 422, code: 'url_not_allowed', detail: 'url points at a loopback or private address' }))).toMatch(
      /^The URL points at a private or loopback address .* public https:\/\/ address\.$/,
    );
    expect(webhookErrorText(new ApiError({ status: 409, code: 'webhook_limit', detail: 'you already have 20 webhook endpoints' }))).toMatch(/Delete an endpoint/);
  });
});

describe('an endpoint’s state', () => {
  it('says whether it is on, failing, or off and why, with what to do', () => {
    expect(endpointState(endpoint())).toBe('enabled');
    expect(endpointNotice(endpoint())).toBeNull();
    const failing = endpoint({ failing_since: '2026-12-04T08:00:00Z' });
    expect(endpointState(failing)).toBe('failing');
    expect(endpointNotice(failing)).toMatch(/failing since .*turns this endpoint off/);
    const off = endpoint({ enabled: false, disabled_reason: 'failing', failing_since: '2026-11-30T08:00:00Z' });
    expect(endpointState(off)).toBe('disabled_failing');
    expect(endpointNotice(off, 'en-GB')).toMatch(/turned this endpoint off because its deliveries kept failing \(failing since .+\).*switch Enabled back on/);
    const mine = endpoint({ enabled: false, disabled_reason: 'by_owner' });
    expect(endpointState(mine)).toBe('disabled');
    expect(endpointNotice(mine)).toMatch(/You turned this endpoint off/);
  });
});

describe('deliveries', () => {
  it('sums a delivery up in a line', () => {
    expect(deliverySummary(delivery())).toBe('Delivered after 1 attempt (HTTP 200).');
    const failed = delivery({
      state: 'failed',
      attempts: 8,
      log: [
        { at: null, status_code: 500, error: 'oops', duration_ms: 20 },
        { at: null, status_code: 0, error: 'cannot connect to the endpoint', duration_ms: 3 },
      ],
    });
    expect(deliverySummary(failed)).toBe('Failed after 8 attempts; last answer: no answer (cannot connect to the endpoint). Fix your server, then redeliver it.');
    const retrying = delivery({ state: 'pending', attempts: 2, next_attempt_at: '2026-12-05T10:05:00Z', log: [{ at: null, status_code: 503, error: '', duration_ms: 9 }] });
    expect(deliverySummary(retrying, 'en-GB')).toMatch(/^2 attempts so far; last answer: HTTP 503\. Next try .+\.$/);
    expect(deliverySummary(delivery({ state: 'pending', attempts: 0, log: [], next_attempt_at: null }))).toBe('Waiting to be sent.');
  });

  it('says what each attempt got', () => {
    expect(attemptText({ at: null, status_code: 200, error: '', duration_ms: 42 })).toBe('HTTP 200 in 42 ms');
    expect(attemptText({ at: null, status_code: 500, error: 'Internal error', duration_ms: 7 })).toBe('HTTP 500 in 7 ms: Internal error');
    expect(attemptText({ at: null, status_code: 0, error: 'no answer within 10000 ms', duration_ms: 10001 })).toBe('No answer: no answer within 10000 ms (10001 ms)');
  });

  it('shows the payload as indented JSON and swaps a redelivered copy in', () => {
    expect(prettyPayload({ type: 'event.live', data: { id: 1 } })).toBe('{\n  "type": "event.live",\n  "data": {\n    "id": 1\n  }\n}');
    expect(prettyPayload(null)).toBe('(no payload)');
    const list = [delivery({ id: 'a' }), delivery({ id: 'b', state: 'failed' })];
    const again = delivery({ id: 'b', state: 'pending' });
    expect(replaceDelivery(list, again).map((d) => [d.id, d.state])).toEqual([
      ['a', 'succeeded'],
      ['b', 'pending'],
    ]);
  });
});
