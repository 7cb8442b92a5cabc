// The studio's "On stage" panel, as pure decisions (tested in stageControl.test.ts): who is on
// stage (GET /events/{id}/stage/participants), one row per person, and which buttons a host
// gets against them. Mute and remove act on a user (every connection of theirs), so a person
// connected twice (two tabs) is one row.
import type { StageControlParticipant, TrackSource } from './types';

/** The order of sources in a row and of its mute buttons. */
const SOURCE_ORDER: readonly TrackSource[] = ['microphone', 'camera', 'screen', 'screen_audio'];

export const SOURCE_TITLE: Record<TrackSource, string> = {
  microphone: 'Microphone',
  camera: 'Camera',
  screen: 'Screen',
  screen_audio: 'Screen audio',
};

export interface StageRowTrack {
  source: TrackSource;
  kind: 'audio' | 'video';
  /** Muted on every connection that sends it (so muting again would change nothing). */
  muted: boolean;
}

export interface MuteButton {
  source: TrackSource;
  /** "Mute microphone", "Mute camera", "Mute screen", "Mute screen audio". */
  label: string;
  disabled: boolean;
}

export interface StageRow {
  userId: string;
  name: string;
  isMe: boolean;
  /** How many media connections this person has open (usually 1). */
  connections: number;
  tracks: StageRowTrack[];
  mute: MuteButton[];
  /** Whether "Remove from stage" is offered (never against yourself). */
  canRemove: boolean;
}

const isSource = (s: string): s is TrackSource => (SOURCE_ORDER as readonly string[]).includes(s);

/** The buttons for one person's tracks: one mute per source they publish, disabled once muted. */
export function muteButtons(tracks: readonly StageRowTrack[]): MuteButton[] {
  return tracks.map((t) => ({ source: t.source, label: `Mute ${SOURCE_TITLE[t.source].toLowerCase()}`, disabled: t.muted }));
}

/**
 * One row per connected user, in the order the server lists them, you first. Connections still
 * being set up are left out (there is nothing to mute yet); so are unknown sources.
 */
export function stageRows(participants: readonly StageControlParticipant[], myUserId: string): StageRow[] {
  const rows = new Map<string, { name: string; connections: number; tracks: Map<TrackSource, StageRowTrack> }>();
  for (const p of participants) {
    if (!p.connected) continue;
    let row = rows.get(p.user_id);
    if (!row) {
      row = { name: p.name, connections: 0, tracks: new Map() };
      rows.set(p.user_id, row);
    }
    row.connections += 1;
    for (const t of p.tracks) {
      if (!isSource(t.source)) continue;
      const seen = row.tracks.get(t.source);
      if (seen) seen.muted = seen.muted && t.muted;
      else row.tracks.set(t.source, { source: t.source, kind: t.kind === 'audio' ? 'audio' : 'video', muted: t.muted });
    }
  }
  const out: StageRow[] = [];
  for (const [userId, r] of rows) {
    const tracks = SOURCE_ORDER.filter((s) => r.tracks.has(s)).map((s) => r.tracks.get(s)!);
    const isMe = userId === myUserId;
    out.push({ userId, name: r.name, isMe, connections: r.connections, tracks, mute: muteButtons(tracks), canRemove: !isMe });
  }
  return out.sort((a, b) => Number(b.isMe) - Number(a.isMe));
}

/** What a row says about its tracks, e.g. "Microphone (muted), Camera" or "Not broadcasting". */
export function tracksLine(tracks: readonly StageRowTrack[]): string {
  if (tracks.length === 0) return 'Not broadcasting';
  return tracks.map((t) => `${SOURCE_TITLE[t.source]}${t.muted ? ' (muted)' : ''}`).join(', ');
}

/** The line after a mute went through. */
export function mutedText(name: string, source: TrackSource, tracksMuted: number, isMe: boolean): string {
  const what = SOURCE_TITLE[source].toLowerCase();
  if (tracksMuted === 0) return `${isMe ? 'Your' : `${name}’s`} ${what} was not live any more, so nothing changed.`;
  return isMe
    ? `Your ${what} is muted for everyone. Unmute it under the stage.`
    : `${name}’s ${what} is muted for everyone. Only ${name} can unmute it.`;
}

/** The line after a removal went through. */
export function removedText(name: string, removed: number): string {
  return removed === 0 ? `${name} had already left the stage.` : `${name} was removed from the stage.`;
}

/** A short fingerprint of what the SFU last told us about the room, to refresh the panel on change. */
export function stageFingerprint(s: {
  participants: readonly { participant_id: string }[];
  remote: readonly { mid: string; muted: boolean }[];
  publishing: readonly string[];
  mutedByServer: readonly string[];
  mutedBySelf: readonly string[];
} | null): string {
  if (!s) return '';
  return [
    s.participants.map((p) => p.participant_id).join(','),
    s.remote.map((t) => `${t.mid}${t.muted ? 'm' : ''}`).join(','),
    [...s.publishing].sort().join(','),
    [...s.mutedByServer].sort().join(','),
    [...s.mutedBySelf].sort().join(','),
  ].join('|');
}
