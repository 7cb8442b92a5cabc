// Checks a chosen avatar file before it is uploaded, so the common mistakes (too big, not an
// image we take) get a clear message at once instead of after a 2 MiB upload. The gateway
// checks the same things again; these are a courtesy, not the gate.

/** The largest avatar the gateway accepts (PUT /api/v1/me/avatar). */
export const AVATAR_MAX_BYTES = 2 * 1024 * 1024;

export type AvatarType = 'image/png' | 'image/jpeg' | 'image/webp';

/** For `<input type="file" accept>`. */
export const AVATAR_ACCEPT = 'image/png,image/jpeg,image/webp';

/** The image type from a file's first bytes (at least 12 of them), or null if it is not one we take. */
export function sniffAvatarType(head: Uint8Array): AvatarType | null {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => head[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  // "RIFF" .... "WEBP"
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  return null;
}

/** "1.4 MB", "820 KB", "12 bytes". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export type AvatarCheck = { ok: true; type: AvatarType } | { ok: false; message: string };

/**
 * Whether a file can be uploaded as an avatar: its size, and its type from its first bytes
 * (the browser's `file.type` comes from the name and may be empty or wrong).
 */
export function checkAvatarFile(file: { name: string; size: number }, head: Uint8Array): AvatarCheck {
  if (file.size === 0) return { ok: false, message: `“${file.name}” is empty. Choose a PNG, JPEG or WebP image.` };
  if (file.size > AVATAR_MAX_BYTES) {
    return {
      ok: false,
      message: `“${file.name}” is ${formatSize(file.size)}; photos can be at most 2 MB. Choose a smaller image or shrink this one.`,
    };
  }
  const type = sniffAvatarType(head);
  if (!type) return { ok: false, message: `“${file.name}” is not a PNG, JPEG or WebP image. Choose one of those.` };
  return { ok: true, type };
}

/** Reads what {@link checkAvatarFile} needs from a File and checks it. */
export async function readAndCheckAvatarFile(file: File): Promise<AvatarCheck> {
  const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  return checkAvatarFile(file, head);
}
