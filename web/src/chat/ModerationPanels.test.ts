import { describe, expect, it } from 'vitest';
import type { ModerationAction, ModerationKind } from '../lib/types';
import { standingBans } from './ModerationPanels';

function action(id: string, kind: ModerationKind, target: string | null): ModerationAction {
  return { id, kind, actor_id: 'host', target_user_id: target, target_message_id: null, reason: null, at: null, duration_secs: null, message: null, settings: null };
}

describe('standingBans', () => {
  it('offers an unban only on the newest ban of a user who was not unbanned since', () => {
    // Newest first, as the audit log lists it.
    const log = [
      action('5', 'ban', 'ann'), // ann banned again: stands
      action('4', 'unban', 'ann'),
      action('3', 'ban', 'ann'), // undone by 4
      action('2', 'unban', 'bob'),
      action('1', 'ban', 'bob'), // undone by 2
      action('0', 'ban', 'cy'), // never undone
    ];
    expect([...standingBans(log)].sort()).toEqual(['0', '5']);
  });

  it('ignores other kinds and entries without a target', () => {
    const log = [action('2', 'timeout', 'ann'), action('1', 'ban', null), action('0', 'delete_message', 'ann')];
    expect(standingBans(log).size).toBe(0);
  });
});
