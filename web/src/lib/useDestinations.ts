// Binds one event's restreaming destinations (lib/destinations.ts) to React: polls
// GET /events/{id}/destinations every 3 s while a push runs (the bitrate changes without frames;
// every 30 s otherwise), applies the live socket's `destination` frames and the answers of
// attach / start / stop / auto-start at once; the reducer keeps the newest copy. A frame does not
// say whether the destination was detached, so each one is followed by a fresh list.
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { ApiError, type ApiClient, errorText } from './api';
import { type DestinationsState, destinationsReducer, initialDestinationsState, isPushing } from './destinations';
import type { EventDestination } from './types';
import type { FrameListener } from './useLiveChat';

/** How often the list is read while a destination is connecting, live or retrying. */
export const DESTINATIONS_POLL_MS = 3000;
/** …and otherwise. */
export const DESTINATIONS_IDLE_POLL_MS = 30_000;
/** How long after a frame the list is read again (frames come in bursts: started, live). */
export const DESTINATIONS_FRAME_REFRESH_MS = 500;

/** A monotonic clock for ordering requests and frames. */
const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export interface EventDestinations {
  items: EventDestination[];
  loaded: boolean;
  /** The last read failed (what is on screen may be stale). */
  error: string | null;
  /** The server has no destinations API (404 route_not_found): polling stopped. */
  unsupported: boolean;
  /** Not ours to see (403: not the event's host or a co-host): polling stopped. */
  forbidden: boolean;
  /** Applies what attach / start / stop / auto-start answered. */
  applied: (d: EventDestination) => void;
  /** Detached here. */
  removed: (destinationId: string) => void;
  refresh: () => void;
}

export function useDestinations(
  api: ApiClient,
  eventId: string,
  opts: {
    pollMs?: number | null;
    idlePollMs?: number | null;
    subscribe?: (l: FrameListener) => () => void;
    enabled?: boolean;
    /** Shown before (or instead of) the first list: for tests. */
    initial?: EventDestination[];
  } = {},
): EventDestinations {
  const { pollMs = DESTINATIONS_POLL_MS, idlePollMs = DESTINATIONS_IDLE_POLL_MS, subscribe, enabled = true, initial } = opts;
  const [state, dispatch] = useReducer(
    destinationsReducer,
    initial,
    (seed): DestinationsState => (seed ? { ...initialDestinationsState, items: seed, loaded: true } : initialDestinationsState),
  );
  const [error, setError] = useState<string | null>(null);
  const [unsupported, setUnsupported] = useState(false);
  const [forbidden, setForbidden] = useState(false);
  const loadRef = useRef<() => void>(() => undefined);
  const pushing = state.items.some((d) => isPushing(d.state));

  useEffect(() => {
    if (!enabled) return;
    let live = true;
    let inFlight = false;
    const load = async () => {
      if (inFlight) return;
      inFlight = true;
      const at = clock();
      try {
        const list = await api.eventDestinations(eventId);
        if (!live) return;
        dispatch({ type: 'list', destinations: Array.isArray(list?.destinations) ? list.destinations : [], at });
        setError(null);
      } catch (e) {
        if (!live) return;
        if (e instanceof ApiError && (e.code === 'route_not_found' || e.status === 403)) {
          if (e.status === 403) setForbidden(true);
          else setUnsupported(true);
          loadRef.current = () => undefined;
          return;
        }
        setError(errorText(e));
      } finally {
        inFlight = false;
      }
    };
    loadRef.current = () => void load();
    void load();
    return () => {
      live = false;
      loadRef.current = () => undefined;
    };
  }, [api, eventId, enabled]);

  // Every 3 s while a push runs (the bitrate moves), slowly otherwise.
  const every = pushing ? pollMs : idlePollMs;
  useEffect(() => {
    if (!enabled || unsupported || forbidden || !every) return;
    const timer = window.setInterval(() => loadRef.current(), every);
    return () => window.clearInterval(timer);
  }, [enabled, unsupported, forbidden, every]);

  useEffect(() => {
    if (!subscribe || !enabled) return;
    let timer: number | undefined;
    const unsubscribe = subscribe((frame) => {
      if (frame.type === 'destination') {
        const d = frame.destination;
        if (!d || (d.event_id ?? eventId) !== eventId) return;
        dispatch({ type: 'frame', frame, at: clock() });
        // Detached (by a co-host, say) looks like any other change: the list tells.
        if (timer !== undefined) window.clearTimeout(timer);
        timer = window.setTimeout(() => {
          timer = undefined;
          loadRef.current();
        }, DESTINATIONS_FRAME_REFRESH_MS);
      } else if (frame.type === 'hello') {
        // (Re)connected: frames may have been missed meanwhile.
        loadRef.current();
      }
    });
    return () => {
      if (timer !== undefined) window.clearTimeout(timer);
      unsubscribe();
    };
  }, [subscribe, eventId, enabled]);

  const applied = useCallback((destination: EventDestination) => dispatch({ type: 'upsert', destination, at: clock() }), []);
  const removed = useCallback((id: string) => dispatch({ type: 'remove', id, at: clock() }), []);
  const refresh = useCallback(() => loadRef.current(), []);

  return { items: state.items, loaded: state.loaded, error, unsupported, forbidden, applied, removed, refresh };
}
