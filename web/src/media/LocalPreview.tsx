// Local device preview for the studio: camera, microphone and screen captured in the browser
// and shown only here (nothing is sent anywhere). The media service will publish these tracks.
import { useEffect, useRef, useState } from 'react';

type Kind = 'camera' | 'mic' | 'screen';

const LABEL: Record<Kind, string> = { camera: 'Camera', mic: 'Microphone', screen: 'Screen' };

function describe(kind: Kind, e: unknown): string {
  const name = (e as DOMException)?.name;
  if (name === 'NotAllowedError') return `${LABEL[kind]} access was blocked. Allow it in your browser's site settings, then try again.`;
  if (name === 'NotFoundError') return `No ${LABEL[kind].toLowerCase()} was found. Connect one, then try again.`;
  if (name === 'NotReadableError') return `The ${LABEL[kind].toLowerCase()} is in use by another app. Close it, then try again.`;
  if (!navigator.mediaDevices) return 'This browser cannot capture media here. Use a current browser over HTTPS.';
  return `Could not start the ${LABEL[kind].toLowerCase()}. Try again.`;
}

function capture(kind: Kind): Promise<MediaStream> {
  const md = navigator.mediaDevices;
  if (!md) return Promise.reject(new Error('no mediaDevices'));
  if (kind === 'screen') return md.getDisplayMedia({ video: true, audio: false });
  return md.getUserMedia(kind === 'camera' ? { video: { width: 1280, height: 720 }, audio: false } : { audio: true, video: false });
}

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

function MicMeter({ stream }: { stream: MediaStream }) {
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

export function LocalPreview() {
  const [streams, setStreams] = useState<Partial<Record<Kind, MediaStream>>>({});
  const [busy, setBusy] = useState<Kind | null>(null);
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

  async function toggle(kind: Kind) {
    setError(null);
    const current = streams[kind];
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
      setError(describe(kind, e));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="card" aria-labelledby="preview-title">
      <h2 id="preview-title">Devices</h2>
      <p className="muted small">Preview only: nothing is broadcast until the media service is available.</p>
      <div className="row" role="group" aria-label="Device toggles">
        {(['camera', 'mic', 'screen'] as const).map((k) => (
          <button key={k} type="button" className="btn" aria-pressed={!!streams[k]} disabled={busy === k} onClick={() => toggle(k)}>
            {busy === k ? `Starting ${LABEL[k].toLowerCase()}…` : `${LABEL[k]} ${streams[k] ? 'on' : 'off'}`}
          </button>
        ))}
      </div>
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
