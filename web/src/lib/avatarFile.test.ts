import { describe, expect, it } from 'vitest';
import { AVATAR_MAX_BYTES, checkAvatarFile, formatSize, sniffAvatarType } from './avatarFile';

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
const webp = new TextEncoder().encode('RIFF\x24\0\0\0WEBP');
const gif = new TextEncoder().encode('GIF89a\x01\0\x01\0\0\0');
const wav = new TextEncoder().encode('RIFF\x24\0\0\0WAVE');

describe('sniffAvatarType', () => {
  it('recognises PNG, JPEG and WebP by their first bytes', () => {
    expect(sniffAvatarType(png)).toBe('image/png');
    expect(sniffAvatarType(jpeg)).toBe('image/jpeg');
    expect(sniffAvatarType(webp)).toBe('image/webp');
  });

  it('refuses other formats, other RIFF files and short input', () => {
    expect(sniffAvatarType(gif)).toBeNull();
    expect(sniffAvatarType(wav)).toBeNull();
    expect(sniffAvatarType(new Uint8Array([0x89, 0x50]))).toBeNull();
    expect(sniffAvatarType(new Uint8Array())).toBeNull();
  });
});

describe('checkAvatarFile', () => {
  it('accepts an image up to exactly 2 MiB and reports its real type', () => {
    expect(checkAvatarFile({ name: 'me.png', size: AVATAR_MAX_BYTES }, png)).toEqual({ ok: true, type: 'image/png' });
    // The name says PNG, the bytes say JPEG: the bytes win.
    expect(checkAvatarFile({ name: 'me.png', size: 100 }, jpeg)).toEqual({ ok: true, type: 'image/jpeg' });
  });

  it('refuses a file over 2 MiB and says how big it is', () => {
    const r = checkAvatarFile({ name: 'huge.jpg', size: AVATAR_MAX_BYTES + 1 }, jpeg);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/2\.0 MB; photos can be at most 2 MB/);
  });

  it('refuses an empty file and a file that is not a supported image, naming it', () => {
    const empty = checkAvatarFile({ name: 'blank.png', size: 0 }, new Uint8Array());
    expect(empty.ok).toBe(false);
    const r = checkAvatarFile({ name: 'cat.gif', size: 500 }, gif);
    expect(r).toEqual({ ok: false, message: '“cat.gif” is not a PNG, JPEG or WebP image. Choose one of those.' });
  });
});

describe('formatSize', () => {
  it('uses bytes, KB or MB as fits', () => {
    expect(formatSize(12)).toBe('12 bytes');
    expect(formatSize(2048)).toBe('2 KB');
    expect(formatSize(3 * 1024 * 1024 + 300_000)).toBe('3.3 MB');
  });
});
