// Which camera and microphone the studio captures, as pure decisions (tested in
// devices.test.ts): the choices offered from the browser's device list, and the constraints that
// capture the chosen one.

export type PickableKind = 'camera' | 'mic';

export interface DeviceChoice {
  id: string;
  label: string;
}

/** What `navigator.mediaDevices.enumerateDevices()` gives, as far as the choice needs it. */
export interface DeviceEntry {
  kind: string;
  deviceId: string;
  label: string;
}

const BROWSER_KIND: Record<PickableKind, string> = { camera: 'videoinput', mic: 'audioinput' };
const FALLBACK: Record<PickableKind, string> = { camera: 'Camera', mic: 'Microphone' };

/** The devices of `kind` to choose from, in the browser's order. Browsers hide labels until the
 * page may capture, and list a "default" alias of a real microphone: a nameless device gets a
 * numbered name, and the alias is left out when the device it stands for is listed too. */
export function deviceChoices(devices: readonly DeviceEntry[], kind: PickableKind): DeviceChoice[] {
  const ofKind = devices.filter((d) => d.kind === BROWSER_KIND[kind] && d.deviceId !== '');
  const real = ofKind.filter((d) => d.deviceId !== 'default' && d.deviceId !== 'communications');
  const list = real.length > 0 ? real : ofKind;
  const seen = new Set<string>();
  const out: DeviceChoice[] = [];
  for (const d of list) {
    if (seen.has(d.deviceId)) continue;
    seen.add(d.deviceId);
    out.push({ id: d.deviceId, label: d.label.trim() || `${FALLBACK[kind]} ${out.length + 1}` });
  }
  return out;
}

/** getUserMedia constraints for `kind`, on the chosen device when there is one. `exact`: a
 * camera that went away must fail with a message, not silently capture another one. */
export function captureConstraints(kind: PickableKind, deviceId: string | null): MediaStreamConstraints {
  const device = deviceId ? { deviceId: { exact: deviceId } } : {};
  if (kind === 'camera') return { video: { width: 1280, height: 720, ...device }, audio: false };
  return { audio: deviceId ? device : true, video: false };
}

/** The device a running track captures from (what the picker shows as chosen). */
export function trackDeviceId(track: { getSettings?: () => { deviceId?: string } } | undefined): string | null {
  return track?.getSettings?.().deviceId ?? null;
}
