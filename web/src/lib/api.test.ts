import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, errorText } from './api';
import { type Session, memorySessionStore } from './session';

const user = { id: 'u1', email: 'a@example.com', display_name: 'Ada', avatar_url: null, created_at: '2025-01-01T00:00:00Z' };

function session(n: number): Session {
  return { access_token: `access-${n}`, refresh_token: `refresh-${n}`, user };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });
}

const problem = (status: number, code: string, detail = `${code} happened`) => json(status, { type: `urn:stagecast:problem:${code}`, title: 'x', status, code, detail });

const tokens = (n: number) => ({ ...session(n), token_type: 'Bearer', expires_in: 900, session_id: 's1' });

/** A fake fetch: each call is answered by the next handler; calls are recorded (openapi-fetch hands
 * fetch a Request on this page's origin: `url` is its path and query). */
function fakeFetch(...handlers: ((url: string, request: Request) => Response | Promise<Response>)[]) {
  const calls: { url: string; method: string; auth: string | null; body: unknown }[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL) => {
    const request = input as Request;
    const { pathname, search } = new URL(request.url);
    const call = { url: pathname + search, method: request.method, auth: request.headers.get('Authorization'), body: undefined as unknown };
    calls.push(call);
    const h = handlers.shift();
    const text = await request.clone().text();
    call.body = text ? JSON.parse(text) : undefined;
    if (!h) throw new Error(`unexpected request ${call.url}`);
    return h(call.url, request);
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

describe('ApiClient', () => {
  it('attaches the bearer token and parses JSON', async () => {
    const { fetch, calls } = fakeFetch(() => json(200, user));
    const api = new ApiClient({ store: memorySessionStore(session(1)), fetch });
    await expect(api.me()).resolves.toEqual(user);
    expect(calls[0]).toMatchObject({ url: '/api/v1/me', method: 'GET', auth: 'Bearer access-1' });
  });

  it('refreshes once on 401 token_expired and retries with the new token', async () => {
    const store = memorySessionStore(session(1));
    const { fetch, calls } = fakeFetch(
      () => problem(401, 'token_expired'),
      () => json(200, tokens(2)),
      () => json(200, user),
    );
    const onSignedOut = vi.fn();
    const api = new ApiClient({ store, fetch, onSignedOut });
    await expect(api.me()).resolves.toEqual(user);
    expect(calls.map((c) => [c.method, c.url, c.auth])).toEqual([
      ['GET', '/api/v1/me', 'Bearer access-1'],
      ['POST', '/api/v1/auth/refresh', null],
      ['GET', '/api/v1/me', 'Bearer access-2'],
    ]);
    expect(calls[1].body).toEqual({ refresh_token: 'refresh-1' });
    expect(store.get()?.refresh_token).toBe('refresh-2');
    expect(onSignedOut).not.toHaveBeenCalled();
  });

  it('does not refresh a second time when the retry is refused too; the session ends', async () => {
    const store = memorySessionStore(session(1));
    const { fetch, calls } = fakeFetch(
      () => problem(401, 'token_expired'),
      () => json(200, tokens(2)),
      () => problem(401, 'token_expired', 'still expired'),
    );
    const onSignedOut = vi.fn();
    const api = new ApiClient({ store, fetch, onSignedOut });
    await expect(api.me()).rejects.toMatchObject({ status: 401, code: 'token_expired' });
    expect(calls).toHaveLength(3);
    expect(store.get()).toBeNull();
    expect(onSignedOut).toHaveBeenCalledTimes(1);
  });

  it('goes to sign-in when the refresh fails', async () => {
    const store = memorySessionStore(session(1));
    const { fetch, calls } = fakeFetch(() => problem(401, 'token_expired'), () => problem(401, 'refresh_token_reused'));
    const onSignedOut = vi.fn();
    const api = new ApiClient({ store, fetch, onSignedOut });
    const err = await api.me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('refresh_token_reused');
    expect(calls).toHaveLength(2);
    expect(store.get()).toBeNull();
    expect(onSignedOut).toHaveBeenCalledTimes(1);
    expect(onSignedOut.mock.calls[0][0].detail).toMatch(/sign in again/i);
  });

  it('shares one refresh between concurrent requests (refresh tokens rotate)', async () => {
    const store = memorySessionStore(session(1));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { fetch, calls } = fakeFetch(
      () => problem(401, 'token_expired'),
      () => problem(401, 'token_expired'),
      async () => {
        await gate;
        return json(200, tokens(2));
      },
      () => json(200, user),
      () => json(200, user),
    );
    const api = new ApiClient({ store, fetch });
    const both = Promise.all([api.me(), api.me()]);
    await vi.waitFor(() => expect(calls.length).toBe(3));
    release();
    await both;
    expect(calls.filter((c) => c.url.endsWith('/auth/refresh'))).toHaveLength(1);
    expect(calls.slice(3).map((c) => c.auth)).toEqual(['Bearer access-2', 'Bearer access-2']);
  });

  it('uses tokens another tab already refreshed instead of spending the refresh token again', async () => {
    const store = memorySessionStore(session(1));
    const { fetch, calls } = fakeFetch(
      () => {
        store.set(session(7)); // another tab refreshed while this request was in flight
        return problem(401, 'token_expired');
      },
      () => json(200, user),
    );
    const api = new ApiClient({ store, fetch });
    await api.me();
    expect(calls.map((c) => c.auth)).toEqual(['Bearer access-1', 'Bearer access-7']);
  });

  it('does not refresh on other 401 codes; a revoked token ends the session', async () => {
    const store = memorySessionStore(session(1));
    const { fetch, calls } = fakeFetch(() => problem(401, 'token_revoked', 'This session was signed out. Sign in again.'));
    const onSignedOut = vi.fn();
    const api = new ApiClient({ store, fetch, onSignedOut });
    await expect(api.me()).rejects.toMatchObject({ code: 'token_revoked', detail: 'This session was signed out. Sign in again.' });
    expect(calls).toHaveLength(1);
    expect(onSignedOut).toHaveBeenCalledTimes(1);
  });

  it('does not treat a wrong password as an expired session', async () => {
    const store = memorySessionStore(null);
    const { fetch, calls } = fakeFetch(() => problem(401, 'invalid_credentials', 'Wrong email or password. Check both and try again.'));
    const api = new ApiClient({ store, fetch });
    await expect(api.signIn('a@example.com', 'nope-nope')).rejects.toMatchObject({ detail: 'Wrong email or password. Check both and try again.' });
    expect(calls).toHaveLength(1);
    expect(calls[0].auth).toBeNull();
  });

  it('turns problem documents into ApiError with detail, code and retry_after', async () => {
    const { fetch } = fakeFetch(() => json(429, { type: 't', title: 'Too Many Requests', status: 429, code: 'rate_limited', detail: 'Too many sign-ups; try again in 30 s.', retry_after: 30 }));
    const api = new ApiClient({ store: memorySessionStore(null), fetch });
    await expect(api.signUp('a@example.com', 'password1', 'Ada')).rejects.toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 30 });
  });

  it('takes a null retry_after (the document allows it) as none', async () => {
    const { fetch } = fakeFetch(() => json(409, { type: 't', title: 'Conflict', status: 409, code: 'email_taken', detail: 'That email is taken.', retry_after: null }));
    const api = new ApiClient({ store: memorySessionStore(null), fetch });
    const e = await api.signUp('a@example.com', 'password1', 'Ada').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).retryAfter).toBeUndefined();
  });

  it('leaves null fields out of a new event (POST /events takes no nulls) and sends an edit as given', async () => {
    const event = { id: 'e1' };
    const { fetch, calls } = fakeFetch(
      () => json(201, event),
      () => json(200, event),
    );
    const api = new ApiClient({ store: memorySessionStore(session(1)), fetch });
    await api.createEvent({ title: 'Launch', starts_at: '2030-01-01T10:00:00Z', description: null, cover_url: null, cohost_ids: null });
    await api.updateEvent('e1', { title: 'Launch 2', description: null });
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['POST', '/api/v1/events', { title: 'Launch', starts_at: '2030-01-01T10:00:00Z' }],
      ['PATCH', '/api/v1/events/e1', { title: 'Launch 2', description: null }],
    ]);
  });

  it('explains what to do when the answer is not a problem document or the network fails', async () => {
    const { fetch } = fakeFetch(
      () => new Response('<html>bad gateway</html>', { status: 502 }),
      () => {
        throw new TypeError('Failed to fetch');
      },
    );
    const api = new ApiClient({ store: memorySessionStore(session(1)), fetch });
    await expect(api.me()).rejects.toMatchObject({ status: 502, detail: expect.stringMatching(/try again/i) });
    await expect(api.me()).rejects.toMatchObject({ code: 'network', detail: expect.stringMatching(/check your connection/i) });
  });

  it('builds list queries and the live socket URL', async () => {
    const { fetch, calls } = fakeFetch(() => json(200, { events: [], next_cursor: null }));
    const api = new ApiClient({ store: memorySessionStore(session(1)), fetch, now: () => 0 });
    await api.listEvents('past', 'abc', 5);
    expect(calls[0].url).toBe('/api/v1/events?status=past&cursor=abc&limit=5');
    const exp = 10_000;
    const jwt = `h.${btoa(JSON.stringify({ exp })).replace(/=+$/, '')}.s`;
    const api2 = new ApiClient({ store: memorySessionStore({ ...session(1), access_token: jwt }), fetch, now: () => 0 });
    await expect(api2.liveUrl('ev 1', { protocol: 'https:', host: 'stage.example' })).resolves.toBe(
      `wss://stage.example/api/v1/events/ev%201/live?access_token=${encodeURIComponent(jwt)}`,
    );
  });

  it('refreshes before opening the socket when the access token is about to expire', async () => {
    const soon = `h.${btoa(JSON.stringify({ exp: 100 }))}.s`;
    const store = memorySessionStore({ ...session(1), access_token: soon });
    const { fetch, calls } = fakeFetch(() => json(200, tokens(2)));
    const api = new ApiClient({ store, fetch, now: () => 90_000 });
    await expect(api.freshAccessToken()).resolves.toBe('access-2');
    expect(calls[0].url).toBe('/api/v1/auth/refresh');
  });
});

describe('errorText', () => {
  it('shows the server detail and adds what to do by code', () => {
    expect(errorText(new ApiError({ status: 422, code: 'starts_at_in_past', detail: 'starts_at must not be in the past' }))).toBe(
      'starts_at must not be in the past. Pick a start time in the future.',
    );
    expect(errorText(new ApiError({ status: 429, code: 'rate_limited', detail: 'too many attempts', retry_after: 30 }))).toBe(
      'too many attempts. Wait 30 s, then try again.',
    );
  });

  it('keeps details that already say what to do, and unknown codes as they are', () => {
    expect(errorText(new ApiError({ status: 422, code: 'title_required', detail: 'Enter a title.' }))).toBe('Enter a title.');
    expect(errorText(new ApiError({ status: 409, code: 'something_new', detail: 'a new rule refused this; change X' }))).toBe('a new rule refused this; change X');
    expect(errorText(new Error('boom'))).toMatch(/reload the page/i);
  });
});

describe('ApiClient avatar upload', () => {
  it('sends the image as the raw body with its type and keeps the updated user in the session', async () => {
    const updated = { ...user, avatar_url: 'http://127.0.0.1:8080/api/v1/avatars/u1/0190.png' };
    const seen: Request[] = [];
    const fetch = vi.fn(async (input: RequestInfo | URL) => {
      seen.push(input as Request);
      return json(200, updated);
    }) as unknown as typeof globalThis.fetch;
    const store = memorySessionStore(session(1));
    const api = new ApiClient({ store, fetch });
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    const image = new Blob([bytes]);
    await expect(api.uploadAvatar(image, 'image/png')).resolves.toEqual(updated);
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('PUT');
    expect(new URL(seen[0].url).pathname).toBe('/api/v1/me/avatar');
    expect(seen[0].headers.get('Content-Type')).toBe('image/png');
    expect(seen[0].headers.get('Authorization')).toBe('Bearer access-1');
    expect(new Uint8Array(await seen[0].arrayBuffer())).toEqual(bytes);
    expect(store.get()?.user.avatar_url).toBe(updated.avatar_url);
  });
});

describe('ApiClient stage control', () => {
  it('lists who is on stage, mutes a track and removes someone', async () => {
    const list = { participants: [{ participant_id: 'p1', user_id: 'u2', name: 'Bo', connected: true, tracks: [{ source: 'camera', kind: 'video', muted: false }] }] };
    const { fetch, calls } = fakeFetch(
      () => json(200, list),
      () => json(200, { tracks_muted: 1 }),
      () => json(200, { participants_removed: 1 }),
      () => json(200, { participants_removed: 0 }),
    );
    const api = new ApiClient({ store: memorySessionStore(session(1)), fetch });
    await expect(api.stageParticipants('ev 1')).resolves.toEqual(list);
    await expect(api.stageMute('ev 1', 'u2', 'camera')).resolves.toEqual({ tracks_muted: 1 });
    await expect(api.stageRemove('ev 1', 'u2', 'off topic')).resolves.toEqual({ participants_removed: 1 });
    await expect(api.stageRemove('ev 1', 'u2')).resolves.toEqual({ participants_removed: 0 });
    expect(calls.map((c) => [c.method, c.url, c.auth, c.body])).toEqual([
      ['GET', '/api/v1/events/ev%201/stage/participants', 'Bearer access-1', undefined],
      ['POST', '/api/v1/events/ev%201/stage/mute', 'Bearer access-1', { user_id: 'u2', source: 'camera' }],
      ['POST', '/api/v1/events/ev%201/stage/remove', 'Bearer access-1', { user_id: 'u2', reason: 'off topic' }],
      ['POST', '/api/v1/events/ev%201/stage/remove', 'Bearer access-1', { user_id: 'u2' }],
    ]);
  });

  it('turns a refusal into an ApiError that says what to do', async () => {
    const { fetch } = fakeFetch(() => problem(403, 'not_a_host', 'only the host and co-hosts control the stage'));
    const api = new ApiClient({ store: memorySessionStore(session(1)), fetch });
    const err = await api.stageMute('e', 'u', 'microphone').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, code: 'not_a_host' });
    expect(errorText(err)).toBe('only the host and co-hosts control the stage. Ask the host to do it, or to make you a co-host.');
  });
});

describe('ApiClient stage', () => {
  const change = { kind: 'hand_raised', actor_id: 'u1', target_user_id: 'u1', role: 'audience', at: '2026-01-01T00:00:00Z' };
  const changed = { change, applied_to_media: true };

  it('calls every stage endpoint with its method, path and body', async () => {
    const view = { event_id: 'ev 1', max_speakers: 8, your_role: 'host', members: [], hands: [], invitations: [], bans: [] };
    const { fetch, calls } = fakeFetch(
      () => json(200, view),
      ...Array.from({ length: 17 }, () => () => json(201, changed)),
      () => json(200, { entries: [change] }),
    );
    const api = new ApiClient({ store: memorySessionStore(session(1)), fetch });
    await expect(api.stage('ev 1')).resolves.toEqual(view);
    await expect(api.raiseHand('ev 1')).resolves.toEqual(changed);
    await api.lowerHand('ev 1');
    await api.lowerHandOf('ev 1', 'u/2');
    await api.invite('ev 1', 'u2');
    await api.answerInvitation('ev 1', 'inv1', 'accept');
    await api.answerInvitation('ev 1', 'inv1', 'decline');
    await api.withdrawInvitation('ev 1', 'inv/1');
    await api.setStageRole('ev 1', 'u2', 'moderator');
    await api.setStageRole('ev 1', 'u2', 'host');
    await api.leaveStage('ev 1');
    await api.kick('ev 1', 'u2');
    await api.kick('ev 1', 'u2', 'spam');
    await api.banFromEvent('ev 1', 'u2', 'abuse');
    await api.banFromEvent('ev 1', 'u3');
    await api.unbanFromEvent('ev 1', 'u2');
    await expect(api.bringOnAir('ev 1', 'u/2')).resolves.toEqual(changed);
    await expect(api.sendBackstage('ev 1', 'u2')).resolves.toEqual(changed);
    await expect(api.stageLog('ev 1', 20)).resolves.toEqual({ entries: [change] });
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', '/api/v1/events/ev%201/stage', undefined],
      ['POST', '/api/v1/events/ev%201/stage/hand', undefined],
      ['DELETE', '/api/v1/events/ev%201/stage/hand', undefined],
      ['DELETE', '/api/v1/events/ev%201/stage/hands/u%2F2', undefined],
      ['POST', '/api/v1/events/ev%201/stage/invitations', { user_id: 'u2' }],
      ['POST', '/api/v1/events/ev%201/stage/invitations/inv1/accept', undefined],
      ['POST', '/api/v1/events/ev%201/stage/invitations/inv1/decline', undefined],
      ['DELETE', '/api/v1/events/ev%201/stage/invitations/inv%2F1', undefined],
      ['PUT', '/api/v1/events/ev%201/stage/roles/u2', { role: 'moderator' }],
      ['PUT', '/api/v1/events/ev%201/stage/roles/u2', { role: 'host' }],
      ['POST', '/api/v1/events/ev%201/stage/leave', undefined],
      ['POST', '/api/v1/events/ev%201/kick', { user_id: 'u2' }],
      ['POST', '/api/v1/events/ev%201/kick', { user_id: 'u2', reason: 'spam' }],
      ['POST', '/api/v1/events/ev%201/bans', { user_id: 'u2', reason: 'abuse' }],
      ['POST', '/api/v1/events/ev%201/bans', { user_id: 'u3' }],
      ['DELETE', '/api/v1/events/ev%201/bans/u2', undefined],
      ['POST', '/api/v1/events/ev%201/stage/on-air/u%2F2', undefined],
      ['POST', '/api/v1/events/ev%201/stage/backstage/u2', undefined],
      ['GET', '/api/v1/events/ev%201/stage/log?limit=20', undefined],
    ]);
    expect(calls.every((c) => c.auth === 'Bearer access-1')).toBe(true);
  });

  it('explains every stage refusal code with what to do', async () => {
    const codes = [
      'not_allowed',
      'cannot_act_on_higher_role',
      'stage_full',
      'already_on_stage',
      'hand_already_raised',
      'hand_not_raised',
      'already_invited',
      'invitation_expired',
      'invitation_not_found',
      'banned',
      'already_banned',
      'not_banned',
      'role_unchanged',
      'host_must_hand_over',
      'event_over',
      'not_backstage',
      'already_backstage',
    ];
    for (const code of codes) {
      const text = errorText(new ApiError({ status: 409, code, detail: `refused: ${code}` }));
      expect(text.startsWith(`refused: ${code}. `)).toBe(true);
      expect(text.length).toBeGreaterThan(`refused: ${code}. `.length + 10);
    }
    const { fetch } = fakeFetch(() => problem(409, 'stage_full', 'all 8 speaker seats are taken'));
    const api = new ApiClient({ store: memorySessionStore(session(1)), fetch });
    const err = await api.invite('e', 'u2').catch((e: unknown) => e);
    expect(errorText(err)).toBe('all 8 speaker seats are taken. Every speaker seat is taken. Move a speaker back to the audience first.');
  });

  it('explains the green room refusals', async () => {
    const { fetch } = fakeFetch(
      () => problem(409, 'not_backstage', 'they are not backstage'),
      () => problem(409, 'already_backstage', 'they are backstage already'),
    );
    const api = new ApiClient({ store: memorySessionStore(session(1)), fetch });
    const a = await api.bringOnAir('e', 'u2').catch((e: unknown) => e);
    // Our sentence already says what the server's detail says: it is shown alone.
    expect(errorText(a)).toBe('They are not backstage any more. Reload the page to see the stage as it is.');
    const b = await api.sendBackstage('e', 'u2').catch((e: unknown) => e);
    expect(errorText(b)).toBe('they are backstage already. They are already backstage. Reload the page to see the stage as it is.');
  });

  it('makes, lists, withdraws and regenerates guest links on the event', async () => {
    const link = { id: 'l/1', role: 'speaker', needs_approval: true, max_uses: 3, uses: 0, created_by: 'u1', created_at: 'x', expires_at: 'y', revoked_at: null };
    const created = { link, token: 'tok', join_url: '/join/tok' };
    const { fetch, calls } = fakeFetch(
      () => json(201, created),
      () => json(200, { links: [link] }),
      () => json(200, { ...link, revoked_at: 'z' }),
      () => json(201, created),
    );
    const api = new ApiClient({ store: memorySessionStore(session(1)), fetch });
    await expect(api.createGuestLink('e1', { role: 'speaker', expires_in_secs: 3600, max_uses: 3, needs_approval: true })).resolves.toEqual(created);
    await expect(api.guestLinks('e1')).resolves.toEqual({ links: [link] });
    await expect(api.withdrawGuestLink('e1', 'l/1')).resolves.toMatchObject({ revoked_at: 'z' });
    await expect(api.regenerateGuestLink('e1', 'l/1')).resolves.toEqual(created);
    expect(calls.map((c) => [c.method, c.url, c.auth])).toEqual([
      ['POST', '/api/v1/events/e1/stage/links', 'Bearer access-1'],
      ['GET', '/api/v1/events/e1/stage/links', 'Bearer access-1'],
      ['DELETE', '/api/v1/events/e1/stage/links/l%2F1', 'Bearer access-1'],
      ['POST', '/api/v1/events/e1/stage/links/l%2F1/regenerate', 'Bearer access-1'],
    ]);
    expect(calls[0].body).toEqual({ role: 'speaker', expires_in_secs: 3600, max_uses: 3, needs_approval: true });
  });

  it('reads a guest link without a token and joins as a guest, replacing the session', async () => {
    const store = memorySessionStore(session(1));
    const info = { event: { id: 'e1', title: 'Show' }, role: 'speaker', needs_approval: false, expires_at: 'y' };
    const guestUser = { id: 'g1', email: '', display_name: 'Gus', avatar_url: null, created_at: 'x', guest_event_id: 'e1' };
    const joined = { access_token: 'ga', refresh_token: 'gr', token_type: 'Bearer', expires_in: 900, session_id: 's', user: guestUser, event_id: 'e1', role: 'speaker', change: null };
    const { fetch, calls } = fakeFetch(
      () => json(200, info),
      () => json(201, joined),
      () => new Response(null, { status: 204 }),
    );
    const onSession = vi.fn();
    const api = new ApiClient({ store, fetch, onSession });
    await expect(api.guestLinkInfo('a b')).resolves.toEqual(info);
    await expect(api.joinAsGuest('a b', 'Gus')).resolves.toMatchObject({ event_id: 'e1', role: 'speaker' });
    expect(calls.map((c) => [c.method, c.url, c.auth])).toEqual([
      ['GET', '/api/v1/guest-links/a%20b', null],
      ['POST', '/api/v1/guest-links/a%20b/join', null],
      ['POST', '/api/v1/auth/logout', null],
    ]);
    expect(calls[1].body).toEqual({ display_name: 'Gus' });
    expect(calls[2].body).toEqual({ refresh_token: 'refresh-1' });
    expect(store.get()).toEqual({ access_token: 'ga', refresh_token: 'gr', user: guestUser });
    expect(api.guestEventId).toBe('e1');
    expect(onSession).toHaveBeenCalledTimes(1);
  });

  it('sends the optional photo and marks the guest even when the user lacks guest_event_id', async () => {
    const store = memorySessionStore(null);
    const u = { id: 'g1', email: '', display_name: 'Gus', avatar_url: 'https://x/p.png', created_at: 'x' };
    const { fetch, calls } = fakeFetch(() =>
      json(201, { access_token: 'ga', refresh_token: 'gr', token_type: 'Bearer', expires_in: 900, session_id: 's', user: u, event_id: 'e1', role: 'audience' }),
    );
    const api = new ApiClient({ store, fetch });
    await api.joinAsGuest('t', 'Gus', 'https://x/p.png');
    expect(calls).toHaveLength(1);
    expect(calls[0].body).toEqual({ display_name: 'Gus', avatar_url: 'https://x/p.png' });
    expect(store.get()?.user.guest_event_id).toBe('e1');
  });

  it('keeps a guest a guest across a refresh', async () => {
    const store = memorySessionStore({ ...session(1), user: { ...user, guest_event_id: 'e1' } });
    const { fetch } = fakeFetch(
      () => problem(401, 'token_expired'),
      () => json(200, tokens(2)),
      () => json(200, user),
    );
    const api = new ApiClient({ store, fetch });
    await api.me();
    expect(store.get()?.user.guest_event_id).toBe('e1');
  });

  it('explains every guest link refusal with what to do', () => {
    for (const code of ['link_not_found', 'link_revoked', 'link_expired', 'link_exhausted', 'invalid_link_role', 'invalid_expiry', 'invalid_max_uses', 'guest_session_scope']) {
      const text = errorText(new ApiError({ status: 409, code, detail: `refused: ${code}` }));
      expect(text.startsWith(`refused: ${code}. `)).toBe(true);
      expect(text.length).toBeGreaterThan(`refused: ${code}. `.length + 10);
    }
    expect(errorText(new ApiError({ status: 409, code: 'link_revoked', detail: 'the link was revoked' }))).toBe(
      'the link was revoked. This invite link was withdrawn. Ask the host for a new one.',
    );
    // A server detail our sentence already says is not said twice.
    expect(errorText(new ApiError({ status: 409, code: 'link_revoked', detail: 'This invite link was withdrawn.' }))).toBe(
      'This invite link was withdrawn. Ask the host for a new one.',
    );
  });
});
