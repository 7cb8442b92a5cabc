import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, errorText } from './api';
import { memorySessionStore } from './session';

const user = { id: 'u1', email: 'a@example.com', display_name: 'Ada', avatar_url: null, created_at: '2025-01-01T00:00:00Z' };
const destination = { id: 'd 1', platform: 'twitch', name: 'Twitch', server_url: 'rtmp://live.twitch.tv/app', key_hint: '…wxyz', created_at: '2026-12-05T09:00:00Z' };
const attached = {
  event_id: 'e1',
  destination,
  auto_start: true,
  state: 'idle',
  bitrate_bps: 0,
  bytes_sent: 0,
  live_since: null,
  retries: 0,
  error: '',
  error_code: '',
  updated_at: '2026-12-05T10:00:00Z',
};

function json(status: number, body: unknown): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });
}
const problem = (status: number, code: string, detail = `${code} happened`, extra: Record<string, unknown> = {}) =>
  json(status, { type: `urn:stagecast:problem:${code}`, title: 'x', status, code, detail, ...extra });

function client(...answers: Response[]) {
  const calls: { url: string; method: string; auth: string | null; body: unknown }[] = [];
  // openapi-fetch hands fetch a Request on this page's origin: `url` is its path and query.
  const fetch = vi.fn(async (input: RequestInfo | URL) => {
    const request = input as Request;
    const { pathname, search } = new URL(request.url);
    const text = await request.clone().text();
    calls.push({ url: pathname + search, method: request.method, auth: request.headers.get('Authorization'), body: text ? JSON.parse(text) : undefined });
    const a = answers.shift();
    if (!a) throw new Error('unexpected request');
    return a;
  });
  const api = new ApiClient({ store: memorySessionStore({ access_token: 'acc', refresh_token: 'ref', user }), fetch: fetch as unknown as typeof globalThis.fetch });
  return { api, calls };
}

describe('destinations API', () => {
  it('saves, lists and deletes my destinations', async () => {
    const { api, calls } = client(json(201, destination), json(200, { destinations: [destination] }), new Response(null, { status: 204 }));
    await expect(api.createDestination({ platform: 'twitch', stream_key: 'live_123' })).resolves.toEqual(destination);
    await expect(api.myDestinations()).resolves.toEqual({ destinations: [destination] });
    await expect(api.deleteDestination('d 1')).resolves.toBeUndefined();
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['POST', '/api/v1/destinations', { platform: 'twitch', stream_key: 'live_123' }],
      ['GET', '/api/v1/destinations', undefined],
      ['DELETE', '/api/v1/destinations/d%201', undefined],
    ]);
    expect(calls.every((c) => c.auth === 'Bearer acc')).toBe(true);
  });

  it('attaches, lists, switches auto-start, starts, stops and detaches an event’s destination', async () => {
    const { api, calls } = client(
      json(201, attached),
      json(201, attached),
      json(200, { destinations: [attached] }),
      json(200, { ...attached, auto_start: false }),
      json(200, { ...attached, state: 'connecting' }),
      json(200, { ...attached, state: 'stopped' }),
      new Response(null, { status: 204 }),
    );
    await api.attachDestination('e1', 'd 1');
    await api.attachDestination('e1', 'd 1', true);
    await expect(api.eventDestinations('e1')).resolves.toEqual({ destinations: [attached] });
    await expect(api.setDestinationAutoStart('e1', 'd 1', false)).resolves.toMatchObject({ auto_start: false });
    await expect(api.startDestination('e1', 'd 1')).resolves.toMatchObject({ state: 'connecting' });
    await expect(api.stopDestination('e1', 'd 1')).resolves.toMatchObject({ state: 'stopped' });
    await expect(api.detachDestination('e1', 'd 1')).resolves.toBeUndefined();
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['POST', '/api/v1/events/e1/destinations', { destination_id: 'd 1' }],
      ['POST', '/api/v1/events/e1/destinations', { destination_id: 'd 1', auto_start: true }],
      ['GET', '/api/v1/events/e1/destinations', undefined],
      ['PATCH', '/api/v1/events/e1/destinations/d%201', { auto_start: false }],
      ['POST', '/api/v1/events/e1/destinations/d%201/start', undefined],
      ['POST', '/api/v1/events/e1/destinations/d%201/stop', undefined],
      ['DELETE', '/api/v1/events/e1/destinations/d%201', undefined],
    ]);
  });

  it('turns the problem documents into ApiError with what to do', async () => {
    const { api } = client(
      problem(422, 'invalid_server_url', 'server_url must be rtmp:// or rtmps:// with a host and an application path'),
      problem(409, 'destination_in_use', 'an event uses this destination'),
      problem(409, 'already_attached', 'the destination is already attached'),
      problem(409, 'already_started', 'the destination is already pushing'),
      problem(429, 'egress_busy', 'no egress capacity', { retry_after: 5 }),
      problem(404, 'not_attached', 'the destination is not attached to this event'),
    );
    const bad = await api.createDestination({ platform: 'custom', server_url: 'http://x', stream_key: 'k' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ApiError);
    expect(bad).toMatchObject({ status: 422, code: 'invalid_server_url' });
    expect(errorText(bad)).toMatch(/without the stream key\.$/);
    expect(errorText(await api.deleteDestination('d').catch((e: unknown) => e))).toMatch(/Stop it there first, then delete it/);
    expect(errorText(await api.attachDestination('e1', 'd').catch((e: unknown) => e))).toMatch(/already in this event's destinations/);
    expect(errorText(await api.startDestination('e1', 'd').catch((e: unknown) => e))).toMatch(/already streaming there/);
    const busy = await api.startDestination('e1', 'd').catch((e: unknown) => e);
    expect(busy).toMatchObject({ status: 429, code: 'egress_busy', retryAfter: 5 });
    expect(errorText(busy)).toMatch(/Wait 5 s, then press Start again/);
    expect(await api.stopDestination('e1', 'd').catch((e: unknown) => e)).toMatchObject({ status: 404, code: 'not_attached' });
  });
});
