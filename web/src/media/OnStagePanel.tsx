// The studio's "On stage" panel (hosts and co-hosts): who is connected to the event's media room,
// what each person broadcasts, and a host's controls: mute someone's microphone, camera or screen
// at the SFU (only they can unmute) and remove someone from the stage (after a confirm step).
// The list is polled while the stage is up and reloaded whenever the SFU tells the studio that
// the room changed (`refreshKey`). Decisions live in lib/stageControl.ts.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Avatar, Empty, ErrorMessage, Loading } from '../components/ui';
import { type ApiClient, errorText } from '../lib/api';
import { type StageRow, mutedText, removedText, stageRows, tracksLine } from '../lib/stageControl';
import type { StageControlParticipant, TrackSource } from '../lib/types';

export const STAGE_POLL_MS = 4000;

interface Props {
  api: ApiClient;
  eventId: string;
  myUserId: string;
  /** Fingerprint of the SFU's last word about the room: the list reloads when it changes. */
  refreshKey?: string;
}

export function OnStagePanel({ api, eventId, myUserId, refreshKey = '' }: Props) {
  const titleId = useId();
  const [list, setList] = useState<StageControlParticipant[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  /** `${userId}:${source}` or `${userId}:remove` while a request runs. */
  const [busy, setBusy] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const removeButtons = useRef(new Map<string, HTMLButtonElement>());
  const seq = useRef(0);

  const load = useCallback(async () => {
    const n = ++seq.current;
    try {
      const r = await api.stageParticipants(eventId);
      if (n !== seq.current) return; // a newer load is on its way
      setList(r.participants);
      setLoadError(null);
    } catch (e) {
      if (n === seq.current) setLoadError(errorText(e));
    }
  }, [api, eventId]);

  useEffect(() => {
    void load();
    const t = window.setInterval(() => void load(), STAGE_POLL_MS);
    return () => window.clearInterval(t);
  }, [load]);

  // The SFU said something changed (someone joined, left, published or muted): look again.
  useEffect(() => {
    if (refreshKey) void load();
  }, [refreshKey, load]);

  async function mute(row: StageRow, source: TrackSource) {
    setBusy(`${row.userId}:${source}`);
    setActionError(null);
    setDone(null);
    try {
      const r = await api.stageMute(eventId, row.userId, source);
      // Show it at once; the reload confirms it.
      setList((l) => l?.map((p) => (p.user_id === row.userId ? { ...p, tracks: p.tracks.map((t) => (t.source === source ? { ...t, muted: true } : t)) } : p)) ?? null);
      setDone(mutedText(row.name, source, r.tracks_muted, row.isMe));
    } catch (e) {
      setActionError(`Could not mute ${row.isMe ? 'your' : `${row.name}’s`} ${source.replace('_', ' ')}: ${errorText(e)}`);
    } finally {
      setBusy(null);
      void load();
    }
  }

  function cancelRemove(userId: string) {
    setConfirming(null);
    setReason('');
    // Back to the button that opened the confirm step.
    window.setTimeout(() => removeButtons.current.get(userId)?.focus(), 0);
  }

  async function remove(row: StageRow) {
    setBusy(`${row.userId}:remove`);
    setActionError(null);
    setDone(null);
    try {
      const r = await api.stageRemove(eventId, row.userId, reason.trim() || undefined);
      setConfirming(null);
      setReason('');
      setList((l) => l?.filter((p) => p.user_id !== row.userId) ?? null);
      setDone(removedText(row.name, r.participants_removed));
    } catch (e) {
      setActionError(`Could not remove ${row.name}: ${errorText(e)}`);
    } finally {
      setBusy(null);
      void load();
    }
  }

  const rows = list ? stageRows(list, myUserId) : null;
  return (
    <section className="card on-stage" aria-labelledby={titleId} data-testid="on-stage">
      <div className="page-head">
        <h2 id={titleId}>On stage</h2>
        <button type="button" className="btn btn-small" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <p className="small muted">Everyone connected to the live video. Only they can unmute what you mute.</p>
      {done && (
        <p className="alert alert-info" role="status">
          {done}
        </p>
      )}
      {actionError && <ErrorMessage message={actionError} />}
      {loadError && <ErrorMessage message={`Could not load who is on stage: ${loadError}`} onRetry={() => void load()} />}
      {rows === null && !loadError && <Loading label="Loading who is on stage…" />}
      {rows?.length === 0 && <Empty>Nobody is connected to the live video yet.</Empty>}
      {rows && rows.length > 0 && (
        <ul className="panel-list stage-people">
          {rows.map((row) => (
            <li key={row.userId} data-testid="stage-person" data-user-id={row.userId} aria-label={row.isMe ? `${row.name} (you)` : row.name}>
              <div className="host-line">
                <Avatar name={row.name} url={null} />
                <strong>{row.name}</strong>
                {row.isMe && <span className="muted small">(you)</span>}
                {row.connections > 1 && <span className="muted small">{row.connections} connections</span>}
              </div>
              <p className="small stage-tracks">{tracksLine(row.tracks)}</p>
              {confirming === row.userId ? (
                <RemoveConfirm
                  name={row.name}
                  reason={reason}
                  onReason={setReason}
                  busy={busy === `${row.userId}:remove`}
                  onConfirm={() => void remove(row)}
                  onCancel={() => cancelRemove(row.userId)}
                />
              ) : (
                (row.mute.length > 0 || row.canRemove) && (
                  <div className="row" role="group" aria-label={`Controls for ${row.isMe ? 'yourself' : row.name}`}>
                    {row.mute.map((b) => (
                      <button
                        key={b.source}
                        type="button"
                        className="btn btn-small"
                        disabled={b.disabled || busy !== null}
                        onClick={() => void mute(row, b.source)}
                        title={b.disabled ? 'Already muted: only they can unmute it' : undefined}
                      >
                        {busy === `${row.userId}:${b.source}` ? 'Muting…' : b.label}
                      </button>
                    ))}
                    {row.canRemove && (
                      <button
                        type="button"
                        className="btn btn-small btn-danger"
                        disabled={busy !== null}
                        ref={(el) => {
                          if (el) removeButtons.current.set(row.userId, el);
                          else removeButtons.current.delete(row.userId);
                        }}
                        onClick={() => {
                          setActionError(null);
                          setDone(null);
                          setReason('');
                          setConfirming(row.userId);
                        }}
                      >
                        Remove from stage
                      </button>
                    )}
                  </div>
                )
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function RemoveConfirm(props: {
  name: string;
  reason: string;
  onReason: (r: string) => void;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <ConfirmDialog
      text={`Remove ${props.name} from the stage? Their video and sound stop for everyone and they are disconnected.`}
      confirmLabel={`Yes, remove ${props.name}`}
      busyLabel="Removing…"
      cancelLabel={`Keep ${props.name} on stage`}
      reason={{ value: props.reason, onChange: props.onReason }}
      busy={props.busy}
      onConfirm={props.onConfirm}
      onCancel={props.onCancel}
    />
  );
}
