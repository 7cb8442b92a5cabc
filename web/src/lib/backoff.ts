// Reconnect delays: exponential from `baseMs`, capped at `maxMs`, with optional jitter so many
// clients dropped at once (a gateway restart) do not all come back in the same instant.

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** 0..1: the share of each delay that is randomised. */
  jitter?: number;
  random?: () => number;
}

/** Delay before reconnect attempt `attempt` (1 = the first retry). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const { baseMs = 500, maxMs = 30_000, jitter = 0, random = Math.random } = opts;
  const n = Math.max(1, Math.floor(attempt));
  const exp = Math.min(maxMs, baseMs * 2 ** (n - 1));
  if (jitter <= 0) return exp;
  const spread = exp * Math.min(1, jitter);
  return Math.round(exp - spread + random() * spread);
}

/** The first `count` delays, for display and tests. */
export function backoffSchedule(count: number, opts: BackoffOptions = {}): number[] {
  return Array.from({ length: count }, (_, i) => backoffDelay(i + 1, opts));
}
