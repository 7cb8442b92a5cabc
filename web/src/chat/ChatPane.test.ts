import { describe, expect, it } from 'vitest';
import { cleanMessage } from './ChatPane';

describe('cleanMessage', () => {
  it('turns control characters into spaces and trims', () => {
    expect(cleanMessage('  hello\tthere\r\nfriend \u0085 ')).toBe('hello there friend');
    expect(cleanMessage('\n\t')).toBe('');
    expect(cleanMessage('Café ✓')).toBe('Café ✓');
  });
});
