import { describe, expect, it, vi } from 'vitest';
import {
  formatBytes,
  formatElapsed,
  initialRecordingsState,
  isNotOlder,
  loadReplay,
  recordingElapsedMs,
  recordingStateWords,
  recordingsReducer,
  studioRecording,
  visibleReplayCount,
  withAccessToken,
} from './recordings';
import type { Recording, ReplayMessage } from './types';

function rec(over: Partial<Recording> = {}): Recording {
  return {
    id: 'r1',
    event_id: 'e1',
    event_title: 'Friday show',
    host_id: 'u1',
    state: 'recording',
    layout: 'grid',
    quality: '720p',
    started_at: '2026-12-05T10:00:00Z',
    ended_at: null,
    duration_ms: 0,
    size_bytes: 0,
    thumbnail_url: null,
    updated_at: null,
    layout_changes: [{ at_ms: 0, layout: 'grid' }],
    gaps: [],
    ...over,
  };
}

/** A copy without what the document says is always there: the defensive paths still cope. */
function lacking(over: Record<string, unknown>): Recording {
  return rec(over as unknown as Partial<Recording>);
}

describe('formatElapsed', () => {
  it('writes mm:ss under an hour and h:mm:ss from an hour', () => {
    expect(formatElapsed(0)).toBe('00:00');
    expect(formatElapsed(999)).toBe('00:00');
    expect(formatElapsed(61_000)).toBe('01:01');
    expect(formatElapsed(59 * 60_000 + 59_999)).toBe('59:59');
    expect(formatElapsed(3_600_000)).toBe('1:00:00');
    expect(formatElapsed(3_600_000 * 12 + 5 * 60_000 + 7_000)).toBe('12:05:07');
  });
  it('counts nonsense as zero', () => {
    expect(formatElapsed(-5000)).toBe('00:00');
    expect(formatElapsed(Number.NaN)).toBe('00:00');
    expect(formatElapsed(null)).toBe('00:00');
  });
});

describe('recordingElapsedMs', () => {
  const now = Date.parse('2026-12-05T10:01:05Z');
  it('runs from started_at while recording, never below the server duration', () => {
    expect(recordingElapsedMs(rec({ duration_ms: 0 }), now)).toBe(65_000);
    expect(recordingElapsedMs(rec({ duration_ms: 70_000 }), now)).toBe(70_000);
    expect(recordingElapsedMs(rec({ started_at: null, duration_ms: 3000 }), now)).toBe(3000);
  });
  it('is zero while starting and the duration once stopped', () => {
    expect(recordingElapsedMs(rec({ state: 'starting', started_at: null }), now)).toBe(0);
    expect(recordingElapsedMs(rec({ state: 'ready', duration_ms: 61_000 }), now)).toBe(61_000);
    expect(recordingElapsedMs(lacking({ state: 'stopping', duration_ms: null, ended_at: '2026-12-05T10:00:30Z' }), now)).toBe(30_000);
  });
});

describe('recordingStateWords', () => {
  it('says the state, and what to do when it failed', () => {
    expect(recordingStateWords(null).text).toBe('Not recording');
    expect(recordingStateWords(rec({ state: 'starting' })).text).toBe('Starting…');
    expect(recordingStateWords(rec({ state: 'recording' }))).toEqual({ text: 'Recording', tone: 'live' });
    expect(recordingStateWords(rec({ state: 'stopping' })).text).toBe('Stopping…');
    const failed = recordingStateWords(rec({ state: 'failed', error: 'egress unavailable.' }));
    expect(failed.tone).toBe('error');
    expect(failed.text).toMatch(/^Failed: egress unavailable\. Press Record to try again/);
    expect(recordingStateWords(rec({ state: 'failed' })).text).toMatch(/^Failed: the recorder stopped\./);
  });
});

describe('withAccessToken', () => {
  it('adds the token as a query parameter', () => {
    expect(withAccessToken('/api/v1/recordings/r1/download.mp4', 'a.b c')).toBe('/api/v1/recordings/r1/download.mp4?access_token=a.b%20c');
    expect(withAccessToken('/x?y=1', 't')).toBe('/x?y=1&access_token=t');
    expect(withAccessToken('/x?', 't')).toBe('/x?access_token=t');
    expect(withAccessToken('https://h/x#frag', 't')).toBe('https://h/x?access_token=t#frag');
  });
  it('replaces a token already there, and leaves the URL without a token alone', () => {
    expect(withAccessToken('/x?access_token=old&y=1', 'new')).toBe('/x?y=1&access_token=new');
    expect(withAccessToken('/x?y=1&access_token=old', 'new')).toBe('/x?y=1&access_token=new');
    expect(withAccessToken('/x', null)).toBe('/x');
  });
});

describe('isNotOlder', () => {
  it('orders by state, then layout changes, then duration', () => {
    expect(isNotOlder(rec({ state: 'stopping' }), rec({ state: 'recording' }))).toBe(true);
    expect(isNotOlder(rec({ state: 'recording' }), rec({ state: 'stopping' }))).toBe(false);
    expect(isNotOlder(rec({ state: 'recording' }), rec({ state: 'ready' }))).toBe(false);
    expect(isNotOlder(rec({ state: 'failed' }), rec({ state: 'recording' }))).toBe(true);
    const two: Recording['layout_changes'] = [
      { at_ms: 0, layout: 'grid' },
      { at_ms: 30_500, layout: 'screen' },
    ];
    expect(isNotOlder(rec({ layout: 'grid' }), rec({ layout: 'screen', layout_changes: two }))).toBe(false);
    expect(isNotOlder(rec({ layout: 'screen', layout_changes: two }), rec({ layout: 'grid' }))).toBe(true);
    expect(isNotOlder(rec({ duration_ms: 1000 }), rec({ duration_ms: 5000 }))).toBe(false);
    expect(isNotOlder(rec({ duration_ms: 5000 }), rec({ duration_ms: 5000 }))).toBe(true);
  });
  it('trusts updated_at when both copies have it', () => {
    expect(isNotOlder(rec({ state: 'recording', updated_at: '2026-12-05T10:00:02Z' }), rec({ state: 'stopping', updated_at: '2026-12-05T10:00:01Z' }))).toBe(true);
    expect(isNotOlder(rec({ updated_at: '2026-12-05T10:00:00Z' }), rec({ updated_at: '2026-12-05T10:00:01Z' }))).toBe(false);
  });
  it('does not call a copy older for what it leaves out', () => {
    expect(isNotOlder(lacking({ layout_changes: undefined, duration_ms: null }), rec({ duration_ms: 9000 }))).toBe(true);
  });
});

describe('recordingsReducer', () => {
  const list = (recordings: Recording[], at: number) => ({ type: 'list' as const, recordings, at });

  it('takes a polled list, newest first', () => {
    const s = recordingsReducer(initialRecordingsState, list([rec({ id: 'old', started_at: '2026-12-01T10:00:00Z', state: 'ready' }), rec({ id: 'new' })], 1));
    expect(s.loaded).toBe(true);
    expect(s.items.map((r) => r.id)).toEqual(['new', 'old']);
  });

  it('applies frames, and ignores a poll answer older than a frame', () => {
    let s = recordingsReducer(initialRecordingsState, list([rec({ state: 'starting', started_at: null })], 1));
    s = recordingsReducer(s, { type: 'frame', frame: { type: 'recording', recording: rec({ state: 'recording' }) }, at: 2 });
    expect(s.items[0].state).toBe('recording');
    s = recordingsReducer(s, { type: 'frame', frame: { type: 'recording', recording: rec({ state: 'stopping', duration_ms: 5000 }) }, at: 3 });
    // A poll sent before the stop, answered after it.
    s = recordingsReducer(s, list([rec({ state: 'recording', duration_ms: 4000 })], 4));
    expect(s.items[0].state).toBe('stopping');
    s = recordingsReducer(s, list([rec({ state: 'ready', duration_ms: 5200 })], 5));
    expect(s.items[0]).toMatchObject({ state: 'ready', duration_ms: 5200 });
    // A late frame of the stop: ignored.
    s = recordingsReducer(s, { type: 'frame', frame: { type: 'recording', recording: rec({ state: 'stopping' }) }, at: 6 });
    expect(s.items[0].state).toBe('ready');
  });

  it('keeps a layout change against a poll that has not seen it', () => {
    let s = recordingsReducer(initialRecordingsState, list([rec()], 1));
    const changed = rec({ layout: 'screen', layout_changes: [{ at_ms: 0, layout: 'grid' }, { at_ms: 9000, layout: 'screen' }] });
    s = recordingsReducer(s, { type: 'upsert', recording: changed, at: 2 });
    s = recordingsReducer(s, list([rec({ duration_ms: 8000 })], 3));
    expect(s.items[0].layout).toBe('screen');
  });

  it('ignores a list sent before the last one applied', () => {
    let s = recordingsReducer(initialRecordingsState, list([rec({ id: 'a' })], 10));
    s = recordingsReducer(s, list([rec({ id: 'a' }), rec({ id: 'gone' })], 5));
    expect(s.items.map((r) => r.id)).toEqual(['a']);
  });

  it('drops what a list no longer has, but keeps a recording learned after the list was asked for', () => {
    let s = recordingsReducer(initialRecordingsState, list([rec({ id: 'a', state: 'ready', started_at: '2026-12-01T00:00:00Z' })], 1));
    s = recordingsReducer(s, { type: 'upsert', recording: rec({ id: 'b', state: 'starting', started_at: null }), at: 5 });
    s = recordingsReducer(s, list([], 3));
    expect(s.items.map((r) => r.id)).toEqual(['b']);
    s = recordingsReducer(s, list([], 6));
    expect(s.items).toEqual([]);
  });

  it('keeps playback a same-state copy leaves out', () => {
    const playback = { hls_url: '/h.m3u8', mp4_url: '/d.mp4' };
    let s = recordingsReducer(initialRecordingsState, { type: 'upsert', recording: rec({ playback }), at: 1 });
    s = recordingsReducer(s, list([rec({ duration_ms: 3000 })], 2));
    expect(s.items[0].playback).toEqual(playback);
  });

  it('never brings back a recording removed here', () => {
    let s = recordingsReducer(initialRecordingsState, list([rec({ id: 'a' })], 1));
    s = recordingsReducer(s, { type: 'remove', id: 'a' });
    expect(s.items).toEqual([]);
    s = recordingsReducer(s, list([rec({ id: 'a' })], 2));
    s = recordingsReducer(s, { type: 'frame', frame: { type: 'recording', recording: rec({ id: 'a' }) }, at: 3 });
    expect(s.items).toEqual([]);
  });

  it('ignores frames without a recording', () => {
    const s = recordingsReducer(initialRecordingsState, { type: 'frame', frame: { type: 'recording', recording: undefined as unknown as Recording }, at: 1 });
    expect(s).toBe(initialRecordingsState);
  });
});

describe('studioRecording', () => {
  it('shows the unfinished one, else the newest', () => {
    expect(studioRecording([])).toBeNull();
    const ready = rec({ id: 'a', state: 'ready' });
    const stopping = rec({ id: 'b', state: 'stopping' });
    expect(studioRecording([ready, stopping])?.id).toBe('b');
    expect(studioRecording([ready, rec({ id: 'c', state: 'failed' })])?.id).toBe('a');
  });
});

const msg = (n: number, offset_ms: number): ReplayMessage => ({ message_id: `m${n}`, user_id: 'u', display_name: 'Ada', text: `hi ${n}`, offset_ms });

describe('visibleReplayCount', () => {
  const ms = [msg(1, 0), msg(2, 1000), msg(3, 1000), msg(4, 2500), msg(5, 60_000)];
  it('counts the messages at or before the current time', () => {
    expect(visibleReplayCount(ms, -1)).toBe(0);
    expect(visibleReplayCount(ms, 0)).toBe(1);
    expect(visibleReplayCount(ms, 999)).toBe(1);
    expect(visibleReplayCount(ms, 1000)).toBe(3);
    expect(visibleReplayCount(ms, 2499.9)).toBe(3);
    expect(visibleReplayCount(ms, 59_999)).toBe(4);
    expect(visibleReplayCount(ms, 1e9)).toBe(5);
    expect(visibleReplayCount([], 5000)).toBe(0);
    expect(visibleReplayCount(ms, Number.NaN)).toBe(0);
  });
  it('goes back down after seeking backwards', () => {
    expect(visibleReplayCount(ms, 60_000)).toBe(5);
    expect(visibleReplayCount(ms, 500)).toBe(1);
  });
});

describe('loadReplay', () => {
  it('pages from the last offset until a short page, dropping duplicates', async () => {
    const all = Array.from({ length: 7 }, (_, i) => msg(i, i * 100));
    // An inclusive from_offset_ms: the last message of a page comes again.
    const fetchPage = vi.fn(async (from: number, limit: number) => all.filter((m) => m.offset_ms >= from).slice(0, limit));
    const out = await loadReplay(fetchPage, { limit: 3 });
    expect(out.truncated).toBe(false);
    expect(out.messages.map((m) => m.message_id)).toEqual(all.map((m) => m.message_id));
    expect(fetchPage.mock.calls.map((c) => c[0])).toEqual([0, 200, 400, 600]);
  });
  it('stops at the cap', async () => {
    let n = 0;
    const fetchPage = async (_from: number, limit: number) => Array.from({ length: limit }, () => msg(n, n++));
    const out = await loadReplay(fetchPage, { limit: 4, cap: 10 });
    expect(out.truncated).toBe(true);
    expect(out.messages).toHaveLength(10);
  });
  it('stops when a full page brings nothing new', async () => {
    const same = [msg(1, 5), msg(2, 5)];
    const fetchPage = vi.fn(async () => same);
    const out = await loadReplay(fetchPage, { limit: 2 });
    expect(out.messages).toHaveLength(2);
    expect(fetchPage).toHaveBeenCalledTimes(2);
  });
});

describe('formatBytes', () => {
  it('uses decimal units', () => {
    expect(formatBytes(15_400_000)).toBe('15 MB');
    expect(formatBytes(1_250_000_000)).toBe('1.3 GB');
    expect(formatBytes(800)).toBe('800 B');
    expect(formatBytes(0)).toBe('');
    expect(formatBytes(null)).toBe('');
  });
});
