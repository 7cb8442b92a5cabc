// Binds one event's recordings (lib/recordings.ts) to React: polls GET /events/{id}/recordings
// (every 3 s in the studio) and applies the live socket's `recording` frames and the answers of
// start / stop / layout at once; the reducer keeps the newest copy whatever arrives last.
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { ApiError, type ApiClient, errorText } from './api';
import { initialRecordingsState, recordingsReducer } from './recordings';
import type { Recording } from './types';
import type { FrameListener } from './useLiveChat';

export const RECORDINGS_POLL_MS = 3000;

/** A monotonic clock for ordering requests and frames. */
const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export interface EventRecordings {
  items: Recording[];
  loaded: boolean;
  /** The last poll failed (what is on screen may be stale). */
  error: string | null;
  /** The server has no recording API (404 route_not_found): polling stopped. */
  unsupported: boolean;
  /** Applies what start / stop / layout answered. */
  applied: (r: Recording) => void;
  removed: (id: string) => void;
  refresh: () => void;
}

export function useRecordings(
  api: ApiClient,
  eventId: string,
  opts: { pollMs?: number | null; subscribe?: (l: FrameListener) => () => void; enabled?: boolean } = {},
): EventRecordings {
  const { pollMs = RECORDINGS_POLL_MS, subscribe, enabled = true } = opts;
  const [state, dispatch] = useReducer(recordingsReducer, initialRecordingsState);
  const [error, setError] = useState<string | null>(null);
  const [unsupported, setUnsupported] = useState(false);
  const loadRef = useRef<() => void>(() => undefined);

  useEffect(() => {
    if (!enabled) return;
    let live = true;
    let inFlight = false;
    let timer: number | undefined;
    const load = async () => {
      if (inFlight) return;
      inFlight = true;
      const at = clock();
      try {
        const list = await api.eventRecordings(eventId);
        if (!live) return;
        dispatch({ type: 'list', recordings: Array.isArray(list?.recordings) ? list.recordings : [], at });
        setError(null);
      } catch (e) {
        if (!live) return;
        if (e instanceof ApiError && e.code === 'route_not_found') {
          setUnsupported(true);
          if (timer !== undefined) window.clearInterval(timer);
          timer = undefined;
          return;
        }
        setError(errorText(e));
      } finally {
        inFlight = false;
      }
    };
    loadRef.current = () => void load();
    void load();
    if (pollMs) timer = window.setInterval(() => void load(), pollMs);
    return () => {
      live = false;
      if (timer !== undefined) window.clearInterval(timer);
      loadRef.current = () => undefined;
    };
  }, [api, eventId, pollMs, enabled]);

  useEffect(() => {
    if (!subscribe || !enabled) return;
    return subscribe((frame) => {
      if (frame.type === 'recording') {
        const r = frame.recording;
        if (r && (r.event_id ?? eventId) === eventId) dispatch({ type: 'frame', frame, at: clock() });
      } else if (frame.type === 'hello') {
        // (Re)connected: frames may have been missed meanwhile.
        loadRef.current();
      }
    });
  }, [subscribe, eventId, enabled]);

  const applied = useCallback((recording: Recording) => dispatch({ type: 'upsert', recording, at: clock() }), []);
  const removed = useCallback((id: string) => dispatch({ type: 'remove', id }), []);
  const refresh = useCallback(() => loadRef.current(), []);

  return { items: state.items, loaded: state.loaded, error, unsupported, applied, removed, refresh };
}
