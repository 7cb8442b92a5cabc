import { describe, expect, it } from 'vitest';
import { backoffDelay, backoffSchedule } from './backoff';

describe('reconnect backoff', () => {
  it('doubles from 500 ms and is capped at 30 s', () => {
    expect(backoffSchedule(9)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('treats attempts below one as the first', () => {
    expect(backoffDelay(0)).toBe(500);
    expect(backoffDelay(-3)).toBe(500);
  });

  it('jitters within the configured share of each delay', () => {
    expect(backoffDelay(3, { jitter: 0.5, random: () => 0 })).toBe(1000);
    expect(backoffDelay(3, { jitter: 0.5, random: () => 1 })).toBe(2000);
    expect(backoffDelay(20, { jitter: 0.2, random: () => 0.5 })).toBe(27000);
  });

  it('accepts its own base and cap', () => {
    expect(backoffSchedule(4, { baseMs: 100, maxMs: 350 })).toEqual([100, 200, 350, 350]);
  });
});
