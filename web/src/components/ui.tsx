// Small building blocks used by every page: feedback states, badges, avatars.
import { type ReactNode, useState } from 'react';
import type { ChatRole, EventStatus } from '../lib/types';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      {label}
    </div>
  );
}

/** An error for the user: the server's `detail`, plus an optional way out. */
export function ErrorMessage({ message, onRetry, retryLabel = 'Try again' }: { message: string; onRetry?: () => void; retryLabel?: string }) {
  return (
    <div className="alert" role="alert">
      {message}
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          {retryLabel}
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

const STATUS_LABEL: Record<EventStatus, string> = { scheduled: 'Upcoming', live: 'Live', ended: 'Ended', cancelled: 'Cancelled' };

export function StatusBadge({ status }: { status: EventStatus }) {
  return (
    <span className={status === 'live' ? 'badge badge-live' : 'badge'} data-status={status}>
      {STATUS_LABEL[status]}
    </span>
  );
}

const ROLE_LABEL: Record<ChatRole, string> = { host: 'Host', cohost: 'Co-host', moderator: 'Mod', speaker: 'Speaker', viewer: '' };

export function RoleBadge({ role }: { role: ChatRole }) {
  const label = ROLE_LABEL[role];
  return label ? <span className="badge badge-role">{label}</span> : null;
}

/** Up to two initials from the words that start with a letter or digit ("Ada Lovelace" → "AL"). */
export function initials(name: string): string {
  const words = name
    .trim()
    .split(/\s+/)
    .map((w) => Array.from(w))
    .filter((w) => w.length > 0 && /[\p{L}\p{N}]/u.test(w[0]));
  if (words.length === 0) return '?';
  const first = words[0];
  const letters = words.length > 1 ? [first[0], words[words.length - 1][0]] : first.slice(0, 2);
  return letters.join('').toUpperCase();
}

/** A round avatar; falls back to initials when there is no image or it fails to load.
 * Decorative (alt=""): the name is always written next to it. */
export function Avatar({ name, url, size = 28 }: { name: string; url: string | null | undefined; size?: number }) {
  const [failed, setFailed] = useState<string | null>(null);
  const style = { width: size, height: size, fontSize: Math.max(10, size * 0.4) };
  if (url && failed !== url) {
    return <img className="avatar" src={url} alt="" style={style} onError={() => setFailed(url)} referrerPolicy="no-referrer" />;
  }
  return (
    <span className="avatar" style={style} aria-hidden="true">
      {initials(name)}
    </span>
  );
}
