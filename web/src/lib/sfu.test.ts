import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import {
  acceptsAnswer,
  byeText,
  canOffer,
  classifyFailure,
  classifyTokenFailure,
  diffPublished,
  labelRemoteTracks,
  parseServerMessage,
  planRemoteOffer,
  restateMutes,
  sourcesByMid,
  type StageState,
  type TransceiverView,
} from './sfu';

const track = (kind: 'audio' | 'video', id = `${kind}-${Math.random()}`) => ({ kind, id });
const tr = (mid: string | null, kind: 'audio' | 'video', direction = 'recvonly', currentDirection: string | null = 'recvonly'): TransceiverView<{ kind: string; id: string }> => ({
  mid,
  direction,
  currentDirection,
  receiver: { track: track(kind, `t${mid}`) },
});

const state: StageState = {
  participants: [
    { participant_id: 'p1', user_id: 'u1', name: 'Ada', avatar: '' },
    { participant_id: 'p2', user_id: 'u2', name: 'Grace', avatar: 'https://example.com/g.png' },
  ],
  tracks: [
    { mid: '4', participant_id: 'p2', source: 'screen', muted: false },
    { mid: '3', participant_id: 'p2', source: 'camera', muted: false },
    { mid: '2', participant_id: 'p1', source: 'microphone', muted: true },
    { mid: '1', participant_id: 'p1', source: 'camera', muted: false },
  ],
};

describe('labelling received tracks from a state message', () => {
  it('maps each mid to its transceiver and publisher, ordered by participant then source', () => {
    const trs = [tr('0', 'video', 'sendonly', 'sendonly'), tr('1', 'video'), tr('2', 'audio'), tr('3', 'video'), tr('4', 'video')];
    const out = labelRemoteTracks(state, trs);
    expect(out.map((t) => [t.mid, t.name, t.source, t.kind, t.muted])).toEqual([
      ['1', 'Ada', 'camera', 'video', false],
      ['2', 'Ada', 'microphone', 'audio', true],
      ['3', 'Grace', 'camera', 'video', false],
      ['4', 'Grace', 'screen', 'video', false],
    ]);
    expect(out[0].avatar).toBeNull();
    expect(out[2].avatar).toBe('https://example.com/g.png');
    expect(out[0].track.id).toBe('t1');
    expect(out[0].userId).toBe('u1');
  });

  it('leaves out mids with no transceiver yet, stopped ones, unknown publishers and kind mismatches', () => {
    const trs = [tr('1', 'video', 'stopped', 'stopped'), tr('2', 'video'), tr('3', 'video')];
    const s: StageState = { ...state, tracks: [...state.tracks, { mid: '9', participant_id: 'p9', source: 'camera', muted: false }] };
    // 1 stopped, 2 is video but labelled microphone, 4 missing, 9 unknown publisher and no transceiver.
    expect(labelRemoteTracks(s, trs).map((t) => t.mid)).toEqual(['3']);
    expect(labelRemoteTracks(null, trs)).toEqual([]);
  });
});

describe('parsing server messages', () => {
  it('accepts every documented message', () => {
    expect(parseServerMessage('{"type":"offer","sdp":"v=0"}')).toEqual({ type: 'offer', sdp: 'v=0' });
    expect(parseServerMessage('{"type":"muted","source":"microphone","by_server":true}')).toEqual({ type: 'muted', source: 'microphone', by_server: true });
    expect(parseServerMessage('{"type":"active_speaker","participant_id":null}')).toEqual({ type: 'active_speaker', participant_id: null });
    expect(parseServerMessage('{"type":"bye","reason":"removed","reconnect":false}')).toEqual({ type: 'bye', reason: 'removed', reconnect: false });
    expect(parseServerMessage('{"type":"grants","grants":{"subscribe":true,"publish":["camera","webcam"],"hidden":false}}')).toEqual({
      type: 'grants',
      grants: { subscribe: true, publish: ['camera'], hidden: false },
    });
    expect(
      parseServerMessage('{"type":"grants","grants":{"subscribe":true,"publish":["camera","microphone"],"hidden":false,"backstage":true,"see_backstage":true}}'),
    ).toEqual({ type: 'grants', grants: { subscribe: true, publish: ['camera', 'microphone'], hidden: false, backstage: true, see_backstage: true } });
    const st = parseServerMessage(JSON.stringify({ type: 'state', ...state }));
    expect(st).toEqual({ type: 'state', ...state });
  });

  it('drops malformed frames and unknown sources', () => {
    expect(parseServerMessage('not json')).toBeNull();
    expect(parseServerMessage('{"type":"offer"}')).toBeNull();
    expect(parseServerMessage('{"type":"later"}')).toBeNull();
    expect(parseServerMessage(new ArrayBuffer(2))).toBeNull();
    expect(parseServerMessage('{"type":"muted","source":"webcam","by_server":true}')).toBeNull();
    const st = parseServerMessage('{"type":"state","participants":[{"participant_id":"p1"}],"tracks":[{"mid":"1","participant_id":"p1","source":"hologram"}]}');
    expect(st).toEqual({ type: 'state', participants: [], tracks: [] });
  });
});

describe('what to send', () => {
  const cam = { id: 'cam' };
  const cam2 = { id: 'cam2' };
  const mic = { id: 'mic' };
  const all = ['camera', 'microphone', 'screen', 'screen_audio'] as const;

  it('starts new sources, stops removed ones, and swaps the track of a source whose device changed', () => {
    expect(diffPublished({}, { camera: cam, microphone: mic }, all)).toEqual({ stop: [], start: ['camera', 'microphone'], replace: [], refused: [] });
    expect(diffPublished({ camera: cam, microphone: mic }, { microphone: mic }, all)).toEqual({ stop: ['camera'], start: [], replace: [], refused: [] });
    expect(diffPublished({ camera: cam }, { camera: cam2 }, all)).toEqual({ stop: [], start: [], replace: ['camera'], refused: [] });
    expect(diffPublished({ camera: cam }, { camera: cam }, all)).toEqual({ stop: [], start: [], replace: [], refused: [] });
  });

  it('refuses sources the grants do not allow, and stops them if they were being sent', () => {
    expect(diffPublished({}, { camera: cam }, [])).toEqual({ stop: [], start: [], replace: [], refused: ['camera'] });
    expect(diffPublished({ camera: cam, microphone: mic }, { camera: cam, microphone: mic }, ['microphone'])).toEqual({
      stop: ['camera'],
      start: [],
      replace: [],
      refused: ['camera'],
    });
    // A new device for a source that lost its grant is refused, not swapped in.
    expect(diffPublished({ camera: cam }, { camera: cam2 }, ['microphone'])).toEqual({ stop: ['camera'], start: [], replace: [], refused: ['camera'] });
  });

  it('names the mid of every sending transceiver that has one', () => {
    expect(
      sourcesByMid([
        ['camera', { mid: '1' }],
        ['microphone', { mid: '2' }],
        ['screen', { mid: null }],
      ]),
    ).toEqual({ 1: 'camera', 2: 'microphone' });
  });
});

describe('negotiation (we are the polite peer)', () => {
  it('rolls back a pending offer of ours when the server offers, and offers again afterwards', () => {
    expect(planRemoteOffer('stable')).toEqual({ rollback: false, reofferAfter: false });
    expect(planRemoteOffer('have-local-offer')).toEqual({ rollback: true, reofferAfter: true });
  });

  it('applies an answer only while our offer is pending', () => {
    expect(acceptsAnswer('have-local-offer')).toBe(true);
    expect(acceptsAnswer('stable')).toBe(false);
  });

  it('offers only when something changed, the channel is open and nothing is pending', () => {
    expect(canOffer({ needed: true, channelOpen: true, signalingState: 'stable' })).toBe(true);
    expect(canOffer({ needed: false, channelOpen: true, signalingState: 'stable' })).toBe(false);
    expect(canOffer({ needed: true, channelOpen: false, signalingState: 'stable' })).toBe(false);
    expect(canOffer({ needed: true, channelOpen: true, signalingState: 'have-remote-offer' })).toBe(false);
  });
});

describe('failures', () => {
  const err = (status: number, code: string, detail = 'x') => new ApiError({ status, code, detail });

  it('retries network trouble, overload and expired media tokens', () => {
    for (const e of [err(0, 'network'), err(503, 'unavailable'), err(429, 'rate_limited'), err(401, 'token_expired'), err(401, 'invalid_token'), new Error('boom')]) {
      expect(classifyFailure(e)).toEqual({ retry: true });
    }
  });

  it('stops on refusals a retry cannot fix, saying what to do', () => {
    const codec = classifyFailure(err(422, 'unsupported_codec', 'no VP8'));
    expect(codec.retry).toBe(false);
    expect(!codec.retry && codec.message).toMatch(/browser/);
    const over = classifyFailure(err(409, 'event_over'));
    expect(!over.retry && over.message).toMatch(/over/);
    expect(classifyFailure(err(403, 'track_not_allowed', 'not allowed.')).retry).toBe(false);
  });

  it('treats a 401 from the gateway as the end of the session, not an expired media token', () => {
    expect(classifyTokenFailure(err(401, 'token_revoked', 'Signed out.')).retry).toBe(false);
    expect(classifyTokenFailure(err(0, 'network')).retry).toBe(true);
    expect(classifyTokenFailure(err(502, 'http_502')).retry).toBe(true);
    const over = classifyTokenFailure(err(409, 'event_over'));
    expect(!over.retry && over.message).toMatch(/over/);
  });

  it('says why a bye ended the connection', () => {
    expect(byeText('removed by a moderator')).toBe('You left the live video: removed by a moderator.');
    expect(byeText('')).toBe('You left the live video.');
  });
});

describe('after the server rate-limited us', () => {
  it('restates each source’s own mute state, and leaves a host’s mute alone', () => {
    expect(restateMutes(['microphone', 'camera', 'screen'], new Set(['camera']), new Set(['screen']))).toEqual([
      { type: 'mute', source: 'microphone', muted: false },
      { type: 'mute', source: 'camera', muted: true },
    ]);
    expect(restateMutes([], new Set(), new Set())).toEqual([]);
  });
});
