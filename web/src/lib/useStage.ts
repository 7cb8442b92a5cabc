// Binds the stage view (GET /events/{id}/stage) to React: loads it, applies each `stage` frame of
// the live socket at once and fetches the view again shortly after (lib/stageState.ts), and
// keeps the viewer's own state line ("You're on stage", "You were removed from this event"…).
import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiClient, errorText } from './api';
import type { ConnectionState } from './chatState';
import { type MyStageStatus, StageRefetcher, applyStageChange, myStatusAfter, myStatusFromView, needsReload } from './stageState';
import type { StageChanged, StageView } from './types';
import type { StageFrames } from './useLiveChat';

export interface Stage {
  view: StageView | null;
  error: string | null;
  /** What happened to me lately, for the state line. */
  status: MyStageStatus;
  reload: () => void;
  /** Applies what a change endpoint answered at once (the frame and a reload follow). */
  applied: (r: StageChanged) => void;
  setStatus: (s: MyStageStatus | ((current: MyStageStatus) => MyStageStatus)) => void;
}

export function useStage(
  api: ApiClient,
  eventId: string,
  me: string,
  frames: StageFrames,
  connection: ConnectionState,
  kicks: number,
  enabled = true,
): Stage {
  const [view, setView] = useState<StageView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<MyStageStatus>(null);
  const refetcher = useRef<StageRefetcher | null>(null);

  useEffect(() => {
    setView(null);
    setError(null);
    setStatus(null);
    if (!enabled) return;
    const r = new StageRefetcher(
      () => api.stage(eventId),
      (v) => {
        setView(v);
        setError(null);
        setStatus((s) => myStatusFromView(s, v, me));
      },
      (e) => setError(errorText(e)),
    );
    refetcher.current = r;
    void r.now();
    return () => {
      r.stop();
      refetcher.current = null;
    };
  }, [api, eventId, me, enabled]);

  // A frame: apply it now, reload soon. A (re)connect (last = null): reload, we may have missed some.
  const seen = useRef(frames.seq);
  useEffect(() => {
    if (frames.seq === seen.current) return;
    seen.current = frames.seq;
    const c = frames.last;
    if (c) {
      setView((v) => (v ? applyStageChange(v, c, me) : v));
      setStatus((s) => myStatusAfter(s, c, me));
      if (needsReload(c)) refetcher.current?.poke();
    } else refetcher.current?.poke();
  }, [frames, me]);

  // The socket closing with 4010 or 4003 says it even when the frame before it was missed.
  useEffect(() => {
    if (kicks > 0) setStatus('removed');
  }, [kicks]);
  useEffect(() => {
    if (connection.kind === 'banned') setStatus('banned');
  }, [connection.kind]);

  const reload = useCallback(() => void refetcher.current?.now(), []);
  const applied = useCallback(
    (r: StageChanged) => {
      setView((v) => (v ? applyStageChange(v, r.change, me) : v));
      setStatus((s) => myStatusAfter(s, r.change, me));
      refetcher.current?.poke();
    },
    [me],
  );

  return { view, error, status, reload, applied, setStatus };
}
