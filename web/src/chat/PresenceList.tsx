import { Avatar, RoleBadge } from '../components/ui';
import type { ChatState } from '../lib/chatState';

export function PresenceList({ state }: { state: ChatState }) {
  return (
    <section className="card" aria-labelledby="presence-title">
      <h2 id="presence-title">
        Here now <span className="muted small">({state.viewerCount})</span>
      </h2>
      {!state.ready ? (
        <p className="muted small">Waiting for the chat connection…</p>
      ) : state.users.length === 0 ? (
        <p className="muted small">Nobody else is here yet.</p>
      ) : (
        <ul className="people">
          {state.users.map((u) => (
            <li key={u.user_id}>
              <Avatar name={u.display_name} url={u.avatar_url} />
              <span>
                {u.display_name}
                {u.user_id === state.you?.user_id && <span className="muted"> (you)</span>}
              </span>
              <RoleBadge role={u.role} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
