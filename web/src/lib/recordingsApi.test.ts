import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, errorText } from './api';
import { memorySessionStore } from './session';

const user = { id: 'u1', email: 'a@example.com', display_name: 'Ada', avatar_url: null, created_at: '2025-01-01T00:00:00Z' };
const recording = { id: 'r 1', event_id: 'e1', event_title: 'Show', host_id: 'u1', state: 'starting', layout: 'grid', quality: '720p', started_at: null, ended_at: null, duration_ms: null, size_bytes: null, thumbnail_url: null };

function json(status: number, body: unknown): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });
}
const problem = (status: number, code: string, detail = `${code} happened`) => json(status, { type: `urn:stagecast:problem:${code}`, title: 'x', status, code, detail });

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

describe('recording API', () => {
  it('starts, stops and switches the layout with the documented paths and bodies', async () => {
    const { api, calls } = client(json(201, recording), json(200, { ...recording, state: 'stopping' }), json(200, { ...recording, layout: 'screen' }));
    await expect(api.startRecording('e1', { layout: 'grid' })).resolves.toMatchObject({ state: 'starting' });
    await api.stopRecording('e1', 'r 1');
    await api.setRecordingLayout('e1', 'r 1', 'screen');
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['POST', '/api/v1/events/e1/recordings', { layout: 'grid' }],
      ['POST', '/api/v1/events/e1/recordings/r%201/stop', undefined],
      ['PUT', '/api/v1/events/e1/recordings/r%201/layout', { layout: 'screen' }],
    ]);
    expect(calls.every((c) => c.auth === 'Bearer acc')).toBe(true);
  });

  it('lists, reads, pages the chat replay and deletes', async () => {
    const { api, calls } = client(
      json(200, { recordings: [recording] }),
      json(200, { recordings: [] }),
      json(200, recording),
      json(200, { messages: [] }),
      new Response(null, { status: 204 }),
    );
    await expect(api.eventRecordings('e1')).resolves.toEqual({ recordings: [recording] });
    await api.myRecordings();
    await api.getRecording('r 1');
    await api.recordingChat('r 1', 1500, 200);
    await expect(api.deleteRecording('r 1')).resolves.toBeUndefined();
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET /api/v1/events/e1/recordings',
      'GET /api/v1/recordings?scope=mine',
      'GET /api/v1/recordings/r%201',
      'GET /api/v1/recordings/r%201/chat?from_offset_ms=1500&limit=200',
      'DELETE /api/v1/recordings/r%201',
    ]);
  });

  it('turns the problem documents into ApiError with what to do', async () => {
    const { api } = client(
      problem(409, 'recording_already_running', 'a recording of this event is running'),
      problem(409, 'event_not_live', 'the event is not live'),
      problem(422, 'unknown_layout', 'unknown layout "x"'),
      problem(404, 'recording_not_found', 'no such recording'),
    );
    const e1 = await api.startRecording('e1').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ApiError);
    expect(e1).toMatchObject({ status: 409, code: 'recording_already_running' });
    expect(errorText(e1)).toMatch(/Stop it first/);
    expect(errorText(await api.startRecording('e1').catch((e: unknown) => e))).toMatch(/Go live first/);
    expect(errorText(await api.setRecordingLayout('e1', 'r', 'grid').catch((e: unknown) => e))).toMatch(/Active speaker, Grid or Screen share/);
    const gone = await api.getRecording('r').catch((e: unknown) => e);
    expect(gone).toMatchObject({ status: 404, code: 'recording_not_found' });
  });

  it('passes the abort signal along and lets an abort through as it is (not as a network error)', async () => {
    const fetch = vi.fn(
      (input: RequestInfo | URL) =>
        new Promise<Response>((_, reject) => {
          const { signal } = input as Request;
          const abort = () => reject(new DOMException('The operation was aborted.', 'AbortError'));
          if (signal.aborted) abort();
          else signal.addEventListener('abort', abort);
        }),
    );
    const api = new ApiClient({ store: memorySessionStore({ access_token: 'acc', refresh_token: 'ref', user }), fetch: fetch as unknown as typeof globalThis.fetch });
    const controller = new AbortController();
    const pending = api.eventRecordings('e1', controller.signal).catch((e: unknown) => e);
    controller.abort();
    const err = await pending;
    expect(err).not.toBeInstanceOf(ApiError);
    expect((err as Error).name).toBe('AbortError');
  });
});
