import { describe, expect, it } from 'vitest';
import { eventChanges, parseIds } from './eventInput';
import type { StageEvent } from './types';

const event: StageEvent = {
  id: 'e1',
  title: 'Launch',
  description: 'Big day',
  starts_at: '2030-01-01T10:00:00Z',
  cover_url: null,
  status: 'scheduled',
  host_id: 'h',
  cohost_ids: ['a', 'b'],
  created_at: '2029-01-01T00:00:00Z',
  updated_at: '2029-01-01T00:00:00Z',
  went_live_at: null,
  ended_at: null,
  cancelled_at: null,
};

describe('event form input', () => {
  it('parses co-host ids from commas, spaces and lines', () => {
    expect(parseIds(' a, b\nc  d,,\n')).toEqual(['a', 'b', 'c', 'd']);
    expect(parseIds('')).toEqual([]);
  });

  it('sends only the given optional fields for a new event', () => {
    expect(eventChanges(undefined, { title: 'T', description: '', starts_at: '2030-01-01T10:00:00Z', cover_url: '', cohost_ids: [] })).toEqual({
      title: 'T',
      starts_at: '2030-01-01T10:00:00Z',
    });
  });

  it('sends only what changed when editing', () => {
    const same = { title: 'Launch', description: 'Big day', starts_at: '2030-01-01T10:00:00.000Z', cover_url: '', cohost_ids: ['b', 'a'] };
    expect(eventChanges(event, same)).toEqual({});
    expect(eventChanges(event, { ...same, title: 'Launch 2', cohost_ids: ['a'] })).toEqual({ title: 'Launch 2', cohost_ids: ['a'] });
    expect(eventChanges(event, { ...same, starts_at: '2030-01-01T11:00:00Z', cover_url: 'https://img.example/c.png' })).toEqual({
      starts_at: '2030-01-01T11:00:00Z',
      cover_url: 'https://img.example/c.png',
    });
    // A locked start time is passed as null (or '') and never sent.
    expect(eventChanges({ ...event, status: 'live' }, { ...same, starts_at: null })).toEqual({});
    expect(eventChanges({ ...event, status: 'live' }, { ...same, starts_at: '' })).toEqual({});
  });

  it('never sends a field passed as null (PATCH leaves it as it is), but sends an empty cover to remove it', () => {
    const none = { title: null, description: null, starts_at: null, cover_url: null, cohost_ids: null };
    expect(eventChanges(event, none)).toEqual({});
    expect(eventChanges(undefined, none)).toEqual({});
    // A co-host cannot change the co-hosts: the form passes null.
    expect(eventChanges(event, { ...none, title: 'Launch 2' })).toEqual({ title: 'Launch 2' });
    expect(eventChanges({ ...event, cover_url: 'https://img.example/c.png' }, { ...none, cover_url: '' })).toEqual({ cover_url: '' });
    expect(eventChanges(event, { ...none, cohost_ids: [] })).toEqual({ cohost_ids: [] });
  });
});
