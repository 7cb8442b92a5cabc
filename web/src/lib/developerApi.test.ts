import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, errorText } from './api';
import { type Session, memorySessionStore } from './session';

const user = { id: 'u1', email: 'a@example.com', display_name: 'Ada', avatar_url: null, created_at: '2025-01-01T00:00:00Z' };
const key = {
  id: 'k 1',
  name: 'CI deploys',
  scopes: ['events:write'],
  prefix: 'sck_AbCd1234',
  created_at: '2026-12-05T09:00:00Z',
  expires_at: null,
  last_used_at: null,
  revoked_at: null,
};
const hook = {
  id: 'w 1',
  url: 'https://example.com/stagecast-hook',
  description: '',
  event_types: ['event.*'],
  enabled: true,
  disabled_reason: '',
  created_at: '2026-12-05T09:00:00Z',
  failing_since: null,
};
const delivery = {
  id: 'd/1',
  message_id: 'm1',
  event_type: 'event.live',
  state: 'pending',
  attempts: 1,
  created_at: '2026-12-05T10:00:00Z',
  next_attempt_at: '2026-12-05T10:00:05Z',
  log: [{ at: '2026-12-05T10:00:00Z', status_code: 500, error: 'oops', duration_ms: 12 }],
  payload: { type: 'event.live', timestamp: '2026-12-05T10:00:00Z', data: { event_id: 'e1' } },
};

function json(status: number, body: unknown): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });
}
const problem = (status: number, code: string, detail = `${code} happened`) => json(status, { type: `urn:stagecast:problem:${code}`, title: 'x', status, code, detail });

function session(n: number): Session {
  return { access_token: `access-${n}`, refresh_token: `refresh-${n}`, user };
}

function client(...answers: (Response | (() => Response))[]) {
  const calls: { url: string; method: string; auth: string | null; contentType: string | null; accept: string | null; body: unknown }[] = [];
  // openapi-fetch hands fetch a Request on this page's origin: `url` is its path and query.
  const fetch = vi.fn(async (input: RequestInfo | URL) => {
    const request = input as Request;
    const { pathname, search } = new URL(request.url);
    const text = await request.clone().text();
    calls.push({
      url: pathname + search,
      method: request.method,
      auth: request.headers.get('Authorization'),
      contentType: request.headers.get('Content-Type'),
      accept: request.headers.get('Accept'),
      body: text ? JSON.parse(text) : undefined,
    });
    const a = answers.shift();
    if (!a) throw new Error('unexpected request');
    return typeof a === 'function' ? a() : a;
  });
  const store = memorySessionStore(session(1));
  const api = new ApiClient({ store, fetch: fetch as unknown as typeof globalThis.fetch });
  return { api, calls, store };
}

describe('API keys API', () => {
  it('lists, creates and revokes keys', async () => {
    const created = { ...key, secret: 'sck_AbCd1234restofthesecret' };
    const { api, calls } = client(json(200, { api_keys: [key] }), json(201, created), json(200, { ...key, revoked_at: '2026-12-06T00:00:00Z' }));
    await expect(api.apiKeys()).resolves.toEqual({ api_keys: [key] });
    await expect(api.createApiKey({ name: 'CI deploys', scopes: ['events:write'], expires_at: '2027-01-01T00:00:00Z' })).resolves.toEqual(created);
    await expect(api.revokeApiKey('k 1')).resolves.toMatchObject({ revoked_at: '2026-12-06T00:00:00Z' });
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', '/api/v1/api-keys', undefined],
      ['POST', '/api/v1/api-keys', { name: 'CI deploys', scopes: ['events:write'], expires_at: '2027-01-01T00:00:00Z' }],
      ['DELETE', '/api/v1/api-keys/k%201', undefined],
    ]);
    expect(calls.every((c) => c.auth === 'Bearer access-1')).toBe(true);
  });

  it('turns refusals into ApiError with what to do', async () => {
    const { api } = client(
      problem(422, 'unknown_scope', 'unknown scope "root"; known scopes: profile:read'),
      problem(422, 'api_key_name_too_long', 'name must be at most 64 characters'),
      problem(409, 'api_key_limit', 'you already have 25 API keys; revoke one you no longer use first'),
      problem(422, 'invalid_expires_at', 'expires_at must be in the future (or left out: no expiry)'),
      problem(404, 'api_key_not_found', 'no such API key'),
    );
    const input = { name: 'x', scopes: ['events:read' as const] };
    const scope = await api.createApiKey(input).catch((e: unknown) => e);
    expect(scope).toBeInstanceOf(ApiError);
    expect(scope).toMatchObject({ status: 422, code: 'unknown_scope' });
    expect(errorText(scope)).toMatch(/choose the scopes from the list/);
    expect(errorText(await api.createApiKey(input).catch((e: unknown) => e))).toMatch(/at most 64 characters/);
    const limit = await api.createApiKey(input).catch((e: unknown) => e);
    expect(limit).toMatchObject({ status: 409, code: 'api_key_limit' });
    expect(errorText(limit)).toMatch(/revoke one/);
    expect(errorText(await api.createApiKey(input).catch((e: unknown) => e))).toMatch(/^expires_at must be in the future/);
    expect(errorText(await api.revokeApiKey('k').catch((e: unknown) => e))).toMatch(/Reload the page to see your keys/);
  });
});

describe('webhooks API', () => {
  it('sends every webhook request with the token, JSON bodies and encoded paths', async () => {
    const created = { ...hook, secret: 'whsec_c2VjcmV0' };
    const { api, calls } = client(
      json(201, created),
      json(200, { webhooks: [hook] }),
      json(200, hook),
      json(200, { ...hook, enabled: false, disabled_reason: 'by_owner' }),
      json(200, { ...hook, secret: 'whsec_bmV3' }),
      json(200, { deliveries: [delivery] }),
      json(200, { ...delivery, state: 'pending', attempts: 1 }),
      new Response(null, { status: 204 }),
    );
    await expect(api.createWebhook({ url: hook.url, event_types: ['event.*'] })).resolves.toEqual(created);
    await expect(api.webhooks()).resolves.toEqual({ webhooks: [hook] });
    await expect(api.getWebhook('w 1')).resolves.toEqual(hook);
    await expect(api.updateWebhook('w 1', { enabled: false })).resolves.toMatchObject({ enabled: false, disabled_reason: 'by_owner' });
    await expect(api.rotateWebhookSecret('w 1')).resolves.toMatchObject({ secret: 'whsec_bmV3' });
    await expect(api.webhookDeliveries('w 1')).resolves.toEqual({ deliveries: [delivery] });
    await expect(api.redeliver('w 1', 'd/1')).resolves.toMatchObject({ id: 'd/1', state: 'pending' });
    await expect(api.deleteWebhook('w 1')).resolves.toBeUndefined();
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['POST', '/api/v1/webhooks', { url: hook.url, event_types: ['event.*'] }],
      ['GET', '/api/v1/webhooks', undefined],
      ['GET', '/api/v1/webhooks/w%201', undefined],
      ['PATCH', '/api/v1/webhooks/w%201', { enabled: false }],
      ['POST', '/api/v1/webhooks/w%201/rotate-secret', undefined],
      ['GET', '/api/v1/webhooks/w%201/deliveries?limit=50', undefined],
      ['POST', '/api/v1/webhooks/w%201/deliveries/d%2F1/redeliver', undefined],
      ['DELETE', '/api/v1/webhooks/w%201', undefined],
    ]);
    expect(calls.every((c) => c.auth === 'Bearer access-1' && c.accept === 'application/json')).toBe(true);
    // A JSON body says so; requests without one send no Content-Type.
    expect(calls.map((c) => c.contentType)).toEqual(['application/json', null, null, 'application/json', null, null, null, null]);
  });

  it('passes a deliveries limit through', async () => {
    const { api, calls } = client(json(200, { deliveries: [] }));
    await api.webhookDeliveries('w1', 10);
    expect(calls[0].url).toBe('/api/v1/webhooks/w1/deliveries?limit=10');
  });

  it('refreshes an expired token once and retries', async () => {
    const { api, calls, store } = client(problem(401, 'token_expired'), json(200, { ...session(2), token_type: 'Bearer', expires_in: 900, session_id: 's1' }), json(200, { webhooks: [] }));
    await expect(api.webhooks()).resolves.toEqual({ webhooks: [] });
    expect(calls.map((c) => [c.method, c.url, c.auth])).toEqual([
      ['GET', '/api/v1/webhooks', 'Bearer access-1'],
      ['POST', '/api/v1/auth/refresh', null],
      ['GET', '/api/v1/webhooks', 'Bearer access-2'],
    ]);
    expect(store.get()?.access_token).toBe('access-2');
  });

  it('ends the session on a revoked token', async () => {
    const { api, store } = client(problem(401, 'token_revoked', 'This session was signed out.'));
    await expect(api.webhooks()).rejects.toMatchObject({ status: 401, code: 'token_revoked' });
    expect(store.get()).toBeNull();
  });

  it('turns refusals into ApiError with what to do', async () => {
    const { api } = client(
      problem(422, 'url_not_allowed', 'url points at a loopback or private address; use an address reachable from the internet'),
      problem(422, 'invalid_url', 'url must be an http:// or https:// URL'),
      problem(422, 'unknown_event_type', 'unknown event type "event.started"'),
      problem(409, 'webhook_limit', 'you already have 20 webhook endpoints; delete one first'),
      problem(404, 'webhook_not_found', 'you have no webhook endpoint with this id'),
      problem(404, 'delivery_not_found', 'this endpoint has no delivery with this id'),
    );
    const input = { url: 'http://127.0.0.1/' };
    const private_ = await api.createWebhook(input).catch((e: unknown) => e);
    expect(private_).toBeInstanceOf(ApiError);
    expect(private_).toMatchObject({ status: 422, code: 'url_not_allowed' });
    expect(errorText(private_)).toBe("url points at a loopback or private address; use an address reachable from the internet. Use your server's public https:// address.");
    expect(errorText(await api.createWebhook(input).catch((e: unknown) => e))).toMatch(/https:\/\/example\.com\/stagecast-hook/);
    expect(errorText(await api.updateWebhook('w', { event_types: ['event.started'] }).catch((e: unknown) => e))).toMatch(/All events/);
    expect(errorText(await api.createWebhook(input).catch((e: unknown) => e))).toMatch(/Delete an endpoint you no longer use/);
    expect(await api.deleteWebhook('w').catch((e: unknown) => e)).toMatchObject({ status: 404, code: 'webhook_not_found' });
    expect(errorText(await api.redeliver('w', 'd').catch((e: unknown) => e))).toMatch(/Refresh the deliveries/);
  });

  it('says what to do when the answer is not a problem document, or nothing answers', async () => {
    const { api } = client(
      new Response('<html>Bad gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } }),
      () => {
        throw new TypeError('Failed to fetch');
      },
    );
    const bad = await api.webhooks().catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 502, code: 'http_502' });
    expect(errorText(bad)).toMatch(/not answering right now/);
    expect(await api.webhooks().catch((e: unknown) => e)).toMatchObject({ status: 0, code: 'network' });
  });
});
