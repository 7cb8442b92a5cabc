import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultStartInput, formatDuration, localInputToRfc3339, rfc3339ToLocalInput, secondsLeft } from './datetime';

describe('datetime-local ⇄ RFC 3339 UTC', () => {
  const original = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'Europe/Berlin';
  });
  afterAll(() => {
    process.env.TZ = original;
  });

  it('converts local wall-clock time to UTC, across daylight saving time', () => {
    expect(localInputToRfc3339('2025-01-15T19:30')).toBe('2025-01-15T18:30:00Z'); // CET, UTC+1
    expect(localInputToRfc3339('2025-07-15T19:30')).toBe('2025-07-15T17:30:00Z'); // CEST, UTC+2
    expect(localInputToRfc3339('2025-12-31T23:59:30')).toBe('2025-12-31T22:59:30Z');
    expect(localInputToRfc3339('2025-01-01T00:15')).toBe('2024-12-31T23:15:00Z');
  });

  it('refuses empty, malformed and impossible values', () => {
    expect(localInputToRfc3339('')).toBeNull();
    expect(localInputToRfc3339('tomorrow')).toBeNull();
    expect(localInputToRfc3339('2025-02-30T10:00')).toBeNull();
    expect(localInputToRfc3339('2025-13-01T10:00')).toBeNull();
  });

  it('shows an API timestamp in the local time zone and round-trips', () => {
    expect(rfc3339ToLocalInput('2025-07-15T17:30:00Z')).toBe('2025-07-15T19:30');
    expect(rfc3339ToLocalInput('2025-07-15T17:30:00.123456Z')).toBe('2025-07-15T19:30');
    expect(localInputToRfc3339(rfc3339ToLocalInput('2025-03-01T08:05:00Z'))).toBe('2025-03-01T08:05:00Z');
    expect(rfc3339ToLocalInput('garbage')).toBe('');
  });

  it('defaults a new event to the next five minutes an hour from now', () => {
    const now = new Date('2025-07-15T17:31:20Z'); // 19:31:20 in Berlin
    expect(defaultStartInput(now)).toBe('2025-07-15T20:35');
  });
});

describe('durations', () => {
  it('formats seconds, minutes and hours', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(60)).toBe('1 min');
    expect(formatDuration(600)).toBe('10 min');
    expect(formatDuration(90)).toBe('1 min 30 s');
    expect(formatDuration(3900)).toBe('1 h 5 min');
  });

  it('counts whole seconds left, never below zero', () => {
    expect(secondsLeft(10_500, 10_000)).toBe(1);
    expect(secondsLeft(15_000, 10_000)).toBe(5);
    expect(secondsLeft(9_000, 10_000)).toBe(0);
    expect(secondsLeft(null, 10_000)).toBe(0);
  });
});
