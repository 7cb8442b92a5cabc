import { type DependencyList, useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from './api';

/** Re-renders every `ms` while `active`, returning the current time. */
export function useNow(ms = 1000, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const id = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(id);
  }, [ms, active]);
  return now;
}

export type AsyncState<T> =
  | { status: 'loading' }
  | { status: 'error'; error: string; code?: string; /** Trying again may help (network, 5xx, 429). */ retryable: boolean }
  | { status: 'ready'; data: T };

export function isRetryableError(e: unknown): boolean {
  const status = (e as { status?: number })?.status;
  return typeof status !== 'number' || status === 0 || status === 429 || status >= 500;
}

/** Loads data, with loading / error / ready states and a reload(). Stale answers are ignored. */
export function useAsync<T>(load: () => Promise<T>, deps: DependencyList): AsyncState<T> & { reload: () => void; set: (data: T) => void } {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' });
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    setState((s) => (s.status === 'ready' && nonce > 0 ? s : { status: 'loading' }));
    loadRef.current().then(
      (data) => live && setState({ status: 'ready', data }),
      (e: unknown) =>
        // A failed background reload keeps what is on screen (the next one may succeed).
        live && setState((s) => (s.status === 'ready' && nonce > 0 ? s : { status: 'error', error: errorText(e), code: (e as { code?: string })?.code, retryable: isRetryableError(e) })),
    );
    return () => {
      live = false;
    };
  }, [...deps, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const set = useCallback((data: T) => setState({ status: 'ready', data }), []);
  return { ...state, reload, set };
}

/** Runs an action with a busy flag and an error message for the user. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(errorText(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

export function usePageTitle(title: string | null | undefined) {
  useEffect(() => {
    document.title = title ? `${title} · stagecast` : 'stagecast';
  }, [title]);
}
