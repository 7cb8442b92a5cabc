// One event's live WebSocket: connects with a fresh token, hands each frame on, and reconnects
// with backoff after any close except a ban (4003) or a protocol error (4400); a kick (4010) is
// reported (onKicked) and followed by a reconnect, since a kicked user may come back.
import { type BackoffOptions, backoffDelay } from './backoff';
import type { ConnectionState } from './chatState';
import { type ClientFrame, CloseCode, type ServerFrame } from './types';

/** The part of the browser WebSocket this uses (so tests can pass a fake). */
export interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What to do after `failures` handshakes in a row that never opened; null = keep retrying. */
export type HandshakeCheck = (failures: number) => Promise<ConnectionState | null>;

export interface LiveConnectionOptions {
  /** The socket URL, with a token valid now (called before every attempt). */
  url: () => Promise<string>;
  onFrame: (frame: ServerFrame) => void;
  onState: (state: ConnectionState) => void;
  /** Handshakes fail without a reason a browser can see (401/403/404): ask the REST API why. */
  onHandshakeFailure?: HandshakeCheck;
  /** Getting a URL failed for good (signed out): stop with this state. */
  onUrlError?: (e: unknown) => ConnectionState | null;
  /** The socket closed with 4010: the event's staff removed us (we reconnect all the same). */
  onKicked?: () => void;
  createSocket?: SocketFactory;
  backoff?: BackoffOptions;
  timers?: Timers;
  now?: () => number;
}

const OPEN = 1;

export class LiveConnection {
  private socket: SocketLike | null = null;
  private timer: unknown = null;
  private stopped = false;
  private attempt = 0;
  private handshakeFailures = 0;
  private readonly opts: LiveConnectionOptions;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly createSocket: SocketFactory;

  constructor(opts: LiveConnectionOptions) {
    this.opts = opts;
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    this.now = opts.now ?? Date.now;
    this.createSocket = opts.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
  }

  get isOpen(): boolean {
    return this.socket?.readyState === OPEN;
  }

  start(): void {
    this.stopped = false;
    this.opts.onState({ kind: 'connecting' });
    void this.connect();
  }

  /** Closes the socket for good (leaving the page). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.close(1000, 'leaving');
    }
  }

  /** Skips the rest of a backoff wait (a "retry now" button, or the browser came back online). */
  reconnectNow(): void {
    if (this.stopped || this.socket || this.timer === null) return;
    this.timers.clearTimeout(this.timer);
    this.timer = null;
    void this.connect();
  }

  send(frame: ClientFrame): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private async connect(): Promise<void> {
    let url: string;
    try {
      url = await this.opts.url();
    } catch (e) {
      if (this.stopped) return;
      const final = this.opts.onUrlError?.(e) ?? null;
      if (final) {
        this.finish(final);
        return;
      }
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    let opened = false;
    const socket = this.createSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(ev.data) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === 'hello') {
        // Only a hello proves the connection works; reset the backoff then, not on open.
        this.attempt = 0;
        this.handshakeFailures = 0;
      }
      this.opts.onFrame(frame);
    };
    socket.onerror = () => {
      // A close event always follows; it decides what happens.
    };
    socket.onclose = (ev) => {
      if (this.socket === socket) this.socket = null;
      if (this.stopped) return;
      void this.onClose(ev.code, opened);
    };
  }

  private async onClose(code: number, opened: boolean): Promise<void> {
    if (code === CloseCode.Banned) {
      this.finish({ kind: 'banned' });
      return;
    }
    if (code === CloseCode.Kicked) {
      // Staff removed us from the event: say so; a kicked user may come back, so reconnect.
      this.opts.onKicked?.();
    }
    if (code === CloseCode.ProtocolError) {
      this.finish({ kind: 'failed', message: 'The chat connection broke because of a client error. Reload the page to reconnect.' });
      return;
    }
    if (!opened) {
      this.handshakeFailures += 1;
      const verdict = await this.opts.onHandshakeFailure?.(this.handshakeFailures).catch(() => null);
      if (this.stopped) return;
      if (verdict) {
        this.finish(verdict);
        return;
      }
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.attempt += 1;
    const delay = backoffDelay(this.attempt, this.opts.backoff);
    this.opts.onState({ kind: 'reconnecting', attempt: this.attempt, retryAt: this.now() + delay });
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (!this.stopped) void this.connect();
    }, delay);
  }

  private finish(state: ConnectionState): void {
    this.stopped = true;
    this.opts.onState(state);
  }
}
