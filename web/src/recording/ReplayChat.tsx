// The chat beside a recording, in step with the video: loads the whole replay
// (GET /recordings/{id}/chat, paged) and shows the messages sent up to the video's current time,
// scrolling along while playing and re-filtering after a seek.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { Avatar, Empty, ErrorMessage, Loading } from '../components/ui';
import { type ApiClient, errorText } from '../lib/api';
import { REPLAY_CAP, formatElapsed, loadReplay, visibleReplayCount } from '../lib/recordings';
import type { ReplayMessage } from '../lib/types';

type Loaded = { status: 'loading' } | { status: 'error'; error: string } | { status: 'ready'; messages: ReplayMessage[]; truncated: boolean };

export function ReplayChat({
  api,
  recordingId,
  currentMs,
  seekSeq,
  reloadKey,
  onSeek,
}: {
  api: ApiClient;
  recordingId: string;
  /** The video's position. */
  currentMs: number;
  /** Grows with each seek: the list jumps to the new position. */
  seekSeq: number;
  /** Changes when the replay should be read again (the recording moved on). */
  reloadKey: string;
  onSeek: (ms: number) => void;
}) {
  const [loaded, setLoaded] = useState<Loaded>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const list = useRef<HTMLOListElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    let live = true;
    setLoaded((l) => (l.status === 'ready' ? l : { status: 'loading' }));
    loadReplay((from, limit) => api.recordingChat(recordingId, from, limit).then((p) => (Array.isArray(p?.messages) ? p.messages : [])))
      .then((r) => live && setLoaded({ status: 'ready', ...r }))
      .catch((e: unknown) => live && setLoaded((l) => (l.status === 'ready' ? l : { status: 'error', error: errorText(e) })));
    return () => {
      live = false;
    };
  }, [api, recordingId, reloadKey, attempt]);

  const messages = loaded.status === 'ready' ? loaded.messages : [];
  const count = visibleReplayCount(messages, currentMs);

  // A seek jumps to the new position whatever the reader had scrolled to.
  useEffect(() => {
    stick.current = true;
  }, [seekSeq]);

  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [count, seekSeq]);

  const onScroll = () => {
    const el = list.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  };

  return (
    <section className="chat replay" aria-labelledby="replay-title">
      <div className="chat-head">
        <h2 id="replay-title">Chat replay</h2>
        {loaded.status === 'ready' && (
          <span className="muted small" aria-live="polite">
            {count} of {messages.length}
          </span>
        )}
      </div>
      {loaded.status === 'ready' && loaded.truncated && (
        <p className="chat-banner">Showing the first {REPLAY_CAP.toLocaleString()} messages of this chat.</p>
      )}
      {loaded.status === 'error' && <ErrorMessage message={loaded.error} onRetry={() => setAttempt((n) => n + 1)} />}
      <ol className="chat-log" aria-label="Chat replay messages" tabIndex={0} ref={list} onScroll={onScroll}>
        {loaded.status === 'loading' && (
          <li>
            <Loading label="Loading the chat…" />
          </li>
        )}
        {loaded.status === 'ready' && messages.length === 0 && (
          <li>
            <Empty>Nobody chatted during this recording.</Empty>
          </li>
        )}
        {loaded.status === 'ready' && messages.length > 0 && count === 0 && (
          <li className="chat-notice">Messages appear here as the video reaches them.</li>
        )}
        {messages.slice(0, count).map((m) => (
          <li key={m.message_id} className="chat-msg" data-testid="replay-message" data-offset-ms={m.offset_ms} data-message-id={m.message_id}>
            <Avatar name={m.display_name} url={null} />
            <div>
              <span className="who">{m.display_name}</span>
              <div className="text">{m.text}</div>
            </div>
            <button
              type="button"
              className="btn-link small mono replay-time"
              onClick={() => onSeek(m.offset_ms)}
              aria-label={`Play from ${formatElapsed(m.offset_ms)}`}
            >
              {formatElapsed(m.offset_ms)}
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
