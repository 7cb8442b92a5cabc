import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ApiClient } from '../lib/api';
import type { Destination, EventDestination, EventStatus } from '../lib/types';
import { DestinationsPanel } from './DestinationsPanel';

const api = {} as ApiClient;
const iso = (secs: number) => new Date(Date.now() + secs * 1000).toISOString();

function dest(id: string, over: Partial<Destination> = {}): Destination {
  return { id, platform: 'youtube', name: 'Main channel', server_url: 'rtmps://a.rtmps.youtube.com:443/live2', key_hint: '…abcd', created_at: iso(-3600), ...over };
}

function ed(id: string, over: Partial<EventDestination> = {}, d: Partial<Destination> = {}): EventDestination {
  return {
    event_id: 'ev',
    destination: dest(id, d),
    auto_start: false,
    state: 'idle',
    bitrate_bps: 0,
    bytes_sent: 0,
    live_since: null,
    retries: 0,
    error: '',
    error_code: '',
    updated_at: iso(-5),
    ...over,
  };
}

const panel = (status: EventStatus, initial: EventDestination[], initialSaved: Destination[] = []) =>
  renderToStaticMarkup(createElement(DestinationsPanel, { api, eventId: 'ev', status, initial, initialSaved }));

describe('DestinationsPanel', () => {
  it('lists the event’s destinations with their state, bitrate, uptime, retries and errors', () => {
    const html = panel('live', [
      ed('yt', { state: 'live', bitrate_bps: 2_500_000, live_since: iso(-65), retries: 1, auto_start: true }),
      ed('tw', { state: 'failed', error: 'the server refused the stream key', error_code: 'key_refused' }, { platform: 'twitch', name: 'Twitch', server_url: 'rtmp://live.twitch.tv/app', key_hint: '…wxyz' }),
      ed('cu', { state: 'retrying', retries: 2, error: 'the server did not answer', error_code: 'unreachable' }, { platform: 'custom', name: 'Owncast', server_url: 'rtmp://o.example/live' }),
    ]);
    expect(html).toContain('data-testid="destinations-panel"');
    expect(html.match(/data-testid="destination-row"/g)).toHaveLength(3);
    expect(html).toContain('data-destination-id="yt"');
    expect(html).toMatch(/data-testid="destination-state" data-state="live"[^>]*>Live</);
    expect(html).toMatch(/data-testid="destination-state" data-state="failed"[^>]*>Failed</);
    expect(html).toMatch(/data-testid="destination-state" data-state="retrying"[^>]*>Reconnecting</);
    expect(html).toMatch(/data-testid="destination-bitrate"><span[^>]*>2500 kbit\/s</);
    expect(html.match(/data-testid="destination-bitrate"/g)).toHaveLength(1);
    expect(html).toMatch(/live for <span[^>]*>01:0[56]</);
    expect(html).toContain('>1 retry<');
    expect(html).toContain('Reconnecting (attempt 2)');
    // The server without the key, and only the key's hint.
    expect(html).toContain('rtmp://live.twitch.tv/app');
    expect(html).toContain('…wxyz');
    // What went wrong, and what to do.
    expect(html).toContain('The server refused the stream key.');
    expect(html).toContain('Copy the stream key again from the platform');
    expect(html).toContain('data-code="unreachable"');
    expect(html).toContain('Check the server URL');
    // Stop for the running pushes, Start for the failed one (the event is live).
    expect(html).toMatch(/data-testid="destination-toggle" data-pushing="true" aria-label="Stop streaming to Main channel"/);
    expect(html).toMatch(/data-testid="destination-toggle" data-pushing="false" aria-label="Start streaming to Twitch">Start</);
    expect(html).not.toMatch(/data-pushing="false"[^>]*disabled/);
    expect(html.match(/Start when I go live<span class="visually-hidden"> \(/g)).toHaveLength(3);
    expect(html).toMatch(/data-testid="destination-auto-start" checked=""/);
    expect(html).toContain('aria-label="Remove Owncast from this event"');
  });

  it('cannot start before the event is live', () => {
    const html = panel('scheduled', [ed('yt')]);
    expect(html).toMatch(/data-testid="destination-toggle" data-pushing="false"[^>]*disabled=""/);
    expect(html).toContain('once the event is live');
  });

  it('has the add form with the platform’s server and a password field for the key', () => {
    const html = panel('live', []);
    expect(html).toContain('No destinations yet');
    for (const id of ['destination-add', 'destination-platform', 'destination-name', 'destination-server', 'destination-key', 'destination-submit']) {
      expect(html).toContain(`data-testid="${id}"`);
    }
    for (const label of ['YouTube', 'Twitch', 'Facebook', 'Custom RTMP']) expect(html).toContain(`>${label}</option>`);
    for (const label of ['Platform', 'Name (optional)', 'Server URL', 'Stream key', 'Start when I go live']) expect(html).toMatch(new RegExp(`<label for="[^"]+">${label.replace(/[()]/g, '\\$&')}</label>`));
    // YouTube first: its server is filled in and read-only.
    expect(html).toMatch(/data-testid="destination-server" readOnly=""[^>]*value="rtmps:\/\/a\.rtmps\.youtube\.com:443\/live2"/);
    expect(html).toMatch(/type="password"[^>]*data-testid="destination-key"/);
    expect(html).toContain('stores it encrypted and shows only its last 4 characters');
  });

  it('offers the saved destinations not in the event yet', () => {
    const html = panel('live', [ed('yt')], [dest('yt'), dest('fb', { platform: 'facebook', name: 'Page' })]);
    expect(html.match(/data-testid="saved-destination"/g)).toHaveLength(1);
    expect(html).toContain('data-testid="saved-destination" data-destination-id="fb"');
    expect(html).toContain('aria-label="Add Page to this event"');
    expect(html).toContain('aria-label="Delete Page"');
    expect(panel('live', [ed('yt')], [dest('yt')])).not.toContain('Your saved destinations');
  });
});
