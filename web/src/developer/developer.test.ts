import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ApiClient } from '../lib/api';
import type { ApiKey, WebhookDelivery, WebhookEndpoint } from '../lib/types';
import { ApiKeysPanel } from './ApiKeysPanel';
import { WebhooksPanel } from './WebhooksPanel';

const api = {} as ApiClient;
const iso = (secs: number) => new Date(Date.now() + secs * 1000).toISOString();

function key(id: string, over: Partial<ApiKey> = {}): ApiKey {
  return { id, name: `Key ${id}`, scopes: ['events:read'], prefix: `sck_${id}0000000`.slice(0, 12), created_at: iso(-3600), expires_at: null, last_used_at: null, revoked_at: null, ...over };
}

function hook(id: string, over: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return { id, url: `https://example.com/${id}`, description: '', event_types: [], enabled: true, disabled_reason: '', created_at: iso(-3600), failing_since: null, ...over };
}

const keysPanel = (keys: ApiKey[], fresh?: { name: string; secret: string }) => renderToStaticMarkup(createElement(ApiKeysPanel, { api, initialKeys: keys, initialFresh: fresh }));
const hooksPanel = (props: Partial<Parameters<typeof WebhooksPanel>[0]> = {}) =>
  renderToStaticMarkup(createElement(WebhooksPanel, { api, initialWebhooks: [], ...props }));

describe('ApiKeysPanel', () => {
  it('offers a labelled form with every scope and the expiry choices', () => {
    const html = keysPanel([]);
    expect(html).toContain('>Name</label>');
    expect(html).toContain('<legend>Scopes</legend>');
    for (const scope of ['profile:read', 'events:read', 'events:write', 'chat:moderate', 'tokens:mint', 'webhooks:manage']) {
      expect(html).toContain(`value="${scope}"`);
      expect(html).toContain(`class="mono">${scope}</label>`);
    }
    expect(html).toContain('>Expires</label>');
    expect(html).toContain('>In 90 days</option>');
    expect(html).toContain('>Create key</button>');
    expect(html).toContain('No API keys yet.');
    expect(html).not.toContain('data-testid="api-key-secret"');
  });

  it('lists keys with their prefix, scopes (and what they include), dates and state; Revoke only for keys not revoked', () => {
    const html = keysPanel([
      key('a', { scopes: ['events:write', 'chat:read'], last_used_at: iso(-60) }),
      key('b', { revoked_at: iso(-10) }),
      key('c', { expires_at: iso(-10) }),
    ]);
    expect(html).toContain('data-key-id="a" data-state="active"');
    expect(html).toContain('data-key-id="b" data-state="revoked"');
    expect(html).toContain('data-key-id="c" data-state="expired"');
    expect(html).toContain('sck_a0000000…');
    expect(html).toContain('events:read<span class="muted"> (included)</span>');
    expect(html).toContain('>Last used</dt>');
    expect(html).toContain('>Revoked</dt>');
    expect(html.match(/aria-label="Revoke /g)).toHaveLength(2);
    expect(html).toContain('aria-label="Revoke Key a"');
    // Revoked and expired keys do not count towards the limit.
    expect(html).toContain('1 of 25 keys in use');
  });

  it('shows a new key’s secret once, with the warning and Copy', () => {
    const html = keysPanel([key('a')], { name: 'CI', secret: 'sck_SECRETvalue' });
    expect(html).toContain('data-testid="api-key-secret"');
    expect(html).toContain('Copy it now: you will not see it again.');
    expect(html).toContain('value="sck_SECRETvalue"');
    expect(html).toContain('readOnly=""');
    expect(html).toContain('>Copy<span class="visually-hidden"> the api key secret</span></button>');
    expect(html).toContain('>Done</button>');
    expect(html.match(/sck_SECRETvalue/g)).toHaveLength(1);
  });
});

describe('WebhooksPanel', () => {
  it('offers a form with the URL, a description and the event families, all events by default', () => {
    const html = hooksPanel();
    expect(html).toContain('>Endpoint URL</label>');
    expect(html).toContain('>Description (optional)</label>');
    expect(html).toContain('<legend>Events to send</legend>');
    expect(html).toMatch(/<input id="[^"]+" type="checkbox" checked=""\/><span class="check-text"><label for="[^"]+">All events<\/label>/);
    for (const family of ['event.*', 'stage.*', 'chat.*', 'recording.*', 'broadcast.*']) expect(html).toContain(`value="${family}"`);
    expect(html).toContain('>Add endpoint</button>');
    expect(html).toContain('No webhook endpoints yet.');
  });

  it('lists endpoints with an Enabled switch, their filters and actions; one turned off for failing says why and what to do', () => {
    const html = hooksPanel({
      initialWebhooks: [
        hook('on', { event_types: ['event.*'], description: 'CRM sync' }),
        hook('off', { enabled: false, disabled_reason: 'failing', failing_since: iso(-6 * 86400) }),
        hook('mine', { enabled: false, disabled_reason: 'by_owner' }),
      ],
    });
    expect(html).toContain('data-webhook-id="on" data-state="enabled" data-enabled="true"');
    expect(html).toContain('data-webhook-id="off" data-state="disabled_failing" data-enabled="false"');
    expect(html).toContain('Events (event.*)');
    expect(html).toContain('CRM sync');
    expect(html.match(/role="switch"/g)).toHaveLength(3);
    expect(html).toMatch(/type="checkbox" role="switch" checked=""/);
    expect(html).toContain('>Off: kept failing</span>');
    expect(html).toContain('turned this endpoint off because its deliveries kept failing (failing since');
    expect(html).toContain('switch Enabled back on');
    expect(html).toContain('You turned this endpoint off');
    for (const action of ['Deliveries of ', 'Edit ', 'Rotate the secret of ', 'Delete ']) expect(html.match(new RegExp(`aria-label="${action}https`, 'g'))).toHaveLength(3);
  });

  it('shows a rotated secret once, saying the old one keeps signing for 24 hours', () => {
    const html = hooksPanel({ initialWebhooks: [hook('a')], initialFresh: { url: 'https://example.com/a', secret: 'whsec_NEW', rotated: true } });
    expect(html).toContain('data-testid="webhook-secret"');
    expect(html).toContain('Copy it now: you will not see it again.');
    expect(html).toContain('value="whsec_NEW"');
    expect(html).toContain('keeps signing for 24 hours');
  });

  it('shows deliveries with their state, attempts, last answer, payload and attempt log, and Redeliver', () => {
    const deliveries: WebhookDelivery[] = [
      {
        id: 'd1',
        message_id: 'msg-1',
        event_type: 'event.live',
        state: 'failed',
        attempts: 3,
        created_at: iso(-600),
        next_attempt_at: null,
        log: [
          { at: iso(-600), status_code: 500, error: 'boom', duration_ms: 12 },
          { at: iso(-300), status_code: 0, error: 'cannot connect to the endpoint', duration_ms: 2 },
        ],
        payload: { type: 'event.live', data: { event_id: 'e1' } },
      },
      { id: 'd2', message_id: 'msg-2', event_type: 'event.ended', state: 'pending', attempts: 0, created_at: iso(-5), next_attempt_at: null, log: [], payload: null },
    ];
    const html = hooksPanel({ initialWebhooks: [hook('a')], initialDeliveries: { a: deliveries } });
    expect(html).toContain('aria-expanded="true"');
    expect(html).toContain('data-delivery-id="d1" data-state="failed"');
    expect(html).toContain('>Failed</span>');
    expect(html).toContain('3 attempts');
    expect(html).toContain('last answer: no answer (cannot connect to the endpoint)');
    expect(html).toContain('<summary>Payload and attempts</summary>');
    expect(html).toContain('HTTP 500 in 12 ms: boom');
    expect(html).toContain('&quot;event_id&quot;: &quot;e1&quot;');
    expect(html).toContain('msg-1');
    // Redeliver for the failed one; the one not tried yet has nothing to redeliver.
    expect(html.match(/>Redeliver<\/button>/g)).toHaveLength(1);
    expect(html).toContain('Waiting to be sent.');
    expect(html).toContain('>Refresh</button>');
  });
});
