import { describe, expect, it, vi } from 'vitest';
import type { ConnectionState } from './chatState';
import { LiveConnection, type SocketLike } from './liveConnection';
import type { ServerFrame } from './types';

class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: string[] = [];
  closedWith: number | null = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close(code?: number) {
    this.closedWith = code ?? 1000;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(f: unknown) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

function harness(onHandshakeFailure?: (n: number) => Promise<ConnectionState | null>, onKicked?: () => void) {
  const sockets: FakeSocket[] = [];
  const states: ConnectionState[] = [];
  const frames: ServerFrame[] = [];
  const timers: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  let tokenN = 0;
  const conn = new LiveConnection({
    url: async () => `ws://x/live?access_token=t${++tokenN}`,
    onFrame: (f) => frames.push(f),
    onState: (s) => states.push(s),
    onHandshakeFailure,
    onKicked,
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    timers: {
      setTimeout: (fn, ms) => {
        const t = { fn, ms, cancelled: false };
        timers.push(t);
        return t;
      },
      clearTimeout: (t) => {
        (t as { cancelled: boolean }).cancelled = true;
      },
    },
    now: () => 0,
  });
  const fire = async () => {
    const t = timers.find((x) => !x.cancelled);
    if (!t) throw new Error('no timer pending');
    t.cancelled = true;
    t.fn();
    await flush();
  };
  return { conn, sockets, states, frames, timers, fire };
}

const flush = () => new Promise((r) => setTimeout(r, 0));
const hello = { type: 'hello', protocol: 1, event_id: 'e', you: {}, history: [], pinned: null, settings: null, timed_out_until: null, presence: { viewer_count: 1, users: [] }, heartbeat_secs: 20 };

describe('LiveConnection', () => {
  it('connects with a fresh URL, passes frames on and sends JSON', async () => {
    const h = harness();
    h.conn.start();
    await flush();
    expect(h.states).toEqual([{ kind: 'connecting' }]);
    expect(h.sockets[0].url).toContain('access_token=t1');
    h.sockets[0].open();
    h.sockets[0].frame(hello);
    expect(h.frames.map((f) => f.type)).toEqual(['hello']);
    expect(h.conn.send({ type: 'chat.send', client_msg_id: 'c1', text: 'hi' })).toBe(true);
    expect(JSON.parse(h.sockets[0].sent[0])).toEqual({ type: 'chat.send', client_msg_id: 'c1', text: 'hi' });
  });

  it('reconnects with growing delays and a new token, and resets after a hello', async () => {
    const h = harness();
    h.conn.start();
    await flush();
    h.sockets[0].open();
    h.sockets[0].drop(1001);
    await flush();
    expect(h.states.at(-1)).toEqual({ kind: 'reconnecting', attempt: 1, retryAt: 500 });
    await h.fire();
    h.sockets[1].drop(1006);
    await flush();
    expect(h.states.at(-1)).toEqual({ kind: 'reconnecting', attempt: 2, retryAt: 1000 });
    await h.fire();
    expect(h.sockets[2].url).toContain('access_token=t3');
    h.sockets[2].open();
    h.sockets[2].frame(hello);
    h.sockets[2].drop(4009);
    await flush();
    expect(h.states.at(-1)).toEqual({ kind: 'reconnecting', attempt: 1, retryAt: 500 });
  });

  it('does not reconnect after a ban (4003)', async () => {
    const h = harness();
    h.conn.start();
    await flush();
    h.sockets[0].open();
    h.sockets[0].drop(4003);
    await flush();
    expect(h.states.at(-1)).toEqual({ kind: 'banned' });
    expect(h.timers).toHaveLength(0);
  });

  it('reports a kick (4010) and reconnects: a kicked user may come back', async () => {
    const onKicked = vi.fn();
    const h = harness(undefined, onKicked);
    h.conn.start();
    await flush();
    h.sockets[0].open();
    h.sockets[0].frame(hello);
    h.sockets[0].drop(4010);
    await flush();
    expect(onKicked).toHaveBeenCalledTimes(1);
    expect(h.states.at(-1)).toMatchObject({ kind: 'reconnecting', attempt: 1 });
    expect(h.timers).toHaveLength(1);
  });

  it('does not reconnect after a protocol error (4400)', async () => {
    const h = harness();
    h.conn.start();
    await flush();
    h.sockets[0].open();
    h.sockets[0].drop(4400);
    await flush();
    expect(h.states.at(-1)).toMatchObject({ kind: 'failed' });
    expect(h.timers).toHaveLength(0);
  });

  it('asks why when handshakes keep failing, and stops when told to', async () => {
    const seen: number[] = [];
    const h = harness(async (n) => {
      seen.push(n);
      return n >= 2 ? { kind: 'failed', message: 'This event no longer exists.' } : null;
    });
    h.conn.start();
    await flush();
    h.sockets[0].drop(1006);
    await flush();
    await h.fire();
    h.sockets[1].drop(1006);
    await flush();
    expect(seen).toEqual([1, 2]);
    expect(h.states.at(-1)).toEqual({ kind: 'failed', message: 'This event no longer exists.' });
  });

  it('stop() closes the socket and cancels a pending reconnect', async () => {
    const h = harness();
    h.conn.start();
    await flush();
    h.sockets[0].open();
    h.sockets[0].drop(1006);
    await flush();
    h.conn.stop();
    expect(h.timers.every((t) => t.cancelled)).toBe(true);
    expect(h.conn.send({ type: 'ping' })).toBe(false);
  });

  it('reconnectNow skips the wait', async () => {
    const h = harness();
    h.conn.start();
    await flush();
    h.sockets[0].drop(1006);
    await flush();
    h.conn.reconnectNow();
    await flush();
    expect(h.sockets).toHaveLength(2);
  });
});
