// Binds an SfuClient to React: joins the event's room while `active`, leaves on unmount, and
// keeps what is broadcast equal to `tracks` (memoised by the caller; null = watch only).
import { useEffect, useRef, useState } from 'react';
import type { ApiClient } from '../lib/api';
import { SfuClient, type SfuSnapshot } from '../lib/sfu';
import type { TrackSource } from '../lib/types';

type Tracks = Partial<Record<TrackSource, MediaStreamTrack>>;

export interface Sfu {
  snapshot: SfuSnapshot | null;
  client: SfuClient | null;
  /** Starts over after a final failure. */
  rejoin: () => void;
}

export function useSfu(api: ApiClient, eventId: string, active: boolean, tracks: Tracks | null): Sfu {
  const [snapshot, setSnapshot] = useState<SfuSnapshot | null>(null);
  const [client, setClient] = useState<SfuClient | null>(null);
  const [nonce, setNonce] = useState(0);
  const tracksRef = useRef(tracks);
  tracksRef.current = tracks;

  useEffect(() => {
    if (!active) {
      setSnapshot(null);
      setClient(null);
      return;
    }
    const c = new SfuClient({ token: () => api.mediaToken(eventId) });
    const unsubscribe = c.subscribe(setSnapshot);
    if (tracksRef.current) c.setPublished(tracksRef.current);
    c.join();
    setClient(c);
    return () => {
      unsubscribe();
      c.close();
    };
  }, [api, eventId, active, nonce]);

  useEffect(() => {
    client?.setPublished(tracks ?? {});
  }, [client, tracks]);

  return { snapshot, client, rejoin: () => setNonce((n) => n + 1) };
}
