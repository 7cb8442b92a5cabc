// ============================================================================================
// MEDIA PLACEHOLDER — to be filled in when services/media (the WebRTC SFU) exists.
//
// This component owns the video area of the event page and the studio. Today it only explains
// that live video is not there yet. With the media service it will:
//   - viewers: fetch a media token, subscribe over WHEP / the SFU signalling, render the stage
//     (speaker / grid / screen + camera layouts) with names, avatars and active-speaker rings;
//   - hosts (`publishing` = true): publish the tracks that LocalPreview captures today.
// Keep the props; the pages already pass what it will need.
// ============================================================================================
import type { EventStatus } from '../lib/types';

interface Props {
  eventId: string;
  status: EventStatus;
  /** The studio: the caller will publish rather than watch. */
  publishing?: boolean;
}

export function MediaStage({ status, publishing = false }: Props) {
  const headline =
    status === 'live'
      ? publishing
        ? 'You are live: the chat is open.'
        : 'This event is live.'
      : status === 'scheduled'
        ? 'The event has not started yet.'
        : status === 'ended'
          ? 'This event has ended.'
          : 'This event was cancelled.';
  return (
    <div className="stage" role="region" aria-label="Video stage" data-testid="media-stage">
      <div>
        <p>
          <strong>{headline}</strong>
        </p>
        <p className="small">
          {publishing
            ? 'Publishing camera, microphone and screen arrives with the media service. Until then, check your devices with the preview below.'
            : 'Live video arrives with the media service. Until then, follow along in the chat.'}
        </p>
      </div>
    </div>
  );
}
