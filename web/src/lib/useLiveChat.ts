// Binds one event's live WebSocket to the chat reducer for a React component.
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { ApiError, type ApiClient } from './api';
import { type ChatState, type ConnectionState, chatReducer, initialChatState, newClientMsgId } from './chatState';
import { LiveConnection } from './liveConnection';
import type { ServerFrame, StageChange } from './types';

export interface LiveChat {
  state: ChatState;
  send(text: string): void;
  retry(clientMsgId: string): void;
  discard(clientMsgId: string): void;
  clearError(): void;
  reconnectNow(): void;
  /** The stage frames so far: `seq` grows with each one, and with each (re)connect (when the
   * stage may have changed unseen); `last` is the latest change (null after a connect). */
  stage: StageFrames;
  /** How many times the staff removed us from the event (socket closed with 4010) on this page. */
  kicks: number;
  /** The extension point for features beyond the chat and the stage (`recording`, `destination`):
   * the listener gets every frame of the socket, in order, `hello` included (so it can catch up
   * after a reconnect). Returns the unsubscribe. Stable across renders. */
  subscribe(listener: FrameListener): () => void;
}

/** Gets each frame of the live socket (narrow on `frame.type`). */
export type FrameListener = (frame: ServerFrame) => void;

export interface StageFrames {
  seq: number;
  last: StageChange | null;
}

/** Remembered for this tab so a reload of a page we were banned from says so (the refused
 * handshake itself gives a browser no reason). */
const bannedKey = (eventId: string) => `stagecast.banned.${eventId}`;

export function useLiveChat(api: ApiClient, eventId: string, enabled = true): LiveChat {
  const [state, dispatch] = useReducer(chatReducer, initialChatState);
  const [stage, setStage] = useState<StageFrames>({ seq: 0, last: null });
  const [kicks, setKicks] = useState(0);
  const conn = useRef<LiveConnection | null>(null);
  const listeners = useRef(new Set<FrameListener>());
  const stateRef = useRef(state);
  stateRef.current = state;

  useEffect(() => {
    if (!enabled) return;
    const c = new LiveConnection({
      url: () => api.liveUrl(eventId),
      onFrame: (frame) => {
        for (const l of listeners.current) {
          try {
            l(frame);
          } catch (e) {
            console.error(e);
          }
        }
        if (frame.type === 'recording' || frame.type === 'destination') return;
        if (frame.type === 'stage') {
          setStage((s) => ({ seq: s.seq + 1, last: frame.change }));
          return;
        }
        if (frame.type === 'hello') {
          window.sessionStorage.removeItem(bannedKey(eventId));
          setStage((s) => ({ seq: s.seq + 1, last: null }));
        }
        dispatch({ type: 'frame', frame, now: Date.now() });
      },
      onState: (connection) => {
        if (connection.kind === 'banned') window.sessionStorage.setItem(bannedKey(eventId), '1');
        dispatch({ type: 'connection', connection });
      },
      onUrlError: (e): ConnectionState | null =>
        e instanceof ApiError && e.status === 401 ? { kind: 'failed', message: 'Your session has ended. Sign in again to join the chat.' } : null,
      onHandshakeFailure: async (failures) => {
        if (window.sessionStorage.getItem(bannedKey(eventId))) return { kind: 'banned' };
        if (failures < 2) return null;
        // The browser cannot see why the upgrade was refused; the REST API can tell some causes.
        try {
          await api.getEvent(eventId);
        } catch (e) {
          if (e instanceof ApiError && (e.status === 404 || e.status === 401 || e.status === 403)) return { kind: 'failed', message: e.detail };
        }
        return null;
      },
      onKicked: () => setKicks((n) => n + 1),
      backoff: { jitter: 0.3 },
    });
    conn.current = c;
    c.start();
    const online = () => c.reconnectNow();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      c.stop();
      conn.current = null;
    };
  }, [api, eventId, enabled]);

  // After every (re)connect, send what is still waiting; the server never duplicates a
  // client_msg_id, so a message that did get through before the drop is not posted twice.
  const open = state.connection.kind === 'open';
  useEffect(() => {
    if (!open) return;
    for (const p of stateRef.current.pending) {
      if (p.status === 'sending') conn.current?.send({ type: 'chat.send', client_msg_id: p.client_msg_id, text: p.text });
    }
  }, [open]);

  const send = useCallback((text: string) => {
    const id = newClientMsgId();
    dispatch({ type: 'send', client_msg_id: id, text });
    conn.current?.send({ type: 'chat.send', client_msg_id: id, text });
  }, []);

  const retry = useCallback((clientMsgId: string) => {
    const p = stateRef.current.pending.find((x) => x.client_msg_id === clientMsgId);
    if (!p) return;
    const next = newClientMsgId();
    dispatch({ type: 'retry', client_msg_id: clientMsgId, new_client_msg_id: next });
    conn.current?.send({ type: 'chat.send', client_msg_id: next, text: p.text });
  }, []);

  const discard = useCallback((clientMsgId: string) => dispatch({ type: 'discard', client_msg_id: clientMsgId }), []);
  const clearError = useCallback(() => dispatch({ type: 'clearError' }), []);
  const reconnectNow = useCallback(() => conn.current?.reconnectNow(), []);

  const subscribe = useCallback((listener: FrameListener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);

  return { state, send, retry, discard, clearError, reconnectNow, stage, kicks, subscribe };
}
