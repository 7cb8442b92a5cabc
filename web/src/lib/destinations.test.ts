import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import {
  checkName,
  checkServerUrl,
  checkStreamKey,
  defaultServer,
  destinationErrorText,
  destinationInput,
  destinationProblem,
  destinationStateLabel,
  destinationsReducer,
  emptyForm,
  errorAdvice,
  fieldOfCode,
  formErrors,
  formatBitrate,
  formatUptime,
  initialDestinationsState,
  isNotOlder,
  isPushing,
  platformLabel,
  retriesText,
  serverEditable,
  unattached,
  uptimeMs,
} from './destinations';
import type { Destination, EventDestination } from './types';

function dest(id = 'd1', over: Partial<Destination> = {}): Destination {
  return { id, platform: 'youtube', name: 'YouTube', server_url: 'rtmps://a.rtmps.youtube.com:443/live2', key_hint: '…abcd', created_at: '2026-12-05T09:00:00Z', ...over };
}

function ed(id = 'd1', over: Partial<EventDestination> = {}): EventDestination {
  return {
    event_id: 'e1',
    destination: dest(id),
    auto_start: true,
    state: 'idle',
    bitrate_bps: 0,
    bytes_sent: 0,
    live_since: null,
    retries: 0,
    error: '',
    error_code: '',
    updated_at: '2026-12-05T10:00:00Z',
    ...over,
  };
}

describe('platforms', () => {
  it('knows each platform’s ingest server, and which ones the user may change', () => {
    expect(defaultServer('youtube')).toBe('rtmps://a.rtmps.youtube.com:443/live2');
    expect(defaultServer('twitch')).toBe('rtmp://live.twitch.tv/app');
    expect(defaultServer('facebook')).toBe('rtmps://live-api-s.facebook.com:443/rtmp');
    expect(defaultServer('custom')).toBe('');
    expect(defaultServer('myspace')).toBe('');
    expect([serverEditable('youtube'), serverEditable('twitch'), serverEditable('facebook'), serverEditable('custom')]).toEqual([false, true, false, true]);
    expect(platformLabel('custom')).toBe('Custom RTMP');
    expect(platformLabel('myspace')).toBe('myspace');
    expect(emptyForm('facebook')).toEqual({ platform: 'facebook', name: '', server: 'rtmps://live-api-s.facebook.com:443/rtmp', key: '' });
  });
});

describe('checkServerUrl', () => {
  it('takes rtmp(s) URLs with a host and an application path', () => {
    for (const url of [
      'rtmp://live.twitch.tv/app',
      'rtmps://a.rtmps.youtube.com:443/live2',
      'RTMP://Live.Example.com/live/',
      '  rtmp://10.0.0.5:1935/live  ',
      'rtmp://[::1]:1935/app',
      'rtmp://ingest.example.com/app/sub?token=x',
      'rtmp://localhost/live',
      'rtmp://live.twitch.tv/app/',
      'rtmp://ingest.example.com:0/app',
    ]) {
      expect(checkServerUrl(url), url).toBeNull();
    }
  });
  it('says what is wrong otherwise', () => {
    expect(checkServerUrl('')).toMatch(/^Enter the server URL/);
    expect(checkServerUrl('https://live.twitch.tv/app')).toMatch(/rtmp:\/\/ or rtmps:\/\//);
    expect(checkServerUrl('live.twitch.tv/app')).toMatch(/rtmp:\/\/ or rtmps:\/\//);
    expect(checkServerUrl('rtmp:///app')).toMatch(/host name after rtmp:\/\//);
    expect(checkServerUrl('rtmps://')).toMatch(/host name after rtmps:\/\//);
    expect(checkServerUrl('rtmp://live.example.com')).toMatch(/application path/);
    expect(checkServerUrl('rtmp://live.example.com/')).toMatch(/application path/);
    expect(checkServerUrl('rtmp://live example.com/app')).toMatch(/spaces/);
    expect(checkServerUrl('rtmp://user:pw@live.example.com/app')).toMatch(/no user name or password/);
    expect(checkServerUrl('rtmp://:1935/app')).toMatch(/host name after rtmp:\/\//);
    expect(checkServerUrl('rtmp://live.example.com:99999/app')).toMatch(/port/);
    expect(checkServerUrl('rtmp://live.example.com:ab/app')).toMatch(/port/);
    expect(checkServerUrl('rtmp://live.example.com/live//x')).toMatch(/double slash/);
    expect(checkServerUrl(`rtmp://live.example.com/${'a'.repeat(512)}`)).toMatch(/at most 512/);
    expect(checkServerUrl('rtmp://live.twitch.tv/app/{stream_key}')).toMatch(/placeholder/);
  });
  it('wants the stream key left out of the URL', () => {
    expect(checkServerUrl('rtmp://live.example.com/app/live_123_secret', 'live_123_secret')).toMatch(/Leave the stream key out/);
    expect(checkServerUrl('rtmp://live.example.com/app', 'abcdef')).toBeNull();
    // Too short to tell a key from a path.
    expect(checkServerUrl('rtmp://live.example.com/app', 'app')).toBeNull();
  });
});

describe('checkStreamKey and checkName', () => {
  it('checks the key', () => {
    expect(checkStreamKey('')).toMatch(/Paste the stream key/);
    expect(checkStreamKey('   ')).toMatch(/Paste the stream key/);
    expect(checkStreamKey('abcd efgh')).toMatch(/no spaces or slashes/);
    expect(checkStreamKey('app/abcd')).toMatch(/no spaces or slashes/);
    expect(checkStreamKey('k'.repeat(512))).toBeNull();
    expect(checkStreamKey('k'.repeat(513))).toMatch(/at most 512/);
    expect(checkStreamKey('rtmp://live.twitch.tv/app')).toMatch(/server URL/);
    expect(checkStreamKey(' live_1234_abcd ')).toBeNull();
  });
  it('checks the name (optional, at most 80 characters)', () => {
    expect(checkName('')).toBeNull();
    expect(checkName('x'.repeat(80))).toBeNull();
    expect(checkName('✨'.repeat(80))).toBeNull();
    expect(checkName('x'.repeat(81))).toMatch(/at most 80/);
  });
});

describe('formErrors and destinationInput', () => {
  it('requires the server for custom only; YouTube and Facebook use the known one', () => {
    expect(formErrors({ platform: 'youtube', name: '', server: 'whatever', key: 'k-123' })).toEqual({});
    expect(formErrors({ platform: 'twitch', name: '', server: '', key: 'k-123' })).toEqual({});
    expect(formErrors({ platform: 'twitch', name: '', server: 'http://x', key: 'k-123' })).toHaveProperty('server');
    expect(formErrors({ platform: 'custom', name: '', server: '', key: '' })).toEqual({
      server: expect.stringMatching(/Enter the server URL/),
      key: expect.stringMatching(/Paste the stream key/),
    });
    expect(formErrors({ platform: 'nope' as 'custom', name: 'y'.repeat(81), server: 'rtmp://h/app', key: 'k' })).toEqual({
      platform: expect.any(String),
      name: expect.any(String),
    });
  });
  it('builds the request body', () => {
    expect(destinationInput({ platform: 'youtube', name: '  ', server: defaultServer('youtube'), key: ' key-1 ' })).toEqual({ platform: 'youtube', stream_key: 'key-1' });
    expect(destinationInput({ platform: 'twitch', name: 'Main', server: 'rtmp://live.twitch.tv/app', key: 'k' })).toEqual({ platform: 'twitch', name: 'Main', stream_key: 'k' });
    expect(destinationInput({ platform: 'twitch', name: '', server: ' rtmp://live-ber.twitch.tv/app ', key: 'k' })).toEqual({
      platform: 'twitch',
      server_url: 'rtmp://live-ber.twitch.tv/app',
      stream_key: 'k',
    });
    expect(destinationInput({ platform: 'custom', name: '', server: 'RTMPS://O.example/Live', key: 'k' }).server_url).toBe('rtmps://O.example/Live');
    expect(destinationInput({ platform: 'custom', name: 'Owncast', server: 'rtmp://o.example/live', key: 'k' })).toEqual({
      platform: 'custom',
      name: 'Owncast',
      server_url: 'rtmp://o.example/live',
      stream_key: 'k',
    });
  });
  it('maps the server’s 422 codes to the fields', () => {
    expect(['invalid_platform', 'invalid_name', 'invalid_server_url', 'invalid_stream_key', 'destination_in_use', undefined].map(fieldOfCode)).toEqual([
      'platform',
      'name',
      'server',
      'key',
      null,
      null,
    ]);
  });
  it('offers the saved destinations not attached yet', () => {
    expect(unattached([dest('a'), dest('b'), dest('c')], [ed('b')]).map((d) => d.id)).toEqual(['a', 'c']);
  });
});

describe('states in words', () => {
  it('tells a running push', () => {
    expect(['idle', 'connecting', 'live', 'retrying', 'failed', 'stopped'].map(isPushing)).toEqual([false, true, true, true, false, false]);
    expect(destinationStateLabel('retrying')).toBe('Reconnecting');
    expect(destinationStateLabel('idle')).toBe('Not started');
    expect(destinationStateLabel('weird')).toBe('weird');
  });
  it('writes the bitrate in kbit/s', () => {
    expect(formatBitrate(2_500_000)).toBe('2500 kbit/s');
    expect(formatBitrate(4_499_600)).toBe('4500 kbit/s');
    expect(formatBitrate(0)).toBe('0 kbit/s');
    expect(formatBitrate(-1)).toBe('');
    expect(formatBitrate(Number.NaN)).toBe('');
    expect(formatBitrate(undefined)).toBe('');
  });
  it('counts the uptime from live_since while live', () => {
    const now = Date.parse('2026-12-05T11:02:03Z');
    expect(uptimeMs(ed('d', { state: 'live', live_since: '2026-12-05T10:00:00Z' }), now)).toBe(3_723_000);
    expect(formatUptime(uptimeMs(ed('d', { state: 'live', live_since: '2026-12-05T10:00:00Z' }), now))).toBe('1:02:03');
    expect(uptimeMs(ed('d', { state: 'live', live_since: '2026-12-05T11:02:08Z' }), now)).toBe(0);
    expect(uptimeMs(ed('d', { state: 'retrying', live_since: '2026-12-05T10:00:00Z' }), now)).toBeNull();
    expect(uptimeMs(ed('d', { state: 'live', live_since: null }), now)).toBeNull();
    expect(uptimeMs(ed('d', { state: 'live', live_since: 'garbage' }), now)).toBeNull();
  });
  it('counts the retries', () => {
    expect(retriesText(ed('d', { retries: 0 }))).toBe('');
    expect(retriesText(ed('d', { state: 'live', retries: 1 }))).toBe('1 retry');
    expect(retriesText(ed('d', { state: 'failed', retries: 5 }))).toBe('5 retries');
    expect(retriesText(ed('d', { state: 'live', retries: 2.7 }))).toBe('2 retries');
    expect(retriesText(ed('d', { state: 'retrying', retries: 3 }))).toBe('Reconnecting (attempt 3)');
    expect(retriesText(ed('d', { state: 'retrying', retries: 0 }))).toBe('Reconnecting (attempt 1)');
  });
});

describe('errors and what to do', () => {
  it('advises by error code', () => {
    expect(errorAdvice('key_refused')).toMatch(/^Copy the stream key again from the platform/);
    expect(errorAdvice('unreachable')).toMatch(/^Check the server URL/);
    expect(errorAdvice('tls')).toMatch(/rtmps:\/\//);
    expect(errorAdvice('invalid_url')).toMatch(/^Check the server URL/);
    for (const code of ['stalled', 'disconnected']) expect(errorAdvice(code)).not.toBe('');
    expect(errorAdvice('')).toBe('');
    expect(errorAdvice('new_code')).toBe('');
  });
  it('says why and what to do when failed or retrying only', () => {
    expect(destinationProblem(ed('d', { state: 'live' }))).toBeNull();
    expect(destinationProblem(ed('d', { state: 'stopped', error: 'x', error_code: 'stalled' }))).toBeNull();
    expect(
      destinationProblem(ed('d', { state: 'failed', error: 'the server refused the stream key: copy the key again from the platform', error_code: 'key_refused' })),
    ).toEqual({
      reason: 'The server refused the stream key: copy the key again from the platform.',
      advice: expect.stringMatching(/^Copy the stream key again from the platform/),
    });
    expect(destinationProblem(ed('d', { state: 'failed' }))).toEqual({ reason: 'The stream to this destination stopped.', advice: 'Press Start to try again.' });
    expect(destinationProblem(ed('d', { state: 'retrying', error: 'the server did not answer', error_code: 'unreachable' }))?.advice).toMatch(/^Check the server URL/);
    expect(destinationProblem(ed('d', { state: 'retrying' }))?.advice).toBe('It reconnects by itself.');
  });
  it('says how to start a destination before the event is live', () => {
    const notLive = new ApiError({ status: 409, code: 'event_not_live', detail: 'the event is scheduled' });
    expect(destinationErrorText(notLive)).toMatch(/not live yet\. Go live first/);
    expect(destinationErrorText(notLive)).not.toMatch(/record/);
    const busy = new ApiError({ status: 429, code: 'egress_busy', detail: 'no restreaming capacity', retry_after: 10 });
    expect(destinationErrorText(busy)).toBe('no restreaming capacity. The restreaming service is busy. Wait 10 s, then press Start again.');
    const refused = new ApiError({ status: 422, code: 'invalid_server_url', detail: 'server_url must start with rtmp:// or rtmps://' });
    expect(destinationErrorText(refused)).toMatch(/^server_url must start with rtmp:\/\/ or rtmps:\/\/\. Use the rtmp/);
  });
});

describe('destinationsReducer', () => {
  const at = (s: typeof initialDestinationsState) => s.items.map((d) => `${d.destination.id}:${d.state}`);

  it('applies lists, answers and frames, keeping the newest copy', () => {
    let s = destinationsReducer(initialDestinationsState, { type: 'list', destinations: [ed('a'), ed('b')], at: 10 });
    expect(s.loaded).toBe(true);
    expect(at(s)).toEqual(['a:idle', 'b:idle']);
    s = destinationsReducer(s, { type: 'upsert', destination: ed('a', { state: 'connecting', updated_at: '2026-12-05T10:00:05Z' }), at: 20 });
    s = destinationsReducer(s, { type: 'frame', frame: { type: 'destination', destination: ed('a', { state: 'live', updated_at: '2026-12-05T10:00:07Z' }) }, at: 21 });
    // A late answer or list copy that says less does not win.
    s = destinationsReducer(s, { type: 'upsert', destination: ed('a', { state: 'connecting', updated_at: '2026-12-05T10:00:05Z' }), at: 22 });
    s = destinationsReducer(s, { type: 'list', destinations: [ed('a'), ed('b')], at: 15 });
    expect(at(s)).toEqual(['a:live', 'b:idle']);
    s = destinationsReducer(s, { type: 'list', destinations: [ed('a', { state: 'live', updated_at: '2026-12-05T10:00:09Z', bitrate_bps: 2_000_000 }), ed('b')], at: 30 });
    expect(s.items[0].bitrate_bps).toBe(2_000_000);
  });

  it('adds frames of destinations attached elsewhere, and drops what a newer list no longer has', () => {
    let s = destinationsReducer(initialDestinationsState, { type: 'list', destinations: [ed('a')], at: 10 });
    s = destinationsReducer(s, { type: 'frame', frame: { type: 'destination', destination: ed('c', { state: 'connecting' }) }, at: 12 });
    expect(at(s)).toEqual(['a:idle', 'c:connecting']);
    // A list asked for before c was learned keeps it; a later one decides.
    s = destinationsReducer(s, { type: 'list', destinations: [ed('a')], at: 11 });
    expect(at(s)).toEqual(['a:idle', 'c:connecting']);
    s = destinationsReducer(s, { type: 'list', destinations: [], at: 13 });
    expect(at(s)).toEqual([]);
  });

  it('keeps a destination detached here gone, unless it is attached again', () => {
    let s = destinationsReducer(initialDestinationsState, { type: 'list', destinations: [ed('a', { state: 'live' }), ed('b')], at: 10 });
    s = destinationsReducer(s, { type: 'remove', id: 'a', at: 20 });
    expect(at(s)).toEqual(['b:idle']);
    // The last frame of its push, and a list asked for before the removal, do not bring it back.
    s = destinationsReducer(s, { type: 'frame', frame: { type: 'destination', destination: ed('a', { state: 'stopped', updated_at: '2026-12-05T10:09:00Z' }) }, at: 21 });
    s = destinationsReducer(s, { type: 'list', destinations: [ed('a', { state: 'live' }), ed('b')], at: 19 });
    expect(at(s)).toEqual(['b:idle']);
    // Attached again here (the answer), or by a co-host (a list asked for after the removal).
    const again = destinationsReducer(s, { type: 'upsert', destination: ed('a'), at: 30 });
    expect(at(again)).toEqual(['b:idle', 'a:idle']);
    const elsewhere = destinationsReducer(s, { type: 'list', destinations: [ed('b'), ed('a')], at: 25 });
    expect(at(elsewhere)).toEqual(['b:idle', 'a:idle']);
    expect(elsewhere.removedAt).toEqual({});
  });

  it('ignores nonsense', () => {
    const s = destinationsReducer(initialDestinationsState, { type: 'list', destinations: [null as unknown as EventDestination, ed('a'), ed('a')], at: 1 });
    expect(at(s)).toEqual(['a:idle']);
    expect(destinationsReducer(s, { type: 'upsert', destination: {} as EventDestination, at: 2 })).toBe(s);
  });

  it('orders two copies by updated_at', () => {
    expect(isNotOlder(ed('a', { updated_at: '2026-12-05T10:00:01Z' }), ed('a'))).toBe(true);
    expect(isNotOlder(ed('a', { updated_at: '2026-12-05T09:59:59Z' }), ed('a'))).toBe(false);
    expect(isNotOlder(ed('a', { updated_at: '' }), ed('a'))).toBe(true);
  });
});
