import { describe, expect, it } from 'vitest';
import { captureConstraints, deviceChoices, trackDeviceId } from './devices';

const dev = (kind: string, deviceId: string, label = '') => ({ kind, deviceId, label });

describe('device choices', () => {
  it('lists the cameras or the microphones in the browser’s order, by name', () => {
    const list = [dev('audioinput', 'm1', 'Headset'), dev('videoinput', 'c1', 'Built-in'), dev('videoinput', 'c2', 'USB cam'), dev('audiooutput', 'o1', 'Speakers')];
    expect(deviceChoices(list, 'camera')).toEqual([
      { id: 'c1', label: 'Built-in' },
      { id: 'c2', label: 'USB cam' },
    ]);
    expect(deviceChoices(list, 'mic')).toEqual([{ id: 'm1', label: 'Headset' }]);
  });

  it('numbers devices whose names the browser hides until capture is allowed', () => {
    expect(deviceChoices([dev('videoinput', 'a'), dev('videoinput', 'b', '  ')], 'camera')).toEqual([
      { id: 'a', label: 'Camera 1' },
      { id: 'b', label: 'Camera 2' },
    ]);
  });

  it('leaves out the "default" alias when the real microphones are listed, and keeps it when it is all there is', () => {
    const list = [dev('audioinput', 'default', 'Default - Headset'), dev('audioinput', 'm1', 'Headset'), dev('audioinput', 'm2', 'Webcam mic')];
    expect(deviceChoices(list, 'mic').map((c) => c.id)).toEqual(['m1', 'm2']);
    expect(deviceChoices([dev('audioinput', 'default', 'Default')], 'mic')).toEqual([{ id: 'default', label: 'Default' }]);
  });

  it('offers nothing for entries without an id (no permission yet) or repeated ids', () => {
    expect(deviceChoices([dev('videoinput', ''), dev('videoinput', 'c1', 'A'), dev('videoinput', 'c1', 'A')], 'camera')).toEqual([{ id: 'c1', label: 'A' }]);
    expect(deviceChoices([], 'camera')).toEqual([]);
  });
});

describe('capture constraints', () => {
  it('asks for exactly the chosen device, and for any when none is chosen', () => {
    expect(captureConstraints('camera', 'c2')).toEqual({ video: { width: 1280, height: 720, deviceId: { exact: 'c2' } }, audio: false });
    expect(captureConstraints('camera', null)).toEqual({ video: { width: 1280, height: 720 }, audio: false });
    expect(captureConstraints('mic', 'm2')).toEqual({ audio: { deviceId: { exact: 'm2' } }, video: false });
    expect(captureConstraints('mic', null)).toEqual({ audio: true, video: false });
  });

  it('reads the device a track captures from, when the browser says', () => {
    expect(trackDeviceId({ getSettings: () => ({ deviceId: 'c1' }) })).toBe('c1');
    expect(trackDeviceId({ getSettings: () => ({}) })).toBeNull();
    expect(trackDeviceId(undefined)).toBeNull();
  });
});
