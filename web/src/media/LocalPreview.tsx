// The studio's device controls and local preview: camera, microphone and screen (captured by
// useLocalMedia, which the studio shares with MediaStage to broadcast the same tracks).
import { useEffect, useRef, useState } from 'react';
import type { PickableKind } from '../lib/devices';
import { type DeviceKind, DEVICE_LABEL as LABEL, type LocalMedia } from './useLocalMedia';

function VideoPreview({ stream, label }: { stream: MediaStream; label: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.srcObject = stream;
  }, [stream]);
  return (
    <div className="preview">
      <video ref={ref} autoPlay muted playsInline aria-label={`${label} preview`} />
      <span className="label">{label}</span>
    </div>
  );
}

export function MicMeter({ stream }: { stream: MediaStream }) {
  const [level, setLevel] = useState(0);
  useEffect(() => {
    const Ctx = window.AudioContext;
    if (!Ctx) return;
    const ctx = new Ctx();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const data = new Uint8Array(analyser.fftSize);
    let raf = 0;
    const tick = () => {
      analyser.getByteTimeDomainData(data);
      let peak = 0;
      for (const v of data) peak = Math.max(peak, Math.abs(v - 128));
      setLevel(Math.min(1, peak / 64));
      raf = requestAnimationFrame(tick);
    };
    tick();
    return () => {
      cancelAnimationFrame(raf);
      void ctx.close();
    };
  }, [stream]);
  return (
    <div>
      <span className="small muted">Microphone level</span>
      <div className="meter" role="meter" aria-label="Microphone level" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(level * 100)}>
        <span style={{ width: `${Math.round(level * 100)}%` }} />
      </div>
    </div>
  );
}

/** Which camera or microphone to capture from; shown when there is more than one. Switching
 * while on swaps the device without stopping the broadcast. */
function DevicePicker({ media, kind }: { media: LocalMedia; kind: PickableKind }) {
  const choices = media.devices[kind];
  if (choices.length < 2) return null;
  const chosen = media.chosen[kind];
  const value = choices.some((c) => c.id === chosen) ? chosen! : '';
  return (
    <label className="small">
      {LABEL[kind]}{' '}
      <select aria-label={`${LABEL[kind]} device`} value={value} disabled={media.busy === kind} onChange={(e) => void media.choose(kind, e.target.value)}>
        {value === '' && <option value="">Browser default</option>}
        {choices.map((c) => (
          <option key={c.id} value={c.id}>
            {c.label}
          </option>
        ))}
      </select>
    </label>
  );
}

const ALL_KINDS: readonly DeviceKind[] = ['camera', 'mic', 'screen'];

export function LocalPreview({
  media,
  broadcasting,
  kinds = ALL_KINDS,
  backstage = false,
}: {
  media: LocalMedia;
  /** What is on is sent to the stage. */
  broadcasting: boolean;
  /** In the green room: what is on reaches only the host, co-hosts, moderators and the backstage. */
  backstage?: boolean;
  /** The devices offered (speakers broadcast a camera and microphone, not a screen). */
  kinds?: readonly DeviceKind[];
}) {
  const { streams, busy, error, toggle } = media;
  return (
    <section className="card" aria-labelledby="preview-title">
      <h2 id="preview-title">Devices</h2>
      {broadcasting && backstage ? (
        <p className="alert alert-info backstage-note" role="note" data-testid="backstage-note">
          You're backstage: only the host and the backstage (co-hosts, moderators and other guests waiting) can see and hear you until the host brings you
          on air. The audience cannot see or hear you yet.
        </p>
      ) : (
        <p className="muted small">
          {broadcasting
            ? 'What you turn on here is broadcast to everyone watching.'
            : 'Preview only: nothing is broadcast while the event is not open.'}
        </p>
      )}
      <div className="row" role="group" aria-label="Device toggles">
        {kinds.map((k) => (
          <button key={k} type="button" className="btn" aria-pressed={!!streams[k]} disabled={busy === k} onClick={() => toggle(k)}>
            {busy === k ? `Starting ${LABEL[k].toLowerCase()}…` : `${LABEL[k]} ${streams[k] ? 'on' : 'off'}`}
          </button>
        ))}
      </div>
      {(media.devices.camera.length > 1 || media.devices.mic.length > 1) && (
        <div className="row" role="group" aria-label="Device choice">
          <DevicePicker media={media} kind="camera" />
          <DevicePicker media={media} kind="mic" />
        </div>
      )}
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
      {(streams.camera || streams.screen) && (
        <div className="previews">
          {streams.camera && <VideoPreview stream={streams.camera} label="Camera" />}
          {streams.screen && <VideoPreview stream={streams.screen} label="Screen" />}
        </div>
      )}
      {streams.mic && <MicMeter stream={streams.mic} />}
    </section>
  );
}
