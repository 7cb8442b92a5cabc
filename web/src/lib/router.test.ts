import { describe, expect, it } from 'vitest';
import { matchPath, safeNext } from './router';

describe('matchPath', () => {
  it('matches literal segments and captures params', () => {
    expect(matchPath('/events/:id/studio', '/events/abc-1/studio')).toEqual({ id: 'abc-1' });
    expect(matchPath('/events/:id', '/events/abc-1/')).toEqual({ id: 'abc-1' });
    expect(matchPath('/', '/')).toEqual({});
  });

  it('refuses other shapes', () => {
    expect(matchPath('/events/:id', '/events/abc/studio')).toBeNull();
    expect(matchPath('/events/:id/edit', '/events/abc/studio')).toBeNull();
    expect(matchPath('/events/:id', '/events/%E0%A4%A')).toBeNull();
  });
});

describe('safeNext', () => {
  it('keeps same-site paths and refuses other sites', () => {
    expect(safeNext('/events/1?x=2')).toBe('/events/1?x=2');
    expect(safeNext('//evil.example/x')).toBe('/');
    expect(safeNext('/\\evil.example')).toBe('/');
    expect(safeNext('https://evil.example')).toBe('/');
    expect(safeNext(null)).toBe('/');
  });
});
