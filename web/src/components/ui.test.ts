import { describe, expect, it } from 'vitest';
import { initials } from './ui';

describe('avatar initials', () => {
  it('takes the first letters of the first and last words', () => {
    expect(initials('Ada Lovelace')).toBe('AL');
    expect(initials('ada')).toBe('AD');
    expect(initials('Zoë Ünal ✨')).toBe('ZÜ');
    expect(initials('✨')).toBe('?');
    expect(initials('  ')).toBe('?');
  });
});
