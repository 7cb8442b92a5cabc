import { useEffect } from 'react';
import type { ApiClient } from './api';
import { useAsync } from './hooks';

/** How often an open event page re-reads the event: the live socket does not (yet) announce
 * lifecycle changes such as going live or ending. */
export const EVENT_POLL_MS = 15_000;

export function useEvent(api: ApiClient, id: string) {
  const event = useAsync(() => api.getEvent(id), [api, id]);
  const status = event.status === 'ready' ? event.data.status : null;
  const { reload } = event;
  useEffect(() => {
    if (status !== 'scheduled' && status !== 'live') return;
    const t = window.setInterval(() => {
      if (document.visibilityState === 'visible') reload();
    }, EVENT_POLL_MS);
    return () => window.clearInterval(t);
  }, [status, reload]);
  return event;
}
