import { describe, expect, it } from 'vitest';
import { muteButtons, mutedText, removedText, stageFingerprint, stageRows, tracksLine } from './stageControl';
import type { StageControlParticipant } from './types';

const p = (over: Partial<StageControlParticipant> & { user_id: string }): StageControlParticipant => ({
  participant_id: `p-${over.user_id}`,
  name: over.user_id.toUpperCase(),
  connected: true,
  tracks: [],
  ...over,
});

describe('stageRows', () => {
  it('offers a mute per published source (microphone, camera, screen order) and a remove, but no remove against yourself', () => {
    const rows = stageRows(
      [
        p({ user_id: 'guest', tracks: [{ source: 'screen', kind: 'video', muted: false }, { source: 'camera', kind: 'video', muted: false }, { source: 'microphone', kind: 'audio', muted: false }] }),
        p({ user_id: 'me', tracks: [{ source: 'camera', kind: 'video', muted: false }] }),
      ],
      'me',
    );
    expect(rows.map((r) => [r.userId, r.isMe, r.canRemove])).toEqual([
      ['me', true, false],
      ['guest', false, true],
    ]);
    expect(rows[0].mute).toEqual([{ source: 'camera', label: 'Mute camera', disabled: false }]);
    expect(rows[1].mute.map((b) => b.label)).toEqual(['Mute microphone', 'Mute camera', 'Mute screen']);
  });

  it('disables the mute of a track that is already muted', () => {
    const [row] = stageRows([p({ user_id: 'a', tracks: [{ source: 'microphone', kind: 'audio', muted: true }, { source: 'camera', kind: 'video', muted: false }] })], 'me');
    expect(row.mute).toEqual([
      { source: 'microphone', label: 'Mute microphone', disabled: true },
      { source: 'camera', label: 'Mute camera', disabled: false },
    ]);
  });

  it('shows someone who publishes nothing with only the remove button', () => {
    const [row] = stageRows([p({ user_id: 'watcher' })], 'me');
    expect(row.mute).toEqual([]);
    expect(row.canRemove).toBe(true);
    expect(tracksLine(row.tracks)).toBe('Not broadcasting');
  });

  it('leaves out connections still being set up', () => {
    expect(stageRows([p({ user_id: 'a', connected: false, tracks: [{ source: 'camera', kind: 'video', muted: false }] })], 'me')).toEqual([]);
  });

  it('merges two connections of one person; a source counts as muted only when muted everywhere', () => {
    const rows = stageRows(
      [
        p({ user_id: 'a', participant_id: 'p1', tracks: [{ source: 'camera', kind: 'video', muted: true }] }),
        p({ user_id: 'a', participant_id: 'p2', tracks: [{ source: 'camera', kind: 'video', muted: false }, { source: 'microphone', kind: 'audio', muted: true }] }),
      ],
      'me',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].connections).toBe(2);
    expect(rows[0].tracks).toEqual([
      { source: 'microphone', kind: 'audio', muted: true },
      { source: 'camera', kind: 'video', muted: false },
    ]);
  });

  it('ignores sources it does not know', () => {
    const [row] = stageRows([p({ user_id: 'a', tracks: [{ source: 'hologram' as never, kind: 'video', muted: false }] })], 'me');
    expect(row.tracks).toEqual([]);
  });
});

describe('texts', () => {
  it('says what a row broadcasts', () => {
    expect(tracksLine([{ source: 'microphone', kind: 'audio', muted: true }, { source: 'screen_audio', kind: 'audio', muted: false }])).toBe('Microphone (muted), Screen audio');
  });

  it('labels the screen audio mute', () => {
    expect(muteButtons([{ source: 'screen_audio', kind: 'audio', muted: false }])[0].label).toBe('Mute screen audio');
  });

  it('says what a mute and a removal did', () => {
    expect(mutedText('Ada', 'camera', 1, false)).toBe('Ada’s camera is muted for everyone. Only Ada can unmute it.');
    expect(mutedText('Me', 'microphone', 1, true)).toBe('Your microphone is muted for everyone. Unmute it under the stage.');
    expect(mutedText('Ada', 'camera', 0, false)).toMatch(/nothing changed/);
    expect(removedText('Ada', 1)).toBe('Ada was removed from the stage.');
    expect(removedText('Ada', 0)).toBe('Ada had already left the stage.');
  });
});

describe('stageFingerprint', () => {
  const base = { participants: [{ participant_id: 'p1' }], remote: [{ mid: '1', muted: false }], publishing: ['camera'], mutedByServer: [], mutedBySelf: [] };

  it('changes when someone joins, a remote track mutes, or we are muted', () => {
    const f = stageFingerprint(base);
    expect(stageFingerprint({ ...base })).toBe(f);
    expect(stageFingerprint({ ...base, participants: [{ participant_id: 'p1' }, { participant_id: 'p2' }] })).not.toBe(f);
    expect(stageFingerprint({ ...base, remote: [{ mid: '1', muted: true }] })).not.toBe(f);
    expect(stageFingerprint({ ...base, mutedByServer: ['camera'] })).not.toBe(f);
  });

  it('is empty without a connection', () => {
    expect(stageFingerprint(null)).toBe('');
  });
});
