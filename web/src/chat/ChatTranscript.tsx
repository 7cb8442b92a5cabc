// The chat of an event that is over: read-only, from the REST history (newest first, paged).
import { useCallback, useEffect, useState } from 'react';
import { Avatar, Empty, ErrorMessage, Loading, RoleBadge } from '../components/ui';
import { errorText, type ApiClient } from '../lib/api';
import { formatTime } from '../lib/datetime';
import type { ChatMessage } from '../lib/types';

export function ChatTranscript({ api, eventId, reason }: { api: ApiClient; eventId: string; reason: string }) {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [before, setBefore] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (cursor: string | null) => {
      setLoading(true);
      setError(null);
      try {
        const page = await api.history(eventId, cursor);
        // Pages come newest first; the pane shows oldest first.
        const older = [...page.messages].reverse();
        setMessages((m) => (cursor ? [...older, ...m] : older));
        setBefore(page.next_before);
        setLoaded(true);
      } catch (e) {
        setError(errorText(e));
      } finally {
        setLoading(false);
      }
    },
    [api, eventId],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section className="chat" aria-labelledby="transcript-title">
      <div className="chat-head">
        <h2 id="transcript-title">Chat</h2>
      </div>
      <p className="chat-banner" role="status">
        {reason}
      </p>
      {error && <ErrorMessage message={error} onRetry={() => void load(loaded ? before : null)} />}
      <ol className="chat-log" aria-label="Chat messages" tabIndex={0}>
        {before && !loading && (
          <li>
            <button type="button" className="btn btn-small" onClick={() => void load(before)}>
              Load earlier messages
            </button>
          </li>
        )}
        {loading && (
          <li>
            <Loading label="Loading the chat…" />
          </li>
        )}
        {loaded && messages.length === 0 && (
          <li>
            <Empty>Nobody chatted during this event.</Empty>
          </li>
        )}
        {messages.map((m) => (
          <li key={m.id} className="chat-msg" data-message-id={m.id}>
            <Avatar name={m.author.display_name} url={m.author.avatar_url} />
            <div>
              <span className="who">{m.author.display_name}</span>
              <RoleBadge role={m.author.role} />{' '}
              <time className="muted small" dateTime={m.sent_at ?? undefined}>
                {formatTime(m.sent_at)}
              </time>
              <div className="text">{m.text}</div>
            </div>
            <span />
          </li>
        ))}
      </ol>
    </section>
  );
}
