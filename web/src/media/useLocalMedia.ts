// The studio's capture devices: camera, microphone and screen, each on or off. Lifted out of
// LocalPreview so the studio can both preview them (LocalPreview) and broadcast them (MediaStage).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
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

function capture(kind: DeviceKind): Promise<MediaStream> {
  const md = navigator.mediaDevices;
  if (!md) return Promise.reject(new Error('no mediaDevices'));
  if (kind === 'screen') return md.getDisplayMedia({ video: true, audio: false });
  return md.getUserMedia(kind === 'camera' ? { video: { width: 1280, height: 720 }, audio: false } : { audio: true, video: false });
}

export type DeviceStreams = Partial<Record<DeviceKind, MediaStream>>;

export interface LocalMedia {
  streams: DeviceStreams;
  busy: DeviceKind | null;
  error: string | null;
  toggle: (kind: DeviceKind) => Promise<void>;
  /** The tracks to broadcast, by SFU source (a new object only when a track changes). */
  tracks: Partial<Record<TrackSource, MediaStreamTrack>>;
}

export function useLocalMedia(): LocalMedia {
  const [streams, setStreams] = useState<DeviceStreams>({});
  const [busy, setBusy] = useState<DeviceKind | null>(null);
  const [error, setError] = useState<string | null>(null);
  const live = useRef(streams);
  live.current = streams;

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
      const stream = await capture(kind);
      // The browser's own "Stop sharing" button ends the screen track.
      stream.getTracks().forEach((t) => t.addEventListener('ended', () => setStreams((s) => (s[kind] === stream ? { ...s, [kind]: undefined } : s))));
      setStreams((s) => ({ ...s, [kind]: stream }));
    } catch (e) {
      setError(describeCaptureError(kind, e));
    } finally {
      setBusy(null);
    }
  }, []);

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

  return { streams, busy, error, toggle, tracks };
}
