// The studio's capture devices: camera, microphone and screen, each on or off. Lifted out of
// LocalPreview so the studio can both preview them (LocalPreview) and broadcast them (MediaStage).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { captureConstraints, type DeviceChoice, deviceChoices, type PickableKind, trackDeviceId } from '../lib/devices';
import type { TrackSource } from '../lib/types';

export type DeviceKind = 'camera' | 'mic' | 'screen';

export const DEVICE_LABEL: Record<DeviceKind, string> = { camera: 'Camera', mic: 'Microphone', screen: 'Screen' };

export function describeCaptureError(kind: DeviceKind, e: unknown): string {
  const name = (e as DOMException)?.name;
  const label = DEVICE_LABEL[kind];
  if (name === 'NotAllowedError') return `${label} access was blocked. Allow it in your browser's site settings, then try again.`;
  if (name === 'NotFoundError') return `No ${label.toLowerCase()} was found. Connect one, then try again.`;
  if (name === 'NotReadableError') return `The ${label.toLowerCase()} is in use by another app. Close it, then try again.`;
  if (!navigator.mediaDevices) return 'This browser cannot capture media here. Use a current browser over HTTPS.';
  return `Could not start the ${label.toLowerCase()}. Try again.`;
}

function capture(kind: DeviceKind, deviceId: string | null = null): Promise<MediaStream> {
  const md = navigator.mediaDevices;
  if (!md) return Promise.reject(new Error('no mediaDevices'));
  // Audio too: a shared tab's (or, where the system allows, the screen's) sound goes out as
  // "screen audio"; the browser asks, and the stream simply has no audio track if declined.
  if (kind === 'screen') return md.getDisplayMedia({ video: true, audio: true });
  return md.getUserMedia(captureConstraints(kind, deviceId));
}

/** Captures `kind` and makes it the device's stream. The browser's own "Stop sharing" button (or
 * an unplugged camera) ends a track: the device then shows as off. */
async function start(kind: DeviceKind, deviceId: string | null, setStreams: (f: (s: DeviceStreams) => DeviceStreams) => void) {
  const stream = await capture(kind, deviceId);
  stream.getTracks().forEach((t) => t.addEventListener('ended', () => setStreams((s) => (s[kind] === stream ? { ...s, [kind]: undefined } : s))));
  setStreams((s) => ({ ...s, [kind]: stream }));
}

async function listDevices(): Promise<Record<PickableKind, DeviceChoice[]>> {
  const all = (await navigator.mediaDevices?.enumerateDevices?.().catch(() => [])) ?? [];
  return { camera: deviceChoices(all, 'camera'), mic: deviceChoices(all, 'mic') };
}

export type DeviceStreams = Partial<Record<DeviceKind, MediaStream>>;

export interface LocalMedia {
  streams: DeviceStreams;
  busy: DeviceKind | null;
  error: string | null;
  toggle: (kind: DeviceKind) => Promise<void>;
  /** The cameras and microphones to choose from (names appear once capture is allowed). */
  devices: Record<PickableKind, DeviceChoice[]>;
  /** The device each kind captures from, or will when turned on (null: the browser's default). */
  chosen: Record<PickableKind, string | null>;
  /** Captures `kind` from another device; if it is on, the new one replaces it without a gap in
   * the broadcast (the old one stops only once the new one runs). */
  choose: (kind: PickableKind, deviceId: string) => Promise<void>;
  /** The tracks to broadcast, by SFU source (a new object only when a track changes). */
  tracks: Partial<Record<TrackSource, MediaStreamTrack>>;
}

export function useLocalMedia(): LocalMedia {
  const [streams, setStreams] = useState<DeviceStreams>({});
  const [busy, setBusy] = useState<DeviceKind | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [devices, setDevices] = useState<Record<PickableKind, DeviceChoice[]>>({ camera: [], mic: [] });
  const [picked, setPicked] = useState<Record<PickableKind, string | null>>({ camera: null, mic: null });
  const live = useRef(streams);
  live.current = streams;
  const pickedRef = useRef(picked);
  pickedRef.current = picked;

  const refreshDevices = useCallback(() => {
    void listDevices().then(setDevices);
  }, []);

  // Devices come and go (a headset plugged in); names appear once capture is allowed.
  useEffect(() => {
    const md = navigator.mediaDevices;
    refreshDevices();
    md?.addEventListener?.('devicechange', refreshDevices);
    return () => md?.removeEventListener?.('devicechange', refreshDevices);
  }, [refreshDevices]);

  // Release every device when leaving the studio.
  useEffect(
    () => () => {
      for (const s of Object.values(live.current)) s?.getTracks().forEach((t) => t.stop());
    },
    [],
  );

  const toggle = useCallback(async (kind: DeviceKind) => {
    setError(null);
    const current = live.current[kind];
    if (current) {
      current.getTracks().forEach((t) => t.stop());
      setStreams((s) => ({ ...s, [kind]: undefined }));
      return;
    }
    setBusy(kind);
    try {
      await start(kind, kind === 'screen' ? null : pickedRef.current[kind], setStreams);
      if (kind !== 'screen') refreshDevices();
    } catch (e) {
      setError(describeCaptureError(kind, e));
    } finally {
      setBusy(null);
    }
  }, [refreshDevices]);

  const choose = useCallback(
    async (kind: PickableKind, deviceId: string) => {
      setError(null);
      setPicked((p) => ({ ...p, [kind]: deviceId }));
      const current = live.current[kind];
      if (!current) return;
      setBusy(kind);
      try {
        await start(kind, deviceId, setStreams);
        current.getTracks().forEach((t) => t.stop());
      } catch (e) {
        // The device in use keeps running; say why the other one could not start.
        setPicked((p) => ({ ...p, [kind]: trackDeviceId(current.getTracks()[0]) }));
        setError(describeCaptureError(kind, e));
      } finally {
        setBusy(null);
      }
    },
    [],
  );

  const camera = streams.camera?.getVideoTracks()[0];
  const microphone = streams.mic?.getAudioTracks()[0];
  const screen = streams.screen?.getVideoTracks()[0];
  const screenAudio = streams.screen?.getAudioTracks()[0];
  const tracks = useMemo(() => {
    const t: Partial<Record<TrackSource, MediaStreamTrack>> = {};
    if (camera) t.camera = camera;
    if (microphone) t.microphone = microphone;
    if (screen) t.screen = screen;
    if (screenAudio) t.screen_audio = screenAudio;
    return t;
  }, [camera, microphone, screen, screenAudio]);

  const chosen = useMemo(
    () => ({
      camera: trackDeviceId(camera) ?? picked.camera,
      mic: trackDeviceId(microphone) ?? picked.mic,
    }),
    [camera, microphone, picked],
  );

  return { streams, busy, error, toggle, tracks, devices, chosen, choose };
}
