// Plays a recording's HLS playlist. hls.js (Media Source Extensions) is preferred: every playlist
// and segment request carries `Authorization: Bearer` with a fresh access token, as the REST
// client does. Where MSE is missing (iPhone Safari) the <video> plays HLS itself, with the token
// in the query (`?access_token=`), since a <video> cannot send headers. hls.js is loaded on first
// use (its own chunk), so the rest of the app does not carry it.
import type { ErrorData, default as HlsClass } from 'hls.js';
import { useEffect, useRef, useState } from 'react';
import { ErrorMessage } from '../components/ui';
import type { ApiClient } from '../lib/api';
import { withAccessToken } from '../lib/recordings';

const HLS_TYPE = 'application/vnd.apple.mpegurl';

function fatalText(data: ErrorData): string {
  const code = (data.response as { code?: number } | undefined)?.code;
  if (code === 401 || code === 403) return "The video could not be loaded: you can't watch this recording (any more). Reload the page to check.";
  if (code === 404) return 'The video could not be loaded: its files were not found. The recording may have been deleted; reload the page to check.';
  if (data.type === 'networkError') return 'The video could not be loaded (a network error). Check your connection, then try again.';
  return `The video could not be played (${data.details}). Try again, or download the MP4 once the recording is ready.`;
}

export function HlsPlayer({
  api,
  src,
  live,
  onTime,
  onSeeked,
  videoRef,
}: {
  api: ApiClient;
  src: string;
  /** The playlist still grows (recording): start near its end. */
  live: boolean;
  /** The playback position in ms, on timeupdate and seeked. */
  onTime: (ms: number) => void;
  onSeeked?: () => void;
  videoRef?: { current: HTMLVideoElement | null };
}) {
  const own = useRef<HTMLVideoElement | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const onTimeRef = useRef(onTime);
  onTimeRef.current = onTime;
  const onSeekedRef = useRef(onSeeked);
  onSeekedRef.current = onSeeked;
  const liveRef = useRef(live);
  liveRef.current = live;

  useEffect(() => {
    const video = own.current;
    if (!video) return;
    setError(null);
    let cancelled = false;
    let hls: HlsClass | null = null;
    let detachNative: (() => void) | null = null;

    const playNatively = () => {
      const onError = () => {
        if (!cancelled) setError('The video could not be loaded. Reload the page to try again.');
      };
      video.addEventListener('error', onError);
      detachNative = () => {
        video.removeEventListener('error', onError);
        video.removeAttribute('src');
        video.load();
      };
      api.freshAccessToken(60).then(
        (token) => {
          if (!cancelled) video.src = withAccessToken(src, token);
        },
        () => !cancelled && setError('Your session has ended. Sign in again to watch.'),
      );
    };

    import('hls.js/light').then(
      ({ default: Hls }) => {
        if (cancelled) return;
        if (Hls.isSupported()) {
          let mediaRecoveries = 0;
          const h = new Hls({
            // Live: a little behind the growing end; finished: from the start.
            startPosition: liveRef.current ? -1 : 0,
            xhrSetup: async (xhr, url) => {
              const token = await api.freshAccessToken();
              xhr.open('GET', url, true);
              xhr.setRequestHeader('Authorization', `Bearer ${token}`);
            },
          });
          hls = h;
          h.on(Hls.Events.ERROR, (_ev, data) => {
            if (!data.fatal || cancelled) return;
            if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 2) {
              mediaRecoveries += 1;
              h.recoverMediaError();
              return;
            }
            setError(fatalText(data));
            h.destroy();
            if (hls === h) hls = null;
          });
          h.loadSource(src);
          h.attachMedia(video);
        } else if (video.canPlayType(HLS_TYPE)) playNatively();
        else setError('This browser cannot play this video. Try a current version of Chrome, Firefox, Edge or Safari, or download the MP4.');
      },
      () => {
        if (cancelled) return;
        if (video.canPlayType(HLS_TYPE)) playNatively();
        else setError('The video player could not be loaded. Check your connection, then try again.');
      },
    );
    return () => {
      cancelled = true;
      hls?.destroy();
      detachNative?.();
    };
  }, [api, src, attempt]);

  useEffect(() => {
    const video = own.current;
    if (!video) return;
    const time = () => onTimeRef.current(video.currentTime * 1000);
    const seeked = () => {
      time();
      onSeekedRef.current?.();
    };
    video.addEventListener('timeupdate', time);
    video.addEventListener('seeked', seeked);
    video.addEventListener('seeking', time);
    video.addEventListener('loadedmetadata', time);
    return () => {
      video.removeEventListener('timeupdate', time);
      video.removeEventListener('seeked', seeked);
      video.removeEventListener('seeking', time);
      video.removeEventListener('loadedmetadata', time);
    };
  }, []);

  return (
    <div className="player">
      <video
        ref={(el) => {
          own.current = el;
          if (videoRef) videoRef.current = el;
        }}
        className="player-video"
        data-testid="recording-player"
        controls
        playsInline
        preload="metadata"
        aria-label="Recording"
      />
      {error && <ErrorMessage message={error} onRetry={() => setAttempt((n) => n + 1)} />}
    </div>
  );
}
