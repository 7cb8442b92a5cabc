// A STAND-IN for the stagecast gateway, for working on the web client before (or without) the
// Rust platform: it serves web/dist and fakes the REST API and the live WebSocket (protocol v1)
// in memory, following docs/api.md and docs/websocket.md. It is NOT the platform, and passing
// the e2e against it proves only the client side; the real check is `npm run e2e` against
// `scripts/up`.
//
//   node e2e/mock-platform.mjs            # http://127.0.0.1:8090 (MOCK_PORT to change)
//   MOCK_TOKEN_TTL=5 node e2e/...         # access tokens expire after 5 s (to exercise refresh)
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const PORT = Number(process.env.MOCK_PORT ?? 8090);
const TTL = Number(process.env.MOCK_TOKEN_TTL ?? 900);
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

const users = new Map(); // id -> user + password
const byEmail = new Map();
const refresh = new Map(); // refresh token -> user id
const revoked = new Set();
const events = new Map();
const rooms = new Map(); // event id -> room
const guestLinks = new Map(); // link id -> guest invite link (with its event_id and current token)
const guestRoles = new Map(); // `${event id}/${user id}` -> stage role a guest joined with
const backstage = new Set(); // `${event id}/${user id}` of guests waiting in the green room
const stageLogs = new Map(); // event id -> the stage changes, oldest first
const invitations = new Map(); // invitation id -> { id, event_id, user_id, invited_by, created_at, expires_at }
const logStage = (eventId, change) => {
  if (!stageLogs.has(eventId)) stageLogs.set(eventId, []);
  stageLogs.get(eventId).push(change);
};

// Cloud recording (docs/recording.md): recordings in memory, moved along by timers
// (starting → recording after MOCK_RECORDING_STEP_MS, stopping → ready as long again). There is no
// egress: the playlist lists segments that answer 404, the MP4 is a few bytes, there is no thumbnail.
const recordings = new Map(); // recording id -> { id, event_id, host_id, state, layout, quality, startedMs, endedMs, layout_changes, error, playback }
const RECORDING_STEP_MS = Number(process.env.MOCK_RECORDING_STEP_MS ?? 1500);
const RECORDING_LAYOUTS = ['speaker', 'grid', 'screen'];
const SEGMENT_MS = 2000;

function publicRecording(r) {
  const durationMs = r.startedMs ? (r.endedMs ?? Date.now()) - r.startedMs : null;
  const base = `/api/v1/recordings/${r.id}`;
  return {
    id: r.id, event_id: r.event_id, event_title: events.get(r.event_id)?.title ?? '', host_id: r.host_id,
    state: r.state, layout: r.layout, quality: r.quality,
    started_at: r.startedMs ? new Date(r.startedMs).toISOString() : null,
    ended_at: r.endedMs ? new Date(r.endedMs).toISOString() : null,
    duration_ms: durationMs, size_bytes: durationMs === null ? null : Math.round(durationMs * 250),
    thumbnail_url: `${base}/thumbnail.jpg`,
    layout_changes: r.layout_changes, gaps: [],
    ...(r.error ? { error: r.error } : {}),
    ...(r.playback ? { playback: { hls_url: `${base}/hls/index.m3u8`, mp4_url: `${base}/download.mp4` } } : {}),
  };
}

/** Every socket of the event hears about a recording's new state or layout. */
function announceRecording(r) {
  if (recordings.get(r.id) === r) broadcast(r.event_id, { type: 'recording', recording: publicRecording(r) });
}

function stopRecording(r) {
  r.state = 'stopping';
  r.endedMs = Date.now();
  announceRecording(r);
  setTimeout(() => {
    if (r.state !== 'stopping') return;
    r.state = 'ready';
    announceRecording(r);
  }, RECORDING_STEP_MS);
}

function getRecording(id, me) {
  const r = recordings.get(id);
  if (!r) throw new Problem(404, 'recording_not_found', 'There is no such recording; it may have been deleted.');
  const e = events.get(r.event_id);
  if (room(r.event_id).bans.has(me.id) && e?.host_id !== me.id) throw new Problem(403, 'banned', 'You are banned from this event, so you cannot watch its recordings.');
  return r;
}

function playlist(r) {
  const durationMs = r.startedMs ? (r.endedMs ?? Date.now()) - r.startedMs : 0;
  const n = Math.max(1, Math.ceil(durationMs / SEGMENT_MS));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${SEGMENT_MS / 1000}`, '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:EVENT'];
  for (let i = 1; i <= n; i++) lines.push(`#EXTINF:${(SEGMENT_MS / 1000).toFixed(3)},`, `seg-${String(i).padStart(5, '0')}.ts`);
  if (r.state === 'ready' || r.state === 'failed') lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

const now = () => new Date().toISOString();

// Restreaming (docs/api.md "Destinations"): saved destinations and their pushes in memory. There is
// no egress: a start goes connecting → live after MOCK_DESTINATION_STEP_MS with a made-up bitrate;
// a stream key containing "bad" is refused (failed, key_refused); a server whose host ends in
// ".invalid" is retried twice (retrying, unreachable), then fails. Going live starts those set to
// auto-start; ending stops them. POST /__mock/destinations/{event id}/{destination id}/fail?code=
// makes one fail. Only the host's and co-hosts' sockets get the `destination` frames.
const destinations = new Map(); // destination id -> { id, owner_id, platform, name, server_url, stream_key, created_at }
const pushes = new Map(); // `${event id}/${destination id}` -> { event_id, destination_id, auto_start, state, liveSinceMs, bytes, retries, error, error_code, updated_at, timer }
const DESTINATION_STEP_MS = Number(process.env.MOCK_DESTINATION_STEP_MS ?? 1500);
const PLATFORMS = {
  youtube: { name: 'YouTube', server: 'rtmps://a.rtmps.youtube.com:443/live2' },
  twitch: { name: 'Twitch', server: 'rtmp://live.twitch.tv/app' },
  facebook: { name: 'Facebook', server: 'rtmps://live-api-s.facebook.com:443/rtmp' },
  custom: { name: 'Custom RTMP', server: null },
};
const PUSH_ERRORS = {
  key_refused: 'the server refused the stream key: copy the key again from the platform and check that the stream is set up there',
  unreachable: "the server's name could not be found: check the URL",
  stalled: 'the server stopped taking the stream; reconnecting',
  disconnected: 'the server closed the connection',
  tls: 'the TLS handshake with the server failed: check that it takes rtmps://',
  invalid_url: 'the server URL is not a valid RTMP URL',
};
/** As services/broadcast checks a server URL: rtmp(s)://host[:port]/app, no spaces. */
function rtmpUrlProblem(url) {
  const u = url.trim().replace(/\/+$/, '');
  if (u.length > 512 || /[\s\p{Cc}]/u.test(u)) return 'the server URL is too long or holds spaces';
  const m = /^rtmps?:\/\/(.*)$/.exec(u);
  if (!m) return 'the server URL must start with rtmp:// or rtmps://';
  const slash = m[1].indexOf('/');
  if (slash < 0) return 'the server URL needs an application path, e.g. rtmp://host/live';
  const host = m[1].slice(0, slash);
  const app = m[1].slice(slash + 1);
  const colon = host.lastIndexOf(':');
  const name = colon >= 0 ? host.slice(0, colon) : host;
  const portOk = colon < 0 || (/^\d{1,5}$/.test(host.slice(colon + 1)) && Number(host.slice(colon + 1)) <= 65535);
  if (!name || !portOk || host.includes('@')) return 'the server URL needs a host (and a valid port, if any)';
  if (!app || app.includes('//')) return 'the server URL needs an application path, e.g. rtmp://host/live';
  return null;
}
const pushing = (x) => ['connecting', 'live', 'retrying'].includes(x.state);

const publicDestination = (d) => ({ id: d.id, platform: d.platform, name: d.name, server_url: d.server_url, key_hint: `…${d.stream_key.slice(-4)}`, created_at: d.created_at });

function pushBitrate(x) {
  return x.state === 'live' ? 2_400_000 + Math.round(Math.random() * 200_000) : 0;
}

function publicPush(x) {
  const liveBytes = x.state === 'live' && x.liveSinceMs ? Math.round(((Date.now() - x.liveSinceMs) * 2_500_000) / 8000) : 0;
  return {
    event_id: x.event_id, destination: publicDestination(destinations.get(x.destination_id)), auto_start: x.auto_start, state: x.state,
    bitrate_bps: pushBitrate(x), bytes_sent: x.bytes + liveBytes, live_since: x.liveSinceMs ? new Date(x.liveSinceMs).toISOString() : null,
    retries: x.retries, error: x.error, error_code: x.error_code, updated_at: x.updated_at,
  };
}

/** The event's host and co-hosts hear about a destination's new state. */
function announcePush(x, detached = false) {
  x.updated_at = now();
  const e = events.get(x.event_id);
  if (!e || (!detached && pushes.get(`${x.event_id}/${x.destination_id}`) !== x)) return;
  const json = JSON.stringify({ type: 'destination', destination: publicPush(x) });
  for (const s of room(e.id).sockets) if (s.user.id === e.host_id || e.cohost_ids.includes(s.user.id)) s.ws.send(json);
}

function settle(x, fields) {
  clearTimeout(x.timer);
  if (x.state === 'live' && x.liveSinceMs) x.bytes += Math.round(((Date.now() - x.liveSinceMs) * 2_500_000) / 8000);
  Object.assign(x, { liveSinceMs: null, timer: null }, fields);
  announcePush(x);
}

function stepPush(x) {
  if (pushes.get(`${x.event_id}/${x.destination_id}`) !== x || !['connecting', 'retrying'].includes(x.state)) return;
  const d = destinations.get(x.destination_id);
  if (/bad/i.test(d.stream_key)) return settle(x, { state: 'failed', error_code: 'key_refused', error: PUSH_ERRORS.key_refused });
  if (/^rtmps?:\/\/[^/]+\.invalid(:\d+)?\//i.test(d.server_url)) {
    if (x.retries >= 2) return settle(x, { state: 'failed', error_code: 'unreachable', error: PUSH_ERRORS.unreachable });
    x.retries += 1;
    Object.assign(x, { state: 'retrying', error_code: 'unreachable', error: PUSH_ERRORS.unreachable });
    announcePush(x);
    x.timer = setTimeout(() => stepPush(x), DESTINATION_STEP_MS);
    return;
  }
  Object.assign(x, { state: 'live', liveSinceMs: Date.now(), error: '', error_code: '' });
  announcePush(x);
}

function startPush(x) {
  settle(x, { state: 'connecting', retries: 0, error: '', error_code: '' });
  x.timer = setTimeout(() => stepPush(x), DESTINATION_STEP_MS);
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

function tokensFor(user) {
  const access = `${b64({ alg: 'none' })}.${b64({ sub: user.id, exp: Math.floor(Date.now() / 1000) + TTL, jti: randomUUID() })}.mock`;
  const r = randomUUID();
  refresh.set(r, user.id);
  return { access_token: access, refresh_token: r, token_type: 'Bearer', expires_in: TTL, session_id: randomUUID(), user: publicUser(user) };
}

const publicUser = (u) => ({ id: u.id, email: u.email, display_name: u.display_name, avatar_url: u.avatar_url, created_at: u.created_at, ...(u.guest_event_id ? { guest_event_id: u.guest_event_id } : {}) });

// Guest invite links (docs/api.md "Guest invite links"), kept simple: no rate limits.
const publicLink = (l) => ({ id: l.id, role: l.role, needs_approval: l.needs_approval, max_uses: l.max_uses, uses: l.uses, created_by: l.created_by, created_at: l.created_at, expires_at: l.expires_at, revoked_at: l.revoked_at });

function newLink(eventId, by, settings) {
  const token = randomUUID().replace(/-/g, '');
  const l = { id: randomUUID(), event_id: eventId, token, uses: 0, created_by: by, created_at: now(), revoked_at: null, ...settings, expires_at: new Date(Date.now() + settings.expires_in_secs * 1000).toISOString() };
  guestLinks.set(l.id, l);
  return { link: publicLink(l), token, join_url: `/join/${token}` };
}

function usableLink(token) {
  const l = [...guestLinks.values()].find((x) => x.token === token);
  if (!l) throw new Problem(404, 'link_not_found', 'There is no such invite link.');
  if (l.revoked_at) throw new Problem(409, 'link_revoked', 'This invite link was withdrawn.');
  if (Date.parse(l.expires_at) <= Date.now()) throw new Problem(409, 'link_expired', 'This invite link has expired.');
  if (l.uses >= l.max_uses) throw new Problem(409, 'link_exhausted', 'This invite link has been used up.');
  const e = getEvent(l.event_id);
  if (e.status === 'ended' || e.status === 'cancelled') throw new Problem(409, 'event_over', 'The event is over.');
  return { l, e };
}

class Problem extends Error {
  constructor(status, code, detail, extra = {}) {
    super(detail);
    Object.assign(this, { status, code, detail, extra });
  }
}

function authUser(token) {
  if (!token) throw new Problem(401, 'missing_token', 'Sign in first: this needs an access token.');
  const [, payload] = token.split('.');
  let claims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  } catch {
    throw new Problem(401, 'token_invalid', 'The access token is not valid; sign in again.');
  }
  if (revoked.has(claims.jti)) throw new Problem(401, 'token_revoked', 'This session was signed out; sign in again.');
  if (claims.exp * 1000 < Date.now()) throw new Problem(401, 'token_expired', 'The access token has expired; refresh it.');
  const u = users.get(claims.sub);
  if (!u) throw new Problem(401, 'token_invalid', 'The access token is not valid; sign in again.');
  return u;
}

function room(id) {
  if (!rooms.has(id)) {
    rooms.set(id, { messages: [], held: [], audit: [], bans: new Set(), mods: new Set(), timeouts: new Map(), lastSent: new Map(), pinned: null, settings: { slow_mode_secs: 0, blocked_terms: [], blocked_term_mode: 'reject' }, sockets: new Set() });
  }
  return rooms.get(id);
}

function getEvent(id) {
  const e = events.get(id);
  if (!e) throw new Problem(404, 'event_not_found', `There is no event ${id}; check the link.`);
  return e;
}

function roleIn(e, userId) {
  if (e.host_id === userId) return 'host';
  if (e.cohost_ids.includes(userId)) return 'cohost';
  if (room(e.id).mods.has(userId)) return 'moderator';
  return 'viewer';
}

function author(e, u) {
  return { user_id: u.id, display_name: u.display_name, avatar_url: u.avatar_url, role: roleIn(e, u.id) };
}

function broadcast(eventId, frame, closeUser) {
  const r = room(eventId);
  const json = JSON.stringify(frame);
  for (const s of r.sockets) {
    s.ws.send(json);
    if (closeUser && s.user.id === closeUser) s.ws.close(4003, 'banned');
  }
}

function presence(eventId) {
  const seen = new Map();
  for (const s of room(eventId).sockets) seen.set(s.user.id, author(getEvent(eventId), s.user));
  return { viewer_count: seen.size, users: [...seen.values()] };
}

function moderate(e, actor, kind, fields = {}) {
  const role = roleIn(e, actor.id);
  if (role === 'viewer') throw new Problem(403, 'not_a_moderator', 'Only the host, co-hosts and moderators can do that.');
  const action = { id: randomUUID(), kind, actor_id: actor.id, target_user_id: null, target_message_id: null, reason: null, at: now(), duration_secs: null, message: null, settings: null, ...fields };
  room(e.id).audit.unshift(action);
  broadcast(e.id, { type: 'moderation', action }, kind === 'ban' ? action.target_user_id : null);
  return action;
}

function sendChat(e, u, clientMsgId, text) {
  const r = room(e.id);
  if (e.status === 'ended' || e.status === 'cancelled') throw new Problem(409, 'chat_closed', 'The event has ended; the chat is closed.');
  if (r.bans.has(u.id)) throw new Problem(403, 'banned', 'You are banned from this chat.');
  const until = r.timeouts.get(u.id);
  if (until && until > Date.now()) throw new Problem(429, 'timed_out', 'A moderator timed you out.', { retry_after: Math.ceil((until - Date.now()) / 1000) });
  const t = String(text ?? '').normalize('NFC').trim();
  if (!t) throw new Problem(422, 'message_empty', 'Write something before sending.');
  if (/[\u0000-\u001f\u007f-\u009f]/.test(t)) throw new Problem(422, 'control_characters', 'a message must not contain control characters (including line breaks)');
  if ([...t].length > 500) throw new Problem(422, 'message_too_long', 'Messages can be at most 500 characters; shorten it.');
  const dup = r.messages.find((m) => m.author.user_id === u.id && m.client_msg_id === clientMsgId) ?? r.held.find((m) => m.author.user_id === u.id && m.client_msg_id === clientMsgId);
  if (dup) return { message: dup, held: r.held.includes(dup) };
  const role = roleIn(e, u.id);
  if (r.settings.slow_mode_secs > 0 && role === 'viewer') {
    const last = r.lastSent.get(u.id) ?? 0;
    const wait = last + r.settings.slow_mode_secs * 1000 - Date.now();
    if (wait > 0) throw new Problem(429, 'slow_mode', `Slow mode is on: one message every ${r.settings.slow_mode_secs} s`, { retry_after: Math.ceil(wait / 1000) });
  }
  const message = { id: randomUUID(), event_id: e.id, author: author(e, u), text: t, sent_at: now(), client_msg_id: clientMsgId };
  const hit = r.settings.blocked_terms.find((term) => t.toLowerCase().includes(term.toLowerCase()));
  if (hit && role === 'viewer') {
    if (r.settings.blocked_term_mode === 'reject') throw new Problem(422, 'blocked_term', 'Your message contains a blocked term; rephrase it and send again.');
    r.held.push(message);
    return { message, held: true };
  }
  r.lastSent.set(u.id, Date.now());
  r.messages.push(message);
  broadcast(e.id, { type: 'chat.message', message });
  return { message, held: false };
}

/** A non-JSON answer (an avatar image). */
class Binary {
  constructor(type, data, headers = {}) {
    this.type = type;
    this.data = data;
    this.headers = headers;
  }
}

const AVATAR_TYPES = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' };
const AVATAR_MAX_BYTES = 2 * 1024 * 1024;
/** "{user}/{uuid}.{ext}" → { type, data } */
const avatars = new Map();

function sniffImage(b) {
  if (b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return null;
}

async function rawBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > limit) throw new Problem(413, 'image_too_large', 'the image is larger than 2 MiB; send a smaller one');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function dropAvatar(u) {
  const m = /\/api\/v1\/avatars\/(.+)$/.exec(u.avatar_url ?? '');
  if (m && m[1].startsWith(`${u.id}/`)) avatars.delete(m[1]);
}

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  if (!chunks.length) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString());
  } catch {
    throw new Problem(400, 'malformed_json', 'The request body is not valid JSON.');
  }
}

function eventList(status, cursor, limit) {
  const all = [...events.values()];
  let list;
  if (status === 'live') list = all.filter((e) => e.status === 'live').sort((a, b) => b.went_live_at.localeCompare(a.went_live_at));
  else if (status === 'past') list = all.filter((e) => e.status === 'ended').sort((a, b) => b.ended_at.localeCompare(a.ended_at));
  else list = all.filter((e) => e.status === 'scheduled').sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  const start = cursor ? Number(cursor) : 0;
  const page = list.slice(start, start + limit);
  return { events: page, next_cursor: start + limit < list.length ? String(start + limit) : null };
}

async function api(req, url) {
  const path = url.pathname.slice('/api/v1'.length);
  const m = req.method;
  const seg = path.split('/').filter(Boolean);
  // Playback (a <video>, a download link, an <img>) may carry the token in the query.
  const queryToken = seg[0] === 'recordings' && seg.length > 2 && seg[2] !== 'chat' ? url.searchParams.get('access_token') : null;
  const token = (req.headers.authorization ?? '').replace(/^Bearer /, '') || queryToken || null;

  if (m === 'POST' && path === '/auth/signup') {
    const b = await body(req);
    if (!/^[^@\s]+@[^@\s]+$/.test(b.email ?? '')) throw new Problem(422, 'invalid_email', 'Enter a valid email address, like name@example.com.');
    if ((b.password ?? '').length < 8) throw new Problem(422, 'password_too_short', 'Choose a password of at least 8 characters.');
    if (!(b.display_name ?? '').trim()) throw new Problem(422, 'display_name_required', 'Enter a display name.');
    if (byEmail.has(b.email.toLowerCase())) throw new Problem(409, 'email_taken', 'An account with this email already exists; sign in instead.');
    const u = { id: randomUUID(), email: b.email, password: b.password, display_name: b.display_name.trim(), avatar_url: null, created_at: now() };
    users.set(u.id, u);
    byEmail.set(b.email.toLowerCase(), u);
    return [201, tokensFor(u)];
  }
  if (m === 'POST' && path === '/auth/login') {
    const b = await body(req);
    const u = byEmail.get((b.email ?? '').toLowerCase());
    if (!u || u.password !== b.password) throw new Problem(401, 'invalid_credentials', 'Wrong email or password. Check both and try again.');
    return [200, tokensFor(u)];
  }
  if (m === 'POST' && path === '/auth/refresh') {
    const b = await body(req);
    const id = refresh.get(b.refresh_token);
    if (!id) throw new Problem(401, 'refresh_token_invalid', 'The session is over; sign in again.');
    refresh.delete(b.refresh_token);
    return [200, tokensFor(users.get(id))];
  }
  if (m === 'POST' && path === '/auth/logout') {
    const b = await body(req);
    refresh.delete(b.refresh_token);
    return [204, null];
  }
  if (seg[0] === 'avatars' && seg.length === 3 && m === 'GET') {
    const a = avatars.get(`${seg[1]}/${seg[2]}`);
    if (!a) throw new Problem(404, 'avatar_not_found', 'there is no such avatar');
    return [200, new Binary(a.type, a.data, { 'Cache-Control': 'public, max-age=31536000, immutable' })];
  }
  if (seg[0] === 'guest-links' && seg[1] && seg.length === 2 && m === 'GET') {
    const { l, e } = usableLink(seg[1]);
    return [200, { event: e, role: l.role, needs_approval: l.needs_approval, expires_at: l.expires_at }];
  }
  if (seg[0] === 'guest-links' && seg[1] && seg[2] === 'join' && seg.length === 3 && m === 'POST') {
    const b = await body(req);
    const name = String(b.display_name ?? '').trim();
    if (!name) throw new Problem(422, 'display_name_required', 'Enter a display name.');
    if ([...name].length > 50) throw new Problem(422, 'display_name_too_long', 'Display names are at most 50 characters.');
    if (b.avatar_url && !/^https?:\/\//.test(b.avatar_url)) throw new Problem(422, 'invalid_avatar_url', 'The avatar URL must be http(s).');
    const { l, e } = usableLink(seg[1]);
    l.uses += 1;
    const u = { id: randomUUID(), email: '', password: null, display_name: name, avatar_url: b.avatar_url || null, created_at: now(), guest_event_id: e.id };
    users.set(u.id, u);
    const role = l.needs_approval ? 'audience' : l.role;
    if (role !== 'audience') {
      guestRoles.set(`${e.id}/${u.id}`, role);
      backstage.add(`${e.id}/${u.id}`); // guests wait backstage until brought on air
    }
    const change = { kind: l.needs_approval ? 'hand_raised' : 'role_changed', actor_id: u.id, target_user_id: u.id, role, at: now() };
    return [201, { ...tokensFor(u), event_id: e.id, role, change }];
  }
  const me = authUser(token);
  if (me.guest_event_id && path !== '/me' && !(seg[0] === 'events' && seg[1] === me.guest_event_id)) {
    throw new Problem(403, 'guest_session_scope', 'A guest session works only for the event it was made for.');
  }
  if (path === '/me' && m === 'GET') return [200, publicUser(me)];
  if (path === '/me/avatar' && m === 'PUT') {
    const declared = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const ext = AVATAR_TYPES[declared];
    if (!ext) throw new Problem(415, 'unsupported_image_type', 'send the image as the body with Content-Type image/png, image/jpeg or image/webp');
    const data = await rawBody(req, AVATAR_MAX_BYTES);
    if (!data.length) throw new Problem(422, 'image_required', 'the request body must be the image');
    if (sniffImage(data) !== declared) throw new Problem(422, 'image_type_mismatch', `the body is not a ${ext.toUpperCase()} image`);
    const key = `${me.id}/${randomUUID()}.${ext}`;
    avatars.set(key, { type: declared, data });
    dropAvatar(me);
    me.avatar_url = `http://${req.headers.host}/api/v1/avatars/${key}`;
    return [200, publicUser(me)];
  }
  if (path === '/me/avatar' && m === 'DELETE') {
    dropAvatar(me);
    me.avatar_url = null;
    return [200, publicUser(me)];
  }
  if (path === '/me' && m === 'PATCH') {
    const b = await body(req);
    if (b.display_name !== undefined) {
      if (!b.display_name.trim()) throw new Problem(422, 'display_name_required', 'Enter a display name.');
      me.display_name = b.display_name.trim();
    }
    if (b.avatar_url !== undefined) {
      if (b.avatar_url && !/^https?:\/\//.test(b.avatar_url)) throw new Problem(422, 'invalid_avatar_url', 'The avatar must be an http(s) URL.');
      me.avatar_url = b.avatar_url || null;
    }
    return [200, publicUser(me)];
  }
  if (path === '/events' && m === 'GET') {
    const limit = Number(url.searchParams.get('limit') ?? 20);
    return [200, eventList(url.searchParams.get('status') ?? 'upcoming', url.searchParams.get('cursor'), limit)];
  }
  if (path === '/events' && m === 'POST') {
    const b = await body(req);
    if (!(b.title ?? '').trim()) throw new Problem(422, 'title_required', 'Give the event a title.');
    if (!b.starts_at || Number.isNaN(Date.parse(b.starts_at))) throw new Problem(422, 'invalid_timestamp', 'starts_at must be an RFC 3339 time.');
    if (Date.parse(b.starts_at) < Date.now() - 60_000) throw new Problem(422, 'starts_at_in_past', 'The start time is in the past; pick a later time.');
    const e = { id: randomUUID(), title: b.title.trim(), description: b.description ?? '', starts_at: b.starts_at, cover_url: b.cover_url || null, status: 'scheduled', host_id: me.id, cohost_ids: b.cohost_ids ?? [], created_at: now(), updated_at: now(), went_live_at: null, ended_at: null, cancelled_at: null };
    events.set(e.id, e);
    return [201, e];
  }
  if (path === '/recordings' && m === 'GET') {
    if (url.searchParams.get('scope') !== 'mine') throw new Problem(422, 'invalid_query', 'scope must be "mine"');
    const mine = [...recordings.values()].filter((r) => {
      const e = events.get(r.event_id);
      return e && (e.host_id === me.id || e.cohost_ids.includes(me.id));
    });
    return [200, { recordings: mine.reverse().map(publicRecording) }];
  }
  if (path === '/destinations' && m === 'GET') {
    return [200, { destinations: [...destinations.values()].filter((d) => d.owner_id === me.id).map(publicDestination) }];
  }
  if (path === '/destinations' && m === 'POST') {
    const b = await body(req);
    const platform = PLATFORMS[b.platform];
    if (!platform) throw new Problem(422, 'invalid_platform', 'platform must be youtube, twitch, facebook or custom');
    const given = typeof b.server_url === 'string' ? b.server_url.trim() : '';
    if (b.platform === 'custom' && !given) throw new Problem(422, 'invalid_server_url', 'a custom destination needs its server URL');
    const urlProblem = given ? rtmpUrlProblem(given) : null;
    if (urlProblem) throw new Problem(422, 'invalid_server_url', urlProblem);
    const serverUrl = given ? given.replace(/\/+$/, '') : platform.server;
    const key = typeof b.stream_key === 'string' ? b.stream_key : '';
    if (!key) throw new Problem(422, 'invalid_stream_key', 'the stream key is empty: copy it from the platform');
    if (Buffer.byteLength(key) > 512) throw new Problem(422, 'invalid_stream_key', 'the stream key is longer than 512 characters');
    if (/[\s\p{Cc}/]/u.test(key)) throw new Problem(422, 'invalid_stream_key', 'the stream key holds spaces or slashes: copy it again');
    const name = typeof b.name === 'string' ? b.name.trim() : '';
    if ([...name].length > 80) throw new Problem(422, 'invalid_name', 'the name is longer than 80 characters');
    const d = { id: randomUUID(), owner_id: me.id, platform: b.platform, name: name || platform.name, server_url: serverUrl, stream_key: key, created_at: now() };
    destinations.set(d.id, d);
    return [201, publicDestination(d)];
  }
  if (seg[0] === 'destinations' && seg[1] && seg.length === 2 && m === 'DELETE') {
    const d = destinations.get(decodeURIComponent(seg[1]));
    if (!d || d.owner_id !== me.id) throw new Problem(404, 'destination_not_found', 'There is no such destination.');
    const uses = [...pushes.values()].filter((x) => x.destination_id === d.id);
    if (uses.some(pushing)) throw new Problem(409, 'destination_in_use', 'the destination is pushing for an event: stop it first');
    for (const x of uses) pushes.delete(`${x.event_id}/${x.destination_id}`);
    destinations.delete(d.id);
    return [204, null];
  }
  if (seg[0] === 'recordings' && seg[1]) {
    const r = getRecording(decodeURIComponent(seg[1]), me);
    const rest = seg.slice(2).join('/');
    if (!rest && m === 'GET') return [200, publicRecording(r)];
    if (!rest && m === 'DELETE') {
      if (events.get(r.event_id)?.host_id !== me.id) throw new Problem(403, 'host_only', 'Only the host can delete a recording.');
      recordings.delete(r.id);
      return [204, null];
    }
    if (rest === 'chat' && m === 'GET') {
      const from = Number(url.searchParams.get('from_offset_ms') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new Problem(422, 'invalid_limit', 'limit is 1 to 1000');
      if (!Number.isFinite(from) || from < 0) throw new Problem(422, 'invalid_query', 'from_offset_ms is a whole number of ms, 0 or more');
      if (!r.startedMs) return [200, { messages: [] }];
      const end = r.endedMs ?? Infinity;
      const messages = room(r.event_id)
        .messages.map((msg) => ({ msg, at: Date.parse(msg.sent_at) }))
        .filter(({ at }) => at >= r.startedMs && at <= end)
        .map(({ msg, at }) => ({ message_id: msg.id, user_id: msg.author.user_id, display_name: msg.author.display_name, text: msg.text, offset_ms: at - r.startedMs }))
        .filter((x) => x.offset_ms >= from)
        .slice(0, limit);
      return [200, { messages }];
    }
    if (!r.playback) throw new Problem(404, 'playback_not_found', 'Nothing of this recording is stored yet.');
    if (rest === 'hls/index.m3u8' && m === 'GET') return [200, new Binary('application/vnd.apple.mpegurl', Buffer.from(playlist(r)), { 'Cache-Control': 'no-store' })];
    if (/^hls\/seg-\d{5}\.ts$/.test(rest) && m === 'GET') throw new Problem(404, 'segment_not_found', 'The mock platform stores no video.');
    if (rest === 'download.mp4' && m === 'GET') {
      if (r.state !== 'ready') throw new Problem(409, 'recording_not_ready', 'The MP4 exists once the recording is ready.');
      return [200, new Binary('video/mp4', Buffer.from('mock mp4: the mock platform stores no video\n'), { 'Content-Disposition': `attachment; filename="recording-${r.id}.mp4"` })];
    }
    if (rest === 'thumbnail.jpg' && m === 'GET') throw new Problem(404, 'thumbnail_not_found', 'The mock platform makes no thumbnails.');
  }
  if (seg[0] === 'events' && seg[1]) {
    const e = getEvent(seg[1]);
    const isHost = e.host_id === me.id || e.cohost_ids.includes(me.id);
    const rest = seg.slice(2).join('/');
    if (!rest && m === 'GET') return [200, e];
    if (!rest && m === 'PATCH') {
      if (!isHost) throw new Problem(403, 'not_a_host', 'Only the host and co-hosts can edit this event.');
      const b = await body(req);
      if (b.starts_at && e.status !== 'scheduled') throw new Problem(409, 'starts_at_locked', 'The start time cannot change after going live.');
      Object.assign(e, b, { updated_at: now() });
      return [200, e];
    }
    const transitions = { 'go-live': ['scheduled', 'live', 'went_live_at'], end: ['live', 'ended', 'ended_at'], cancel: ['scheduled', 'cancelled', 'cancelled_at'] };
    if (m === 'POST' && transitions[rest]) {
      if (!isHost) throw new Problem(403, 'not_a_host', 'Only the host and co-hosts can do that.');
      const [from, to, field] = transitions[rest];
      if (e.status !== from) throw new Problem(409, 'illegal_transition', `cannot ${rest} an event that is ${e.status}`);
      Object.assign(e, { status: to, [field]: now(), updated_at: now() });
      if (to === 'ended') for (const r of recordings.values()) if (r.event_id === e.id && ['starting', 'recording'].includes(r.state)) stopRecording(r);
      for (const x of pushes.values()) {
        if (x.event_id !== e.id) continue;
        if (to === 'live' && x.auto_start) startPush(x);
        if (to === 'ended' && pushing(x)) settle(x, { state: 'stopped' });
      }
      return [200, e];
    }
    if (rest === 'media-token' && m === 'POST') {
      if (e.status === 'ended' || e.status === 'cancelled') throw new Problem(409, 'event_over', 'The event is over; there is no media room any more.');
      const role = e.host_id === me.id ? 'host' : e.cohost_ids.includes(me.id) ? 'cohost' : (guestRoles.get(`${e.id}/${me.id}`) ?? 'audience');
      const publish = role === 'audience' ? [] : ['camera', 'microphone', 'screen', 'screen_audio'];
      // No SFU here: the token points back at the mock, whose join answers 503.
      const inBack = backstage.has(`${e.id}/${me.id}`);
      const grants = { subscribe: true, publish, hidden: false, ...(inBack ? { backstage: true } : {}), ...(inBack || role === 'host' || role === 'cohost' ? { see_backstage: true } : {}) };
      return [200, { token: `mock-media.${b64({ sub: me.id, room: e.id })}`, expires_in: 300, url: `http://${req.headers.host}`, room: e.id, role, grants }];
    }
    if (rest === 'recordings' && m === 'GET') {
      if (room(e.id).bans.has(me.id) && !isHost) throw new Problem(403, 'banned', 'You are banned from this event.');
      const list = [...recordings.values()].filter((r) => r.event_id === e.id).reverse();
      return [200, { recordings: list.map(publicRecording) }];
    }
    if (rest === 'recordings' && m === 'POST') {
      if (!isHost) throw new Problem(403, 'not_a_host', 'Only the host and co-hosts can record this event.');
      const b = await body(req);
      const layout = b.layout ?? 'speaker';
      if (!RECORDING_LAYOUTS.includes(layout)) throw new Problem(422, 'unknown_layout', `unknown layout ${JSON.stringify(layout)}; use speaker, grid or screen`);
      const quality = b.quality ?? '720p';
      if (!['720p', '1080p'].includes(quality)) throw new Problem(422, 'invalid_body', 'quality is 720p or 1080p');
      if (e.status !== 'live') throw new Problem(409, 'event_not_live', `the event is ${e.status}; recording starts once it is live`);
      if ([...recordings.values()].some((r) => r.event_id === e.id && ['starting', 'recording', 'stopping'].includes(r.state))) {
        throw new Problem(409, 'recording_already_running', 'a recording of this event is already running');
      }
      const r = { id: randomUUID(), event_id: e.id, host_id: e.host_id, state: 'starting', layout, quality, startedMs: null, endedMs: null, layout_changes: [{ at_ms: 0, layout }], error: null, playback: false };
      recordings.set(r.id, r);
      announceRecording(r);
      setTimeout(() => {
        if (r.state !== 'starting') return;
        r.state = 'recording';
        r.startedMs = Date.now();
        r.playback = true; // "the first segment is stored"
        announceRecording(r);
      }, RECORDING_STEP_MS);
      return [201, publicRecording(r)];
    }
    const recPath = /^recordings\/([^/]+)\/(stop|layout)$/.exec(rest);
    if (recPath) {
      if (!isHost) throw new Problem(403, 'not_a_host', 'Only the host and co-hosts control recordings.');
      const r = recordings.get(decodeURIComponent(recPath[1]));
      if (!r || r.event_id !== e.id) throw new Problem(404, 'recording_not_found', 'There is no such recording of this event.');
      if (recPath[2] === 'stop' && m === 'POST') {
        if (!['starting', 'recording'].includes(r.state)) throw new Problem(409, 'recording_not_running', `the recording is ${r.state}`);
        if (!r.startedMs) r.startedMs = Date.now();
        stopRecording(r);
        return [200, publicRecording(r)];
      }
      if (recPath[2] === 'layout' && m === 'PUT') {
        const b = await body(req);
        if (!RECORDING_LAYOUTS.includes(b.layout)) throw new Problem(422, 'unknown_layout', `unknown layout ${JSON.stringify(b.layout)}; use speaker, grid or screen`);
        if (!['starting', 'recording'].includes(r.state)) throw new Problem(409, 'recording_not_running', `the recording is ${r.state}`);
        if (b.layout !== r.layout) {
          r.layout = b.layout;
          r.layout_changes.push({ at_ms: r.startedMs ? Date.now() - r.startedMs : 0, layout: b.layout });
          announceRecording(r);
        }
        return [200, publicRecording(r)];
      }
    }
    if (rest === 'destinations' || rest.startsWith('destinations/')) {
      if (!isHost) throw new Problem(403, 'not_event_staff', 'only the host and co-hosts can restream this event');
      const list = () => [...pushes.values()].filter((x) => x.event_id === e.id);
      if (rest === 'destinations' && m === 'GET') return [200, { destinations: list().map(publicPush) }];
      if (rest === 'destinations' && m === 'POST') {
        const b = await body(req);
        const d = destinations.get(String(b.destination_id ?? ''));
        if (!d || d.owner_id !== me.id) throw new Problem(404, 'destination_not_found', 'There is no such destination of yours.');
        if (b.auto_start !== undefined && typeof b.auto_start !== 'boolean') throw new Problem(422, 'invalid_body', 'auto_start is true or false');
        if (e.status === 'ended' || e.status === 'cancelled') throw new Problem(409, 'event_over', 'The event is over.');
        if (pushes.has(`${e.id}/${d.id}`)) throw new Problem(409, 'already_attached', 'the destination is already attached to this event');
        const x = { event_id: e.id, destination_id: d.id, auto_start: b.auto_start ?? false, state: 'idle', liveSinceMs: null, bytes: 0, retries: 0, error: '', error_code: '', updated_at: now(), timer: null };
        pushes.set(`${e.id}/${d.id}`, x);
        announcePush(x);
        return [201, publicPush(x)];
      }
      const dm = /^destinations\/([^/]+)(?:\/(start|stop))?$/.exec(rest);
      const x = dm ? pushes.get(`${e.id}/${decodeURIComponent(dm[1])}`) : undefined;
      if (dm && !x) throw new Problem(404, 'not_attached', 'the destination is not attached to this event');
      if (dm && !dm[2] && m === 'PATCH') {
        const b = await body(req);
        if (typeof b.auto_start !== 'boolean') throw new Problem(422, 'invalid_body', 'auto_start is true or false');
        x.auto_start = b.auto_start;
        announcePush(x);
        return [200, publicPush(x)];
      }
      if (dm && !dm[2] && m === 'DELETE') {
        if (pushing(x)) settle(x, { state: 'stopped' });
        pushes.delete(`${e.id}/${x.destination_id}`);
        clearTimeout(x.timer);
        announcePush(x, true); // "detached": the frame carries it as it last was
        return [204, null];
      }
      if (dm && dm[2] === 'start' && m === 'POST') {
        if (e.status !== 'live') throw new Problem(409, 'event_not_live', `the event is ${e.status}; a destination starts once it is live`);
        if (pushing(x)) throw new Problem(409, 'already_started', 'the destination is already streaming');
        startPush(x);
        return [200, publicPush(x)];
      }
      if (dm && dm[2] === 'stop' && m === 'POST') {
        if (!pushing(x)) throw new Problem(409, 'not_started', `the destination is ${x.state}`);
        settle(x, { state: 'stopped' });
        return [200, publicPush(x)];
      }
    }
    // The stage's roles: a minimal view (the host and co-hosts on stage; no hands, invitations or
    // bans: the mock does not run the stage's hand queue).
    if (rest === 'stage' && m === 'GET') {
      if (e.status === 'ended' || e.status === 'cancelled') throw new Problem(409, 'event_over', 'The event is over; its stage is closed.');
      const member = (id, role) => {
        const u = users.get(id);
        const m = { user_id: id, display_name: u?.display_name ?? id, avatar_url: u?.avatar_url ?? null, role, since: e.went_live_at ?? e.created_at };
        return backstage.has(`${e.id}/${id}`) ? { ...m, backstage: true } : m;
      };
      const guests = [...guestRoles].filter(([k]) => k.startsWith(`${e.id}/`)).map(([k, role]) => member(k.slice(e.id.length + 1), role));
      const all = [member(e.host_id, 'host'), ...e.cohost_ids.map((id) => member(id, 'cohost')), ...guests];
      const your_role = all.find((x) => x.user_id === me.id)?.role ?? 'audience';
      // The backstage is listed only to the host, co-hosts and the backstage itself.
      const sees = your_role === 'host' || your_role === 'cohost' || backstage.has(`${e.id}/${me.id}`);
      const members = sees ? all : all.filter((x) => !x.backstage);
      const staffView = your_role === 'host' || your_role === 'cohost';
      const invs = [...invitations.values()]
        .filter((i) => i.event_id === e.id && Date.parse(i.expires_at) > Date.now() - 60_000 && (staffView || i.user_id === me.id))
        .map(({ event_id: _e, ...i }) => i);
      return [200, { event_id: e.id, max_speakers: 8, your_role, members, hands: [], invitations: invs, bans: [] }];
    }
    // The green room: bring a guest on air, or send someone (oneself) backstage.
    const move = /^stage\/(on-air|backstage)\/([^/]+)$/.exec(rest);
    if (move && m === 'POST') {
      const target = decodeURIComponent(move[2]);
      const key = `${e.id}/${target}`;
      const role = e.host_id === target ? 'host' : e.cohost_ids.includes(target) ? 'cohost' : (guestRoles.get(key) ?? 'audience');
      if (!isHost && !(move[1] === 'backstage' && target === me.id)) throw new Problem(403, 'not_allowed', 'only the host and co-hosts move people between the backstage and the air');
      if (role !== 'cohost' && role !== 'speaker') throw new Problem(403, 'not_allowed', `a ${role} cannot go backstage`);
      if (move[1] === 'on-air' && !backstage.has(key)) throw new Problem(409, 'not_backstage', 'they are not backstage');
      if (move[1] === 'backstage' && backstage.has(key)) throw new Problem(409, 'already_backstage', 'they are backstage already');
      if (move[1] === 'on-air') backstage.delete(key);
      else backstage.add(key);
      const change = { kind: move[1] === 'on-air' ? 'brought_on_air' : 'sent_backstage', actor_id: me.id, target_user_id: target, role, at: now() };
      logStage(e.id, change);
      broadcast(e.id, { type: 'stage', change });
      return [200, { change, applied_to_media: false }];
    }
    // Stage control: the mock has no SFU, so nobody is ever connected to the media room.
    if (rest.startsWith('stage/')) {
      if (!isHost) throw new Problem(403, 'not_a_host', 'only the host and co-hosts control the stage');
      if (rest === 'stage/links' && m === 'GET') {
        const links = [...guestLinks.values()].filter((l) => l.event_id === e.id).reverse().map(publicLink);
        return [200, { links }];
      }
      if (rest === 'stage/links' && m === 'POST') {
        const b = await body(req);
        if (!['speaker', 'cohost'].includes(b.role)) throw new Problem(422, 'invalid_link_role', 'role is speaker or cohost');
        if (b.role === 'cohost' && e.host_id !== me.id) throw new Problem(403, 'not_allowed', 'only the host makes co-host links');
        const expires = b.expires_in_secs ?? 86400;
        if (!Number.isInteger(expires) || expires < 60 || expires > 604800) throw new Problem(422, 'invalid_expiry', 'expires_in_secs is 60 to 604800');
        const max = b.max_uses ?? 1;
        if (!Number.isInteger(max) || max < 1 || max > 1000) throw new Problem(422, 'invalid_max_uses', 'max_uses is 1 to 1000');
        if (e.status === 'ended' || e.status === 'cancelled') throw new Problem(409, 'event_over', 'The event is over.');
        return [201, newLink(e.id, me.id, { role: b.role, expires_in_secs: expires, max_uses: max, needs_approval: !!b.needs_approval })];
      }
      const linkPath = /^stage\/links\/([^/]+)(\/regenerate)?$/.exec(rest);
      if (linkPath) {
        const l = guestLinks.get(decodeURIComponent(linkPath[1]));
        if (!l || l.event_id !== e.id) throw new Problem(404, 'link_not_found', 'There is no such invite link.');
        if (!linkPath[2] && m === 'DELETE') {
          if (l.revoked_at) throw new Problem(409, 'link_revoked', 'This link was already withdrawn.');
          l.revoked_at = now();
          return [200, publicLink(l)];
        }
        if (linkPath[2] && m === 'POST') {
          if (l.revoked_at) throw new Problem(409, 'link_revoked', 'This link was already withdrawn.');
          l.revoked_at = now();
          return [201, newLink(e.id, me.id, { role: l.role, expires_in_secs: l.expires_in_secs, max_uses: l.max_uses, needs_approval: l.needs_approval })];
        }
      }
      if (rest === 'stage/participants' && m === 'GET') return [200, { participants: [] }];
      // Invitations (no hand queue here: invite anyone; `expires_in_secs` is the mock's own, for
      // trying an expiry without waiting two minutes).
      if (rest === 'stage/invitations' && m === 'POST') {
        const b = await body(req);
        if (!users.has(b.user_id)) throw new Problem(404, 'user_not_found', 'There is no such user.');
        const secs = Number.isInteger(b.expires_in_secs) && b.expires_in_secs > 0 ? b.expires_in_secs : 120;
        const inv = { id: randomUUID(), event_id: e.id, user_id: b.user_id, invited_by: me.id, created_at: now(), expires_at: new Date(Date.now() + secs * 1000).toISOString() };
        invitations.set(inv.id, inv);
        const { event_id: _e, ...invitation } = inv;
        const change = { kind: 'invited', actor_id: me.id, target_user_id: inv.user_id, role: 'audience', at: now(), invitation };
        logStage(e.id, change);
        broadcast(e.id, { type: 'stage', change });
        return [201, { change, applied_to_media: false }];
      }
      const invPath = /^stage\/invitations\/([^/]+)$/.exec(rest);
      if (invPath && m === 'DELETE') {
        const inv = invitations.get(decodeURIComponent(invPath[1]));
        if (!inv || inv.event_id !== e.id) throw new Problem(404, 'invitation_not_found', 'That invitation is no longer open.');
        invitations.delete(inv.id);
        const { event_id: _e, ...invitation } = inv;
        const change = { kind: 'invitation_withdrawn', actor_id: me.id, target_user_id: inv.user_id, role: 'audience', at: now(), invitation };
        logStage(e.id, change);
        broadcast(e.id, { type: 'stage', change });
        return [200, { change, applied_to_media: false }];
      }
      if (rest === 'stage/log' && m === 'GET') {
        const limit = Math.min(500, Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50));
        return [200, { entries: [...(stageLogs.get(e.id) ?? [])].reverse().slice(0, limit) }];
      }
      // Roles: the mock only hands the host role over (the old host stays as a co-host).
      const roleOf = /^stage\/roles\/([^/]+)$/.exec(rest);
      if (roleOf && m === 'PUT') {
        const b = await body(req);
        const target = decodeURIComponent(roleOf[1]);
        if (b.role !== 'host') throw new Problem(422, 'invalid_role', 'the mock only hands the host role over');
        if (e.host_id !== me.id) throw new Problem(403, 'not_allowed', 'only the host hands the host role over');
        if (target === me.id) throw new Problem(409, 'role_unchanged', 'you are the host already');
        const previous = e.cohost_ids.includes(target) ? 'cohost' : (guestRoles.get(`${e.id}/${target}`) ?? 'audience');
        e.cohost_ids = [...e.cohost_ids.filter((id) => id !== target), me.id];
        e.host_id = target;
        guestRoles.delete(`${e.id}/${target}`);
        const change = { kind: 'role_changed', actor_id: me.id, target_user_id: target, role: 'host', previous_role: previous, at: now() };
        logStage(e.id, change);
        broadcast(e.id, { type: 'stage', change });
        return [200, { change, applied_to_media: false }];
      }
      if (rest === 'stage/mute' && m === 'POST') {
        const b = await body(req);
        if (!['camera', 'microphone', 'screen', 'screen_audio'].includes(b.source)) throw new Problem(422, 'unknown_source', `unknown track source ${JSON.stringify(b.source)}; use camera, microphone, screen or screen_audio`);
        return [200, { tracks_muted: 0 }];
      }
      if (rest === 'stage/remove' && m === 'POST') {
        const b = await body(req);
        if ((b.reason ?? '').length > 200) throw new Problem(422, 'reason_too_long', 'the reason is at most 200 characters');
        return [200, { participants_removed: 0 }];
      }
    }
    const r = room(e.id);
    if (rest === 'presence' && m === 'GET') return [200, presence(e.id)];
    if (rest === 'chat/messages' && m === 'GET') return [200, { messages: [...r.messages].reverse().slice(0, 50), next_before: null }];
    if (rest === 'chat/messages' && m === 'POST') {
      const b = await body(req);
      const res = sendChat(e, me, b.client_msg_id, b.text);
      return [res.held ? 202 : 201, res];
    }
    if (seg[2] === 'chat' && seg[3] === 'messages' && seg[4] && m === 'DELETE') {
      const msg = r.messages.find((x) => x.id === seg[4]);
      const action = moderate(e, me, 'delete_message', { target_message_id: seg[4], target_user_id: msg?.author.user_id ?? null, message: msg ?? null });
      r.messages = r.messages.filter((x) => x.id !== seg[4]);
      if (r.pinned?.id === seg[4]) r.pinned = null;
      broadcast(e.id, { type: 'chat.deleted', message_id: seg[4] });
      return [200, action];
    }
    if (rest === 'chat/timeouts' && m === 'POST') {
      const b = await body(req);
      r.timeouts.set(b.user_id, Date.now() + b.duration_secs * 1000);
      return [200, moderate(e, me, 'timeout', { target_user_id: b.user_id, duration_secs: b.duration_secs, reason: b.reason ?? null })];
    }
    if (rest === 'chat/bans' && m === 'POST') {
      const b = await body(req);
      if (roleIn(e, b.user_id) === 'host') throw new Problem(409, 'cannot_ban_host', 'The host cannot be banned.');
      r.bans.add(b.user_id);
      return [200, moderate(e, me, 'ban', { target_user_id: b.user_id, reason: b.reason ?? null })];
    }
    if (seg[2] === 'chat' && seg[3] === 'bans' && seg[4] && m === 'DELETE') {
      r.bans.delete(seg[4]);
      return [200, moderate(e, me, 'unban', { target_user_id: seg[4] })];
    }
    if (rest === 'chat/moderators' && m === 'POST') {
      const b = await body(req);
      if (!['host', 'cohost'].includes(roleIn(e, me.id))) throw new Problem(403, 'not_a_host', 'Only the host and co-hosts can appoint moderators.');
      r.mods.add(b.user_id);
      return [200, moderate(e, me, 'add_moderator', { target_user_id: b.user_id })];
    }
    if (seg[2] === 'chat' && seg[3] === 'moderators' && seg[4] && m === 'DELETE') {
      if (!['host', 'cohost'].includes(roleIn(e, me.id))) throw new Problem(403, 'not_a_host', 'Only the host and co-hosts can remove moderators.');
      r.mods.delete(seg[4]);
      return [200, moderate(e, me, 'remove_moderator', { target_user_id: seg[4] })];
    }
    if (rest === 'chat/standing' && m === 'GET') {
      if (roleIn(e, me.id) === 'viewer') throw new Problem(403, 'not_a_moderator', 'Only moderators can see this.');
      const person = (id) => ({ user_id: id, display_name: users.get(id)?.display_name ?? null, avatar_url: users.get(id)?.avatar_url || null });
      // The latest audit entry that put each user on a list says who and when.
      const entry = (id, kind, until) => {
        const a = r.audit.find((x) => x.kind === kind && x.target_user_id === id);
        return { user: person(id), by: person(a?.actor_id ?? id), since: a?.at ?? null, ...(until ? { until } : {}) };
      };
      const running = [...r.timeouts].filter(([, end]) => end > Date.now());
      return [
        200,
        {
          moderators: [...r.mods].map((id) => entry(id, 'add_moderator')),
          banned: [...r.bans].map((id) => entry(id, 'ban')),
          timed_out: running.map(([id, end]) => entry(id, 'timeout', new Date(end).toISOString())),
        },
      ];
    }
    if (rest === 'chat/settings' && m === 'PUT') {
      const b = await body(req);
      const actions = [];
      if (b.slow_mode_secs !== undefined) {
        r.settings = { ...r.settings, slow_mode_secs: b.slow_mode_secs };
        actions.push(moderate(e, me, 'slow_mode', { duration_secs: b.slow_mode_secs || null, settings: r.settings }));
      }
      if (b.blocked_terms !== undefined) {
        r.settings = { ...r.settings, blocked_terms: b.blocked_terms, blocked_term_mode: b.blocked_term_mode ?? 'reject' };
        actions.push(moderate(e, me, 'blocked_terms', { settings: r.settings }));
      }
      return [200, { actions }];
    }
    if (rest === 'chat/pin' && m === 'PUT') {
      const b = await body(req);
      const msg = r.messages.find((x) => x.id === b.message_id);
      if (!msg) throw new Problem(404, 'message_not_found', 'That message no longer exists.');
      r.pinned = msg;
      return [200, moderate(e, me, 'pin', { target_message_id: msg.id, message: msg })];
    }
    if (rest === 'chat/pin' && m === 'DELETE') {
      r.pinned = null;
      return [200, moderate(e, me, 'unpin')];
    }
    if (rest === 'chat/held' && m === 'GET') {
      if (roleIn(e, me.id) === 'viewer') throw new Problem(403, 'not_a_moderator', 'Only moderators can review held messages.');
      return [200, { messages: r.held }];
    }
    if (seg[2] === 'chat' && seg[3] === 'held' && seg[4] && (seg[5] === 'approve' || seg[5] === 'deny') && m === 'POST') {
      const msg = r.held.find((x) => x.id === seg[4]);
      if (!msg) throw new Problem(404, 'message_not_found', 'That held message was already reviewed.');
      r.held = r.held.filter((x) => x !== msg);
      const action = moderate(e, me, seg[5], { target_message_id: msg.id, target_user_id: msg.author.user_id, message: msg });
      if (seg[5] === 'approve') {
        r.messages.push(msg);
        broadcast(e.id, { type: 'chat.message', message: msg });
      }
      return [200, action];
    }
    if (rest === 'chat/audit' && m === 'GET') {
      if (roleIn(e, me.id) === 'viewer') throw new Problem(403, 'not_a_moderator', 'Only moderators can read the audit log.');
      return [200, { actions: r.audit.slice(0, Number(url.searchParams.get('limit') ?? 50)), next_before: null }];
    }
  }
  throw new Problem(404, 'route_not_found', `No API route ${m} ${url.pathname}.`);
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.svg': 'image/svg+xml' };

function serveStatic(url, res) {
  const rel = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
  let file = join(DIST, rel);
  if (!file.startsWith(DIST) || !existsSync(file) || statSync(file).isDirectory()) file = join(DIST, 'index.html');
  if (!existsSync(file)) {
    res.writeHead(503, { 'Content-Type': 'text/plain' }).end('run `npm run build` first');
    return;
  }
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://mock');
  if (url.pathname === '/healthz') return res.writeHead(200).end('ok');
  // Mock-only: close every live socket with ?code= (default 1001, "server shutting down").
  if (url.pathname === '/__mock/drop' && req.method === 'POST') {
    const code = Number(url.searchParams.get('code') ?? 1001);
    for (const r of rooms.values()) for (const s of r.sockets) s.ws.close(code, 'mock drop');
    return res.writeHead(204).end();
  }
  // Mock-only: make a recording fail (?error= says why), to try the studio's failed state.
  const fail = /^\/__mock\/recordings\/([^/]+)\/fail$/.exec(url.pathname);
  if (fail && req.method === 'POST') {
    const r = recordings.get(fail[1]);
    if (!r) return res.writeHead(404).end();
    r.state = 'failed';
    r.error = url.searchParams.get('error') ?? 'egress worker stopped';
    r.endedMs = r.endedMs ?? Date.now();
    announceRecording(r);
    return res.writeHead(204).end();
  }
  // Mock-only: make a destination's push fail (?code= one of PUSH_ERRORS, default disconnected).
  const failPush = /^\/__mock\/destinations\/([^/]+)\/([^/]+)\/fail$/.exec(url.pathname);
  if (failPush && req.method === 'POST') {
    const x = pushes.get(`${failPush[1]}/${failPush[2]}`);
    if (!x) return res.writeHead(404).end();
    const code = PUSH_ERRORS[url.searchParams.get('code')] ? url.searchParams.get('code') : 'disconnected';
    settle(x, { state: 'failed', error_code: code, error: PUSH_ERRORS[code] });
    return res.writeHead(204).end();
  }
  // The mock has no SFU (services/media): joining the media room says so, like a media server
  // that is down, and the client keeps retrying.
  if (url.pathname.startsWith('/rtc/')) {
    return res
      .writeHead(503, { 'Content-Type': 'application/problem+json' })
      .end(JSON.stringify({ type: 'urn:stagecast:problem:unavailable', title: 'Error', status: 503, code: 'unavailable', detail: 'The mock platform has no media server.' }));
  }
  if (!url.pathname.startsWith('/api/')) return serveStatic(url, res);
  try {
    const [status, out] = await api(req, url);
    if (out === null) return res.writeHead(status).end();
    if (out instanceof Binary) return res.writeHead(status, { 'Content-Type': out.type, ...out.headers }).end(out.data);
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(out));
  } catch (e) {
    if (!(e instanceof Problem)) {
      console.error(e);
      e = new Problem(500, 'internal', 'Something broke in the mock.');
    }
    res
      .writeHead(e.status, { 'Content-Type': 'application/problem+json' })
      .end(JSON.stringify({ type: `urn:stagecast:problem:${e.code}`, title: 'Error', status: e.status, code: e.code, detail: e.detail, ...e.extra }));
  }
});

const wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024 });
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://mock');
  const m = /^\/api\/v1\/events\/([^/]+)\/live$/.exec(url.pathname);
  const refuse = (status, code, detail) => {
    socket.end(`HTTP/1.1 ${status} X\r\nContent-Type: application/problem+json\r\nConnection: close\r\n\r\n${JSON.stringify({ status, code, detail })}`);
  };
  if (!m) return refuse(404, 'route_not_found', 'no such socket');
  let user, e;
  try {
    user = authUser(url.searchParams.get('access_token'));
    e = getEvent(m[1]);
  } catch (p) {
    return refuse(p.status, p.code, p.detail);
  }
  const r = room(e.id);
  if (r.bans.has(user.id)) return refuse(403, 'banned', 'You are banned from this chat.');
  wss.handleUpgrade(req, socket, head, (ws) => {
    const entry = { ws, user };
    const first = ![...r.sockets].some((s) => s.user.id === user.id);
    r.sockets.add(entry);
    const until = r.timeouts.get(user.id);
    ws.send(
      JSON.stringify({
        type: 'hello', protocol: 1, event_id: e.id, you: author(e, user), history: r.messages.slice(-50), pinned: r.pinned, settings: r.settings,
        timed_out_until: until && until > Date.now() ? new Date(until).toISOString() : null, presence: presence(e.id), heartbeat_secs: 20,
      }),
    );
    if (first) broadcast(e.id, { type: 'presence', viewer_count: presence(e.id).viewer_count, user: author(e, user), joined: true });
    ws.on('message', (data, binary) => {
      if (binary) return ws.close(4400, 'send JSON text frames');
      let f;
      try {
        f = JSON.parse(String(data));
      } catch {
        return ws.send(JSON.stringify({ type: 'error', code: 'invalid_message', message: 'unrecognised message' }));
      }
      if (f.type === 'ping') return ws.send(JSON.stringify({ type: 'pong', nonce: f.nonce ?? null }));
      if (f.type !== 'chat.send') return ws.send(JSON.stringify({ type: 'error', code: 'invalid_message', message: `unknown type ${f.type}` }));
      try {
        const res = sendChat(e, user, f.client_msg_id, f.text);
        ws.send(JSON.stringify({ type: 'chat.ack', client_msg_id: f.client_msg_id, message: res.message, held: res.held }));
      } catch (p) {
        ws.send(JSON.stringify({ type: 'error', client_msg_id: f.client_msg_id, code: p.code, message: p.detail, ...(p.extra?.retry_after ? { retry_after: p.extra.retry_after } : {}) }));
      }
    });
    ws.on('close', () => {
      r.sockets.delete(entry);
      if (![...r.sockets].some((s) => s.user.id === user.id)) broadcast(e.id, { type: 'presence', viewer_count: presence(e.id).viewer_count, user: author(e, user), joined: false });
    });
  });
});

server.listen(PORT, '127.0.0.1', () => console.log(`mock stagecast on http://127.0.0.1:${PORT} (serving ${DIST})`));
const stop = () => {
  for (const c of wss.clients) c.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
