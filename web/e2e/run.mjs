// End-to-end test of the web client against a running stagecast platform, in Debian's headless
// Chromium through playwright-core (no downloaded browsers).
//
//   STAGECAST_URL=http://127.0.0.1:8080 npm run e2e
//
// A host signs up, schedules an event, opens the studio and goes live; a viewer in a second
// browser context (phone-sized) signs up and opens the event page; both chat and each sees the
// other's message; the host deletes the viewer's message (it disappears for the viewer) and bans
// the viewer (who is told so). Then profile, edit, end, lists, the Developer page (an API key made,
// its secret shown once, revoked; a webhook endpoint added), sign-in errors and 404. Every page
// is screenshotted to e2e/artifacts/. Every wait is bounded; assertions wait for real UI state.
//
// Live video (through the SFU, services/media): the host's camera and microphone (Chromium's fake
// devices) reach the viewer, whose decoded video frames and received audio samples must keep
// rising (read with getStats() from every RTCPeerConnection the page made, collected in
// window.__pcs); then the host's screen share does too, with its sound as "screen audio"; the
// host switches to the second fake camera while live and the viewer's tile keeps its track (the
// new camera is swapped into the same sender, no renegotiation). From the studio's "On stage" panel the
// host mutes their own camera and microphone at the SFU (the viewer's frames and audio packets
// stop; the studio's "Unmute" brings them back) and removes the viewer from the stage; an
// audience member's attempt to publish a camera and a forged media token are refused by the SFU.
// The stage: a third browser raises a hand, is invited by the host, accepts and is heard by the
// viewer without anyone rejoining; the host mutes them (only they unmute) and moves them back. A
// guest joins through an invite link without an account, waits backstage (the host hears them,
// the viewer gets nothing of them) and is brought on air (the viewer hears them).
// E2E_MEDIA=skip leaves these steps out (for a platform whose SFU the browser cannot reach).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './chromium-args.mjs';

const BASE = (process.env.STAGECAST_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const STEP_MS = Number(process.env.E2E_STEP_TIMEOUT_MS ?? 15_000);
const TOTAL_MS = Number(process.env.E2E_TIMEOUT_MS ?? 240_000);
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const MEDIA = (process.env.E2E_MEDIA ?? 'require') !== 'skip';
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

const ARGS = CHROMIUM_ARGS;

// ---- a tiny step runner ------------------------------------------------------------------------

const results = [];
const pageErrors = [];
const consoleLog = [];
const pages = new Map(); // label -> page, for failure screenshots
let shot = 0;

const output = []; // everything logged, also written to e2e/artifacts/run.log

function log(line) {
  output.push(line);
  process.stdout.write(`${line}\n`);
}

async function withTimeout(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await withTimeout(fn(), STEP_MS * 4, name);
    results.push({ name, ok: true });
    log(`  ✓ ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, error: e });
    log(`  ✗ ${name} (${Date.now() - t0} ms)\n    ${String(e?.message ?? e).split('\n').join('\n    ')}`);
    for (const [label, page] of pages) {
      await page.screenshot({ path: `${ARTIFACTS}failure-${label}.png`, fullPage: true, timeout: 5_000 }).catch(() => {});
    }
    throw e;
  }
}

async function screenshot(page, name) {
  shot += 1;
  const file = `${String(shot).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path: `${ARTIFACTS}${file}`, fullPage: true, timeout: STEP_MS });
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// ---- helpers over the app's accessible UI ------------------------------------------------------

async function newPage(browser, label, viewport) {
  const context = await browser.newContext({ viewport, baseURL: BASE, permissions: ['camera', 'microphone'] });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  // Every RTCPeerConnection the app makes, for getStats() below.
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    if (!Native) return;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        window.__pcs.push(this);
      }
    };
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`[${label}] ${e.message}`));
  page.on('console', (m) => consoleLog.push(`[${label}] ${m.type()}: ${m.text()}`));
  pages.set(label, page);
  return page;
}

/** Waits until no section on the page is still loading. */
async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]') && !document.querySelector('main [role="status"].loading'), null, {
    timeout: STEP_MS,
  });
}

async function signUp(page, name, email, password) {
  await page.goto('/signup');
  await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('heading', { level: 1, name: 'Events' }).waitFor();
}

const chatLog = (page) => page.getByRole('list', { name: 'Chat messages' });
/** A delivered (not pending) chat message containing `text`. */
const delivered = (page, text) => chatLog(page).locator('li.chat-msg:not(.pending)', { hasText: text });
const composer = (page) => page.getByRole('textbox', { name: 'Message' });

async function chatReady(page) {
  // The composer is enabled once the socket's hello has arrived.
  await page.waitForFunction(() => {
    const t = document.querySelector('.chat-form input');
    return t && !t.disabled;
  }, null, { timeout: STEP_MS });
}

async function say(page, text) {
  await composer(page).fill(text);
  await composer(page).press('Enter');
  await delivered(page, text).waitFor();
}

async function moderate(page, text, action) {
  const item = delivered(page, text);
  await item.getByRole('button', { name: /^Moderate message from/ }).click();
  await item.getByRole('button', { name: action }).click();
}

// ---- live video --------------------------------------------------------------------------------

/** Sums of what the page's open peer connections received: decoded video frames, audio samples
 * and audio packets, only for the track `trackId` when given. */
async function inbound(page, trackId = null) {
  return page.evaluate(async (id) => {
    let frames = 0;
    let samples = 0;
    let packets = 0;
    let streams = 0;
    for (const pc of window.__pcs ?? []) {
      if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
      const report = await pc.getStats();
      report.forEach((r) => {
        if (r.type !== 'inbound-rtp' || (id && r.trackIdentifier !== id)) return;
        streams += 1;
        if (r.kind === 'video') frames += r.framesDecoded ?? 0;
        if (r.kind === 'audio') {
          samples += r.totalSamplesReceived ?? 0;
          packets += r.packetsReceived ?? 0;
        }
      });
    }
    return { frames, samples, packets, streams };
  }, trackId);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Samples twice, at least 1.5 s apart (after media started), and checks both sums rose.
 * `trackId` may be a function that names the track each time: what a person hears is whatever
 * their audio element plays, and the element may be handed a newer track of the same person
 * (a renegotiation that replaced the transceiver); the change is logged. */
async function mediaKeepsFlowing(page, { trackId = null, audio = true, video = true, what }) {
  const deadline = Date.now() + STEP_MS;
  const resolve = typeof trackId === 'function' ? trackId : async () => trackId;
  // A function that names no track yet names nothing: not every track on the page.
  const none = { frames: 0, samples: 0, packets: 0, streams: 0 };
  const measure = async (id) => (id === null && typeof trackId === 'function' ? none : inbound(page, id));
  let id = await resolve();
  let first = await measure(id);
  while (((video && first.frames === 0) || (audio && first.samples === 0)) && Date.now() < deadline) {
    await sleep(250);
    const now = await resolve();
    if (now !== id) log(`    ${what}: the element now plays track ${now} (was ${id})`);
    id = now;
    first = await measure(id);
  }
  if (video) check(first.frames > 0, `${what}: no video frame was decoded within ${STEP_MS} ms (${JSON.stringify(first)})`);
  if (audio) check(first.samples > 0, `${what}: no audio sample arrived within ${STEP_MS} ms (${JSON.stringify(first)})`);
  await sleep(1_600);
  const second = await measure(id);
  if (video) check(second.frames > first.frames, `${what}: decoded video frames stopped rising (${first.frames} then ${second.frames})`);
  if (audio) check(second.samples > first.samples, `${what}: received audio samples stopped rising (${first.samples} then ${second.samples})`);
  // Packets, not samples: the jitter buffer makes up samples for packets that never pass SRTP.
  // 50 a second would be 80 in 1.6 s; the SFU sends one a second through str0m and the rest
  // sealed itself, so this fails if the browser refuses what the SFU sealed.
  if (audio) check(second.packets - first.packets >= 20, `${what}: audio packets received rose by ${second.packets - first.packets} in 1.6 s (${first.packets} then ${second.packets})`);
  if (audio) log(`    ${what}: ${second.packets - first.packets} audio packets in 1.6 s`);
  return { first, second, trackId: id };
}

/** Checks that `what` (a field of inbound()) of `trackId` has stopped: after a short settle,
 * two samples at least 1.5 s apart differ by at most `slack`. */
async function mediaStopped(page, { trackId, field, what, slack = 2 }) {
  // Let packets in flight and the jitter buffer drain.
  await sleep(700);
  const first = await inbound(page, trackId);
  await sleep(1_600);
  const second = await inbound(page, trackId);
  check(second[field] - first[field] <= slack, `${what}: ${field} kept rising (${first[field]} then ${second[field]})`);
  return { first, second };
}

/** Waits (bounded) until `field` of `trackId` rises past `from`, then checks it keeps rising. */
async function mediaResumes(page, { trackId, field, from, what }) {
  const deadline = Date.now() + STEP_MS;
  let now = await inbound(page, trackId);
  while (now[field] <= from + 2 && Date.now() < deadline) {
    await sleep(250);
    now = await inbound(page, trackId);
  }
  check(now[field] > from + 2, `${what}: ${field} did not rise again within ${STEP_MS} ms (${from} then ${now[field]})`);
  await sleep(1_600);
  const later = await inbound(page, trackId);
  check(later[field] > now[field], `${what}: ${field} rose, then stopped again (${now[field]} then ${later[field]})`);
  return { first: now, second: later };
}

/** The id of the audio track the remote <audio> element `source` plays. */
async function audioTrackId(page, source) {
  return page.evaluate((src) => {
    const a = document.querySelector(`[data-testid="remote-audio"][data-source="${src}"]`);
    return a?.srcObject?.getAudioTracks?.()[0]?.id ?? null;
  }, source);
}

/** The id of the track shown in the remote tile `source`. */
async function tileTrackId(page, source) {
  return page.evaluate((src) => {
    const v = document.querySelector(`[data-testid="remote-video"][data-source="${src}"] video`);
    return v?.srcObject?.getVideoTracks?.()[0]?.id ?? null;
  }, source);
}

// ---- the scenario ------------------------------------------------------------------------------

async function main() {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  log(`stagecast web e2e against ${BASE} (run ${RUN})`);

  await step('the platform answers and serves the web client', async () => {
    const health = await fetch(`${BASE}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch((e) => {
      throw new Error(`cannot reach ${BASE}/healthz (${e.message}); start the platform (scripts/up) or set STAGECAST_URL`);
    });
    check(health.ok, `${BASE}/healthz answered ${health.status}`);
    const index = await fetch(`${BASE}/events/does-not-matter`, { signal: AbortSignal.timeout(5_000) });
    const html = await index.text();
    check(index.ok && html.includes('id="root"'), `${BASE} does not serve the web client with an index.html fallback (got ${index.status}); run \`npm run build\` in web/ and start the gateway with WEB_DIR pointing at web/dist`);
  });

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, timeout: STEP_MS * 2 });
  try {
    const hostName = `Host ${RUN}`;
    const viewerName = `Viewer ${RUN}`;
    const password = `pw-${RUN}-secret`;
    const hostEmail = `host-${RUN}@example.com`;
    const viewerEmail = `viewer-${RUN}@example.com`;
    let title = `E2E show ${RUN}`;
    let eventId = '';

    const host = await newPage(browser, 'host', { width: 1280, height: 900 });

    await step('host signs up', async () => {
      await host.goto('/signup');
      await host.getByRole('heading', { name: 'Create your account' }).waitFor();
      await screenshot(host, 'signup');
      await signUp(host, hostName, hostEmail, password);
      await settled(host);
      await screenshot(host, 'home');
    });

    await step('host schedules an event', async () => {
      await host.getByRole('link', { name: 'Schedule an event' }).click();
      await host.getByRole('heading', { name: 'Schedule an event' }).waitFor();
      await host.getByLabel('Title').fill(title);
      await host.getByLabel('Description').fill('An end-to-end test of chat and moderation.');
      const startsAt = await host.getByLabel('Starts at').inputValue();
      check(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(startsAt), `the start time defaults to a datetime-local value, got "${startsAt}"`);
      await screenshot(host, 'schedule');
      await host.getByRole('button', { name: 'Schedule event' }).click();
      await host.waitForURL(/\/events\/[^/]+\/studio$/);
      eventId = new URL(host.url()).pathname.split('/')[2];
      await host.getByRole('heading', { level: 1, name: title }).waitFor();
    });

    await step('host opens the studio and goes live', async () => {
      await chatReady(host);
      await host.getByRole('button', { name: 'Go live' }).click();
      await host.locator('.page-head [data-status="live"]').waitFor();
      await host.getByRole('button', { name: 'End event' }).waitFor();
      const res = await host.request.get(`/api/v1/events/${eventId}`, {
        headers: { Authorization: `Bearer ${await host.evaluate(() => JSON.parse(localStorage.getItem('stagecast.session')).access_token)}` },
      });
      check((await res.json()).status === 'live', 'the API reports the event live');
    });

    await step('host previews camera and microphone locally', async () => {
      await host.getByRole('button', { name: 'Camera off' }).click();
      await host.getByRole('button', { name: 'Camera on', pressed: true }).waitFor();
      await host.locator('video[aria-label="Camera preview"]').waitFor();
      await host.waitForFunction(() => {
        const v = document.querySelector('video[aria-label="Camera preview"]');
        return v && v.videoWidth > 0;
      }, null, { timeout: STEP_MS });
      await host.getByRole('button', { name: 'Microphone off' }).click();
      await host.getByRole('meter', { name: 'Microphone level' }).waitFor();
      await screenshot(host, 'studio-live');
    });

    const viewer = await newPage(browser, 'viewer', { width: 390, height: 844 });

    await step('viewer signs up on a phone-sized screen and opens the event page', async () => {
      await signUp(viewer, viewerName, viewerEmail, password);
      await settled(viewer);
      await viewer.getByRole('link', { name: title }).waitFor();
      await viewer.getByRole('link', { name: title }).click();
      await viewer.getByRole('heading', { level: 1, name: title }).waitFor();
      await viewer.locator('.page-head [data-status="live"]').waitFor();
      await viewer.getByTestId('media-stage').waitFor();
      await chatReady(viewer);
      await screenshot(viewer, 'event-viewer');
    });

    if (MEDIA) {
      await step('the viewer sees and hears the host live', async () => {
        await host.getByTestId('publish-status').getByText('Broadcasting your camera, microphone.').waitFor();
        const tile = viewer.locator('[data-testid="remote-video"][data-source="camera"]');
        await tile.waitFor();
        const name = await tile.getAttribute('data-participant-name');
        check(name === hostName, `the camera tile is labelled with the host's name (got "${name}")`);
        await tile.getByText(hostName).waitFor();
        await viewer.waitForFunction(() => {
          const v = document.querySelector('[data-testid="remote-video"][data-source="camera"] video');
          return v && v.videoWidth > 0;
        }, null, { timeout: STEP_MS });
        const { second } = await mediaKeepsFlowing(viewer, { what: 'the host’s camera and microphone at the viewer' });
        log(`    viewer received ${second.frames} video frames and ${second.samples} audio samples`);
        await screenshot(viewer, 'viewer-live-video');
        await screenshot(host, 'studio-broadcasting');
      });

      await step('the host shares the screen; the viewer sees it', async () => {
        await host.getByRole('button', { name: 'Screen off' }).click();
        await host.getByRole('button', { name: 'Screen on', pressed: true }).waitFor();
        await host.getByTestId('publish-status').getByText(/Broadcasting your .*screen/).waitFor();
        const tile = viewer.locator('[data-testid="remote-video"][data-source="screen"]');
        await tile.waitFor();
        check((await tile.getAttribute('data-participant-name')) === hostName, 'the screen tile is labelled with the host’s name');
        await viewer.waitForFunction(() => {
          const v = document.querySelector('[data-testid="remote-video"][data-source="screen"] video');
          return v && v.videoWidth > 0;
        }, null, { timeout: STEP_MS });
        const id = await tileTrackId(viewer, 'screen');
        check(id, 'the screen tile shows a track');
        await mediaKeepsFlowing(viewer, { trackId: id, audio: false, what: 'the host’s screen at the viewer' });
        // The shared screen's sound goes out as its own source, and the viewer plays it.
        await viewer.locator('[data-testid="remote-audio"][data-source="screen_audio"]').waitFor({ state: 'attached' });
        const audioId = await audioTrackId(viewer, 'screen_audio');
        check(audioId, 'the screen audio plays in an <audio> element');
        await mediaKeepsFlowing(viewer, { trackId: audioId, video: false, what: 'the host’s screen audio at the viewer' });
        // The camera goes on alongside it.
        await viewer.locator('[data-testid="remote-video"][data-source="camera"]').waitFor();
        await screenshot(viewer, 'viewer-screen-share');
        await screenshot(host, 'studio-screen-share');
      });

      await step('the host stops sharing; the viewer keeps the camera', async () => {
        await host.getByRole('button', { name: 'Screen on' }).click();
        await host.getByRole('button', { name: 'Screen off', pressed: false }).waitFor();
        await viewer.locator('[data-testid="remote-video"][data-source="screen"]').waitFor({ state: 'detached' });
        await viewer.locator('[data-testid="remote-audio"][data-source="screen_audio"]').waitFor({ state: 'detached' });
        await viewer.locator('[data-testid="remote-video"][data-source="camera"]').waitFor();
        const id = await tileTrackId(viewer, 'camera');
        check(id, 'the camera tile shows a track');
        await mediaKeepsFlowing(viewer, { trackId: id, audio: false, what: 'the host’s camera after the screen share ended' });
      });

      await step('the host switches to another camera while live; the viewer’s tile keeps playing', async () => {
        const before = await tileTrackId(viewer, 'camera');
        const picker = host.getByRole('combobox', { name: 'Camera device' });
        await picker.waitFor();
        const options = await picker.locator('option').evaluateAll((os) => os.map((o) => ({ value: o.value, label: o.textContent })));
        check(options.length >= 3, `the fake cameras are offered by name (got ${JSON.stringify(options)})`);
        // The third fake camera: Chromium's second is a depth camera WebRTC cannot encode.
        const other = options.find((o) => o.label === 'fake_device_2')?.value;
        check(other && other !== (await picker.inputValue()), `fake_device_2 is offered and not the one in use (${JSON.stringify(options)})`);
        await picker.selectOption(other);
        await host.waitForFunction(
          (id) => document.querySelector('video[aria-label="Camera preview"]')?.srcObject?.getVideoTracks?.()[0]?.getSettings?.().deviceId === id,
          other,
          { timeout: STEP_MS },
        );
        check((await picker.inputValue()) === other, 'the picker shows the camera now in use');
        const sent = await host.waitForFunction(
          (id) => (window.__pcs ?? []).some((pc) => pc.connectionState === 'connected' && pc.getSenders().some((s) => s.track?.getSettings?.().deviceId === id)),
          other,
          { timeout: STEP_MS },
        );
        check(await sent.jsonValue(), 'the host broadcasts the new camera');
        // Swapped in place, not renegotiated: the viewer's tile keeps its track and keeps decoding.
        check((await tileTrackId(viewer, 'camera')) === before, 'the viewer’s camera tile keeps the same track');
        await mediaKeepsFlowing(viewer, { trackId: before, audio: false, what: 'the host’s camera after switching devices' });
        await screenshot(host, 'studio-device-picker');
      });

      const onStage = host.getByRole('region', { name: 'On stage' });
      const hostRow = onStage.getByRole('listitem', { name: `${hostName} (you)` });
      const viewerRow = onStage.getByRole('listitem', { name: viewerName, exact: true });

      await step('the studio’s On stage panel lists the host and the viewer', async () => {
        await hostRow.waitFor();
        await hostRow.getByText('Microphone, Camera', { exact: true }).waitFor();
        await hostRow.getByRole('button', { name: 'Mute microphone', disabled: false }).waitFor();
        await hostRow.getByRole('button', { name: 'Mute camera', disabled: false }).waitFor();
        check((await hostRow.getByRole('button', { name: 'Remove from stage' }).count()) === 0, 'the host is not offered to remove themselves');
        // The viewer watches (connected, publishing nothing): only the remove button.
        await viewerRow.waitFor();
        await viewerRow.getByText('Not broadcasting').waitFor();
        await viewerRow.getByRole('button', { name: 'Remove from stage' }).waitFor();
        check((await viewerRow.getByRole('button', { name: /^Mute / }).count()) === 0, 'no mute buttons for someone who publishes nothing');
        // Full-page shots from the top (the header is sticky).
        await host.evaluate(() => window.scrollTo(0, 0));
        await screenshot(host, 'studio-on-stage');
        // The panel on a phone-sized screen.
        await host.setViewportSize({ width: 390, height: 844 });
        await host.evaluate(() => window.scrollTo(0, 0));
        await screenshot(host, 'studio-on-stage-phone');
        await host.setViewportSize({ width: 1280, height: 900 });
      });

      await step('a server mute stops the host’s camera at the viewer; the host unmutes it', async () => {
        const id = await tileTrackId(viewer, 'camera');
        check(id, 'the camera tile shows a track');
        await hostRow.getByRole('button', { name: 'Mute camera' }).click();
        // The host is told, with a way back.
        const alert = host.getByRole('alert').filter({ hasText: 'muted your camera' });
        await alert.waitFor();
        await onStage.getByRole('status').getByText('Your camera is muted for everyone.').waitFor();
        await hostRow.getByRole('button', { name: 'Mute camera', disabled: true }).waitFor();
        await viewer.locator('[data-testid="remote-video"][data-source="camera"][data-muted="true"]').waitFor();
        const stopped = await mediaStopped(viewer, { trackId: id, field: 'frames', what: 'the muted camera at the viewer' });
        log(`    camera muted: viewer frames ${stopped.first.frames} then ${stopped.second.frames} (1.6 s apart)`);
        await host.evaluate(() => window.scrollTo(0, 0));
        await screenshot(host, 'studio-camera-muted');
        await screenshot(viewer, 'viewer-camera-muted');
        await alert.getByRole('button', { name: 'Unmute camera' }).click();
        await alert.waitFor({ state: 'detached' });
        await viewer.locator('[data-testid="remote-video"][data-source="camera"][data-muted="false"]').waitFor();
        const resumed = await mediaResumes(viewer, { trackId: id, field: 'frames', from: stopped.second.frames, what: 'the unmuted camera at the viewer' });
        log(`    camera unmuted: viewer frames ${resumed.first.frames} then ${resumed.second.frames}`);
        await hostRow.getByRole('button', { name: 'Mute camera', disabled: false }).waitFor();
      });

      await step('a server mute stops the host’s microphone at the viewer; the host unmutes it', async () => {
        const id = await audioTrackId(viewer, 'microphone');
        check(id, 'the viewer plays the host’s microphone');
        const before = await mediaKeepsFlowing(viewer, { trackId: id, what: 'the host’s microphone before the mute', video: false });
        log(`    microphone live: viewer samples ${before.first.samples} → ${before.second.samples}, packets ${before.first.packets} → ${before.second.packets}`);
        await hostRow.getByRole('button', { name: 'Mute microphone' }).click();
        const alert = host.getByRole('alert').filter({ hasText: 'muted your microphone' });
        await alert.waitFor();
        await hostRow.getByRole('button', { name: 'Mute microphone', disabled: true }).waitFor();
        await viewer.locator('[data-testid="remote-video"][data-source="camera"] [title="Microphone muted"]').waitFor();
        // Chrome conceals missing audio, so samples may keep counting; packets must stop.
        const stopped = await mediaStopped(viewer, { trackId: id, field: 'packets', what: 'the muted microphone at the viewer' });
        log(
          `    microphone muted: viewer packets ${stopped.first.packets} then ${stopped.second.packets}, samples ${stopped.first.samples} then ${stopped.second.samples} (1.6 s apart)`,
        );
        await alert.getByRole('button', { name: 'Unmute microphone' }).click();
        await alert.waitFor({ state: 'detached' });
        const resumed = await mediaResumes(viewer, { trackId: id, field: 'packets', from: stopped.second.packets, what: 'the unmuted microphone at the viewer' });
        log(`    microphone unmuted: viewer packets ${resumed.first.packets} then ${resumed.second.packets}, samples ${resumed.first.samples} then ${resumed.second.samples}`);
        check(resumed.second.samples > resumed.first.samples, 'audio samples rise again after the unmute');
      });

      // The stage: an audience member (a third browser) comes up to speak without anyone rejoining.
      const speakerName = `Sam ${RUN}`;
      const speaker = await newPage(browser, 'speaker', { width: 390, height: 844 });
      const openPcs = (page) => page.evaluate(() => (window.__pcs ?? []).filter((pc) => pc.connectionState !== 'closed').length);
      let speakerTrack = null;
      let viewerPcs = 0;

      await step('an audience member raises a hand; the host sees it in the queue', async () => {
        await signUp(speaker, speakerName, `sam-${RUN}@example.com`, password);
        await speaker.goto(`/events/${eventId}`);
        await speaker.getByTestId('media-stage').waitFor();
        const card = speaker.getByTestId('stage-audience');
        await card.getByRole('button', { name: '✋ Raise hand' }).click();
        await card.getByRole('button', { name: 'Lower hand' }).waitFor();
        await host.getByTestId('stage-panel').getByRole('button', { name: `Invite ${speakerName} to speak` }).waitFor();
        await screenshot(host, 'stage-hand-queue');
      });

      await step('the host invites; they accept and the viewer hears them, nobody rejoining', async () => {
        viewerPcs = await openPcs(viewer);
        const speakerPcs = await openPcs(speaker);
        await host.getByTestId('stage-panel').getByRole('button', { name: `Invite ${speakerName} to speak` }).click();
        const invitation = speaker.getByTestId('stage-invitation');
        await invitation.waitFor();
        await screenshot(speaker, 'stage-invitation');
        await invitation.getByRole('button', { name: 'Accept' }).click();
        await speaker.getByTestId('stage-status').getByText("You're on stage").waitFor();
        const audio = viewer.locator(`[data-testid="remote-audio"][data-participant-name="${speakerName}"]`);
        await audio.waitFor({ state: 'attached' });
        const playing = () => audio.evaluate((a) => a.srcObject?.getAudioTracks?.()[0]?.id ?? null);
        const heard = await mediaKeepsFlowing(viewer, { trackId: playing, video: false, what: 'the new speaker at the viewer' });
        speakerTrack = heard.trackId;
        check(speakerTrack, 'the viewer plays the new speaker’s microphone');
        log(`    the viewer hears the speaker: samples ${heard.first.samples} → ${heard.second.samples}`);
        check((await openPcs(viewer)) === viewerPcs, 'the viewer kept its connection');
        check((await openPcs(speaker)) === speakerPcs, 'the speaker published on the connection it watched with');
        await screenshot(speaker, 'stage-on-stage');
      });

      await step('the host mutes the speaker; only the speaker unmutes', async () => {
        await host.getByTestId('stage-panel').getByRole('button', { name: `Mute mic: ${speakerName}` }).click();
        await speaker.getByTestId('stage-status').getByText("You're muted by the host").waitFor();
        const stopped = await mediaStopped(viewer, { trackId: speakerTrack, field: 'packets', what: 'the muted speaker at the viewer' });
        const alert = speaker.getByRole('alert').filter({ hasText: 'muted your microphone' });
        await alert.getByRole('button', { name: 'Unmute microphone' }).click();
        await mediaResumes(viewer, { trackId: speakerTrack, field: 'packets', from: stopped.second.packets, what: 'the unmuted speaker at the viewer' });
      });

      await step('the host moves the speaker back; publishing stops and their page shows the audience view', async () => {
        await host.getByTestId('stage-panel').getByRole('button', { name: `Move to audience: ${speakerName}` }).click();
        await speaker.getByTestId('stage-status').getByText('You were moved back to the audience').waitFor();
        await speaker.getByTestId('stage-audience').getByRole('button', { name: '✋ Raise hand' }).waitFor();
        await mediaStopped(viewer, { trackId: speakerTrack, field: 'packets', what: 'the demoted speaker at the viewer' });
        check((await openPcs(viewer)) === viewerPcs, 'the viewer kept its connection');
        await screenshot(speaker, 'stage-moved-back');
      });

      const guestName = `Gia ${RUN}`;
      let guest = null;

      await step('a guest joins through an invite link without an account and waits backstage, unheard by the viewer', async () => {
        const links = host.getByTestId('guest-links');
        await links.getByRole('button', { name: 'Create link' }).click();
        const url = await links.getByLabel('Invite link URL').inputValue();
        check(url.includes('/join/'), `the studio shows the invite link (got "${url}")`);
        await screenshot(host, 'stage-invite-link');
        const streamsBefore = (await inbound(viewer)).streams;
        guest = await newPage(browser, 'guest', { width: 390, height: 844 });
        await guest.goto(url);
        await guest.getByRole('heading', { name: `You're invited to join ${title} as a speaker` }).waitFor();
        await guest.getByLabel('Display name').fill(guestName);
        await guest.getByRole('button', { name: 'Join' }).click();
        await guest.getByTestId('stage-status').getByText("You're backstage: the host will bring you on air.", { exact: false }).waitFor();
        await guest.getByTestId('guest-badge').waitFor();
        await guest.getByRole('button', { name: 'Microphone off' }).click();
        await guest.getByRole('button', { name: 'Microphone on', pressed: true }).waitFor();
        // The host hears the green room.
        const atHost = host.locator(`[data-testid="remote-audio"][data-participant-name="${guestName}"]`);
        await atHost.waitFor({ state: 'attached' });
        const hostTrack = await atHost.evaluate((a) => a.srcObject?.getAudioTracks?.()[0]?.id ?? null);
        await mediaKeepsFlowing(host, { trackId: hostTrack, video: false, what: 'the backstage guest at the host' });
        await host.getByTestId('stage-backstage').getByText(guestName).first().waitFor();
        // The viewer gets nothing of them: no new stream, no audio element, no entry.
        await sleep(1_500);
        check((await inbound(viewer)).streams === streamsBefore, 'the viewer was offered no track of the backstage');
        check((await viewer.locator(`[data-participant-name="${guestName}"]`).count()) === 0, 'the viewer shows nothing of the backstage');
        await screenshot(guest, 'guest-backstage');
        await screenshot(host, 'studio-backstage');
      });

      await step('the host brings the guest on air; the viewer hears them', async () => {
        await host.getByRole('button', { name: `Bring ${guestName} on air` }).click();
        await guest.getByTestId('stage-status').getByText("You're on air.").waitFor();
        const audio = viewer.locator(`[data-testid="remote-audio"][data-participant-name="${guestName}"]`);
        await audio.waitFor({ state: 'attached' });
        const playing = () => audio.evaluate((a) => a.srcObject?.getAudioTracks?.()[0]?.id ?? null);
        const heard = await mediaKeepsFlowing(viewer, { trackId: playing, video: false, what: 'the guest on air at the viewer' });
        log(`    the viewer hears the guest on air: samples ${heard.first.samples} → ${heard.second.samples}`);
        check((await openPcs(viewer)) === viewerPcs, 'the viewer kept its connection');
        await screenshot(guest, 'guest-on-air');
      });

      await step('a guest on the stage cannot end the event', async () => {
        const r = await guest.evaluate(async (id) => {
          const session = JSON.parse(localStorage.getItem('stagecast.session'));
          const res = await fetch(`/api/v1/events/${id}/end`, { method: 'POST', headers: { Authorization: `Bearer ${session.access_token}` } });
          return { status: res.status, body: await res.json() };
        }, eventId);
        check(r.status === 403, `a guest speaker cannot end the event (got ${r.status})`);
      });

      await step('the SFU refuses an audience member’s camera and a forged token', async () => {
        const r = await viewer.evaluate(async (id) => {
          const session = JSON.parse(localStorage.getItem('stagecast.session'));
          const res = await fetch(`/api/v1/events/${id}/media-token`, { method: 'POST', headers: { Authorization: `Bearer ${session.access_token}` } });
          if (!res.ok) return { tokenStatus: res.status };
          const ticket = await res.json();
          // A fake camera: Chromium's fake device, or a canvas if that is busy.
          let track;
          try {
            track = (await navigator.mediaDevices.getUserMedia({ video: true })).getVideoTracks()[0];
          } catch {
            const c = document.createElement('canvas');
            c.width = 320;
            c.height = 240;
            c.getContext('2d').fillRect(0, 0, 320, 240);
            track = c.captureStream(10).getVideoTracks()[0];
          }
          const pc = new RTCPeerConnection();
          pc.createDataChannel('signal');
          const tr = pc.addTransceiver(track, { direction: 'sendonly' });
          await pc.setLocalDescription(await pc.createOffer());
          const join = async (token) => {
            const answer = await fetch(`${ticket.url.replace(/\/+$/, '')}/rtc/v1/join`, {
              method: 'POST',
              headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
              body: JSON.stringify({ sdp: pc.localDescription.sdp, sources: { [tr.mid]: 'camera' } }),
            });
            return { status: answer.status, type: answer.headers.get('content-type'), body: await answer.json().catch(() => null) };
          };
          const real = await join(ticket.token);
          const t = ticket.token;
          const forgedToken = t.slice(0, -10) + [...t.slice(-10)].map((ch) => (ch === 'A' ? 'B' : 'A')).join('');
          const forged = await join(forgedToken);
          pc.close();
          track.stop();
          return { role: ticket.role, publish: ticket.grants.publish, real, forged };
        }, eventId);
        check(r.role === 'audience' && r.publish.length === 0, `the viewer gets an audience token that publishes nothing (${JSON.stringify(r)})`);
        check(r.real.status === 403 && r.real.body?.code === 'track_not_allowed', `an audience camera is refused with 403 track_not_allowed (${JSON.stringify(r.real)})`);
        check(/problem\+json/.test(r.real.type ?? ''), `the refusal is problem JSON (${r.real.type})`);
        check(r.forged.status === 401 && r.forged.body?.code === 'invalid_token', `a forged token is refused with 401 invalid_token (${JSON.stringify(r.forged)})`);
        // The refusals changed nothing: the viewer still watches the host.
        const id = await tileTrackId(viewer, 'camera');
        await mediaKeepsFlowing(viewer, { trackId: id, audio: false, what: 'the host’s camera after the refused joins' });
      });

      await step('the host removes the viewer from the stage after confirming', async () => {
        await viewerRow.getByRole('button', { name: 'Remove from stage' }).click();
        const confirm = viewerRow.getByRole('alertdialog');
        await confirm.waitFor();
        // Escape keeps them on stage and gives the focus back.
        await host.keyboard.press('Escape');
        await confirm.waitFor({ state: 'detached' });
        await host.waitForFunction(() => document.activeElement?.textContent === 'Remove from stage', null, { timeout: STEP_MS });
        await host.keyboard.press('Enter');
        await confirm.waitFor();
        await confirm.getByLabel('Reason (optional, shown to them)').fill('e2e removal check');
        await confirm.getByRole('button', { name: `Yes, remove ${viewerName}` }).click();
        await onStage.getByRole('status').getByText(`${viewerName} was removed from the stage.`).waitFor();
        await viewerRow.waitFor({ state: 'detached' });
        await viewer.getByText('You left the live video: e2e removal check.').waitFor();
        await viewer.getByTestId('media-stage').getByRole('button', { name: 'Try again' }).waitFor();
        await screenshot(viewer, 'viewer-removed-from-stage');
      });
    } else {
      log('  - live video steps skipped (E2E_MEDIA=skip)');
      await step('the studio shows the On stage panel (empty without a media server)', async () => {
        const onStage = host.getByRole('region', { name: 'On stage' });
        await onStage.getByText('Nobody is connected to the live video yet.').waitFor();
        await onStage.getByRole('button', { name: 'Refresh' }).click();
        await onStage.getByText('Nobody is connected to the live video yet.').waitFor();
        await screenshot(host, 'studio-on-stage');
      });
    }

    await step('both see each other in presence', async () => {
      const hostPeople = host.getByRole('region', { name: /^Here now/ });
      const viewerPeople = viewer.getByRole('region', { name: /^Here now/ });
      await hostPeople.getByText(viewerName).waitFor();
      await viewerPeople.getByText(hostName).waitFor();
      // Roles show in both lists (the host's own entry included).
      await viewerPeople.getByRole('listitem').filter({ hasText: hostName }).getByText('Host', { exact: true }).waitFor();
      await hostPeople.getByRole('listitem').filter({ hasText: hostName }).getByText('Host', { exact: true }).waitFor();
      await viewer.getByText(`Hosted by ${hostName}`).waitFor();
    });

    const fromViewer = `hello from the viewer ${RUN}`;
    const fromHost = `welcome, says the host ${RUN}`;

    if (MEDIA) {
      await step('the host starts recording; the studio shows it running with the time', async () => {
        await host.getByTestId('record-toggle').click();
        await host.locator('[data-testid="record-state"][data-state="recording"]').waitFor({ timeout: STEP_MS * 2 });
        const first = await host.getByTestId('record-elapsed').textContent();
        await host.waitForFunction((t) => document.querySelector('[data-testid="record-elapsed"]')?.textContent !== t, first, { timeout: STEP_MS });
        await screenshot(host, 'studio-recording');
      });
    }

    await step('viewer and host chat; each sees the other', async () => {
      await say(viewer, fromViewer);
      await delivered(host, fromViewer).waitFor();
      await say(host, fromHost);
      await delivered(viewer, fromHost).waitFor();
      check((await delivered(viewer, fromViewer).count()) === 1, 'the viewer sees their own message exactly once');
      await screenshot(viewer, 'viewer-chat');
    });

    if (MEDIA) {
      await step('the host switches the recording’s layout', async () => {
        await host.getByTestId('layout-switcher').selectOption('speaker');
        await host.waitForFunction(() => document.querySelector('[data-testid="layout-switcher"]')?.value === 'speaker', null, { timeout: STEP_MS });
        // A few seconds on the new layout, measured by the studio's own clock.
        await host.waitForFunction(() => {
          const t = document.querySelector('[data-testid="record-elapsed"]')?.textContent ?? '';
          const [m, s] = t.split(':').map(Number);
          return m * 60 + s >= 8;
        }, null, { timeout: STEP_MS * 2 });
      });

      await step('the host stops the recording and it becomes ready', async () => {
        await host.getByTestId('record-toggle').click();
        await host.locator('[data-testid="record-state"][data-state="ready"]').waitFor({ timeout: STEP_MS * 4 });
        await screenshot(host, 'studio-recording-ready');
      });

      await step('the viewer plays the recording in the player with the chat replay in step', async () => {
        await viewer.goto(`/events/${eventId}`);
        const card = viewer.locator('[data-testid="recording-card"][data-state="ready"]').first();
        await card.waitFor({ timeout: STEP_MS * 2 });
        await card.getByRole('link').click();
        const video = viewer.getByTestId('recording-player');
        await video.waitFor();
        await viewer.waitForFunction(() => {
          const v = document.querySelector('[data-testid="recording-player"]');
          return v && v.readyState >= 2 && v.duration > 4;
        }, null, { timeout: STEP_MS * 2 });
        await viewer.evaluate(() => {
          const v = document.querySelector('[data-testid="recording-player"]');
          v.muted = true;
          return v.play();
        });
        const t0 = await viewer.evaluate(() => document.querySelector('[data-testid="recording-player"]').currentTime);
        await viewer.waitForFunction((t) => document.querySelector('[data-testid="recording-player"]').currentTime > t + 1, t0, { timeout: STEP_MS });
        // Seeking to the end shows the chat said while recording, at its moments.
        await viewer.evaluate(() => {
          const v = document.querySelector('[data-testid="recording-player"]');
          v.currentTime = v.duration - 0.2;
        });
        const said = viewer.getByTestId('replay-message').filter({ hasText: fromViewer });
        await said.waitFor();
        const offset = Number(await said.getAttribute('data-offset-ms'));
        const duration = await viewer.evaluate(() => document.querySelector('[data-testid="recording-player"]').duration);
        check(offset > 0 && offset < duration * 1000, `the viewer’s message sits inside the recording (${offset} ms of ${duration} s)`);
        // Back to the start: a message said later is not shown yet.
        await viewer.evaluate(() => { document.querySelector('[data-testid="recording-player"]').currentTime = 0; });
        await said.waitFor({ state: 'detached' });
        await viewer.getByTestId('download-mp4').waitFor();
        check((await viewer.getByTestId('delete-recording').count()) === 0, 'a viewer gets no Delete button');
        await screenshot(viewer, 'recording-player');
        // Back to the live event for the steps that follow.
        await viewer.goto(`/events/${eventId}`);
        await chatReady(viewer);
      });

      await step('the host finds it in the Recordings library', async () => {
        await host.goto('/recordings');
        await host.locator('[data-testid="recording-card"][data-state="ready"]').filter({ hasText: title }).first().waitFor();
        await screenshot(host, 'recordings-library');
        await host.goto(`/events/${eventId}/studio`);
        await chatReady(host);
      });

      // Restreaming, when the platform has an RTMP ingest to push to (the end-to-end suite runs
      // a private nginx-rtmp standing in for YouTube).
      const rtmpUrl = process.env.STAGECAST_RTMP_URL;
      const rtmpKey = process.env.STAGECAST_RTMP_KEY ?? `e2e_${RUN}`;
      if (rtmpUrl) {
        await step('the host adds an RTMP destination, starts it, and sees it live with its bitrate', async () => {
          const panel = host.getByTestId('destinations-panel');
          await panel.scrollIntoViewIfNeeded();
          await host.getByTestId('destination-platform').selectOption('custom');
          await host.getByTestId('destination-name').fill('Test ingest');
          await host.getByTestId('destination-server').fill(rtmpUrl);
          await host.getByTestId('destination-key').fill(rtmpKey);
          await host.getByTestId('destination-submit').click();
          const row = host.getByTestId('destination-row').filter({ hasText: 'Test ingest' });
          await row.waitFor();
          check(!((await panel.textContent()) ?? '').includes(rtmpKey), 'the stream key is not shown once saved');
          const toggle = row.getByTestId('destination-toggle');
          if ((await toggle.getAttribute('data-pushing')) !== 'true') await toggle.click();
          await row.locator('[data-testid="destination-state"][data-state="live"]').waitFor({ timeout: STEP_MS * 2 });
          await row.getByTestId('destination-bitrate').waitFor({ timeout: STEP_MS });
          await screenshot(host, 'studio-destination-live');
          await toggle.click();
          await row.locator('[data-testid="destination-state"][data-state="stopped"]').waitFor({ timeout: STEP_MS });
        });
      }
    }

    await step('host deletes the viewer’s message; it disappears for the viewer', async () => {
      await moderate(host, fromViewer, 'Delete');
      await delivered(viewer, fromViewer).waitFor({ state: 'detached' });
      await delivered(host, fromViewer).waitFor({ state: 'detached' });
      await chatLog(viewer).getByText('A moderator removed a message.').waitFor();
      await delivered(viewer, fromHost).waitFor();
    });

    const second = `second try from the viewer ${RUN}`;

    await step('host bans the viewer; the viewer is told and cannot chat', async () => {
      await say(viewer, second);
      await delivered(host, second).waitFor();
      await moderate(host, second, `Ban ${viewerName}`);
      await viewer.getByText('You were banned from this chat').first().waitFor();
      // The notice can come (moderation frame) a moment before the socket's 4003 close disables the composer.
      await viewer.waitForFunction(() => document.querySelector('.chat-form input')?.disabled === true, null, { timeout: STEP_MS }).catch(() => {
        throw new Error('the banned viewer’s composer is disabled');
      });
      check((await viewer.getByText(/reconnecting/i).count()) === 0, 'a banned viewer is not shown as reconnecting');
      await chatLog(host).getByText(`${viewerName} was banned from the chat.`).waitFor();
      await host.getByRole('region', { name: 'Moderation log' }).getByText(`banned ${viewerName}`).waitFor();
      await screenshot(viewer, 'viewer-banned');
      await screenshot(host, 'studio-moderation');
    });

    await step('host sees the ban in the standing panel, unbans, appoints and removes a moderator', async () => {
      const standing = host.getByRole('region', { name: 'Moderators and restrictions' });
      await standing.getByText(`banned by ${hostName}`, { exact: false }).waitFor();
      await standing.getByRole('button', { name: `Unban ${viewerName}` }).click();
      await standing.getByText('Nobody is banned.').waitFor();
      await host.getByRole('region', { name: 'Moderation log' }).getByText(`unbanned ${viewerName}`).waitFor();
      await moderate(host, second, `Make ${viewerName} a moderator`);
      await standing.getByText(`appointed by ${hostName}`, { exact: false }).waitFor();
      await screenshot(host, 'studio-standing');
      await standing.getByRole('button', { name: `Remove ${viewerName} as moderator` }).click();
      await standing.getByText('No moderators appointed', { exact: false }).waitFor();
    });

    await step('host edits the event', async () => {
      await host.getByRole('link', { name: 'Edit details' }).click();
      await host.getByRole('heading', { name: 'Edit event' }).waitFor();
      check(await host.getByLabel('Starts at').isDisabled(), 'the start time is locked once live');
      await screenshot(host, 'edit-event');
      title = `${title} (edited)`;
      await host.getByLabel('Title').fill(title);
      await host.getByRole('button', { name: 'Save changes' }).click();
      await host.getByRole('heading', { level: 1, name: title }).waitFor();
    });

    await step('host updates the profile and uploads a photo', async () => {
      await host.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: hostName }).click();
      await host.getByRole('heading', { name: 'Your profile' }).waitFor();
      const renamed = `${hostName} Jr.`;
      await host.getByLabel('Display name').fill(renamed);
      await host.getByRole('button', { name: 'Save profile' }).click();
      await host.getByText('Profile saved.').waitFor();
      const nav = host.getByRole('navigation', { name: 'Main' });
      await nav.getByText(renamed).waitFor();
      // A real 1×1 PNG, uploaded to the platform's object store through PUT /api/v1/me/avatar.
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
      await host.getByLabel('Upload a photo').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
      await host.getByText('Photo updated.').waitFor();
      for (const where of ['nav', '.avatar-editor']) {
        await host.waitForFunction((sel) => {
          const img = document.querySelector(`${sel} img.avatar[src*="/api/v1/avatars/"]`);
          return img && img.complete && img.naturalWidth > 0;
        }, where, { timeout: STEP_MS });
      }
      await host.getByRole('button', { name: 'Remove photo' }).waitFor();
      await screenshot(host, 'profile');
    });

    await step('host ends the event; it is listed under Past', async () => {
      await host.goto(`/events/${eventId}/studio`);
      await host.getByRole('button', { name: 'End event' }).click();
      await host.getByRole('button', { name: 'Yes, end the event' }).click();
      await host.locator('.page-head [data-status="ended"]').waitFor();
      await host.getByText('This event has ended, so the chat is closed.').first().waitFor();
      // The read-only transcript comes from the REST history.
      await delivered(host, fromHost).waitFor();
      check((await delivered(host, fromViewer).count()) === 0, 'the deleted message stays out of the transcript');
      await host.getByRole('link', { name: 'Events', exact: true }).click();
      await settled(host);
      await host.getByRole('region', { name: 'Past' }).getByRole('link', { name: title }).waitFor();
      await screenshot(host, 'home-after');
    });

    // The Developer page: an API key (its secret shown once, then revoked) and a webhook endpoint.
    // example.com passes the URL check whether or not the platform allows private addresses (the
    // check does not resolve names when an endpoint is made).
    const keyName = `e2e key ${RUN}`;
    const hookUrl = 'https://example.com/stagecast-hook';

    await step('host makes an API key on the Developer page, sees its secret once, and revokes it', async () => {
      await host.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Developer' }).click();
      await host.waitForURL(/\/developer$/);
      await host.getByRole('heading', { level: 1, name: 'Developer' }).waitFor();
      await settled(host);
      const keys = host.getByRole('region', { name: 'API keys' });
      // Loaded: the count of keys in use shows (the list may be empty).
      await keys.getByText(/keys in use/).waitFor();
      await keys.getByLabel('Name', { exact: true }).fill(keyName);
      await keys.getByRole('checkbox', { name: 'events:read', exact: true }).check();
      await keys.getByRole('button', { name: 'Create key' }).click();
      const box = host.getByTestId('api-key-secret');
      await box.waitFor();
      await box.getByText('Copy it now: you will not see it again').waitFor();
      const secretField = box.getByRole('textbox', { name: 'API key secret' });
      const secret = await secretField.inputValue();
      check(secret.startsWith('sck_') && secret.length > 12, `the new key's secret starts with sck_ (got "${secret.slice(0, 6)}…")`);
      // The secret field takes the focus, for keyboard users.
      await host.waitForFunction(() => document.activeElement?.closest('[data-testid="api-key-secret"]') != null, null, { timeout: STEP_MS });
      await screenshot(host, 'developer-api-key-secret');
      await box.getByRole('button', { name: 'Done' }).click();
      await box.waitFor({ state: 'detached' });
      check(!((await host.content()) ?? '').includes(secret), 'the secret is gone from the page once dismissed');
      const row = keys.getByTestId('api-key').filter({ hasText: keyName });
      await row.waitFor();
      check((await row.getAttribute('data-state')) === 'active', 'the new key is listed as active');
      const prefix = (await row.getByTestId('api-key-prefix').textContent()) ?? '';
      check(prefix.startsWith(secret.slice(0, 12)) && !prefix.includes(secret), `the list shows the key's prefix only (got "${prefix}")`);
      await row.getByText('events:read', { exact: true }).waitFor();
      await row.getByRole('button', { name: `Revoke ${keyName}` }).click();
      await row.getByRole('alertdialog').getByRole('button', { name: 'Yes, revoke it' }).click();
      await keys.locator('[data-testid="api-key"][data-state="revoked"]').filter({ hasText: keyName }).waitFor();
      await row.locator('[data-testid="api-key-state"]', { hasText: 'Revoked' }).waitFor();
      check((await row.getByRole('button', { name: `Revoke ${keyName}` }).count()) === 0, 'a revoked key offers no Revoke button');
    });

    await step('host adds a webhook endpoint for event.*; its secret is shown once and it is listed enabled', async () => {
      const hooks = host.getByRole('region', { name: 'Webhooks' });
      await hooks.getByLabel('Endpoint URL').fill(hookUrl);
      await hooks.getByRole('checkbox', { name: /event\.\*/ }).check();
      check(!(await hooks.getByRole('checkbox', { name: 'All events', exact: true }).isChecked()), 'ticking a family unticks "All events"');
      await hooks.getByRole('button', { name: 'Add endpoint' }).click();
      const box = host.getByTestId('webhook-secret');
      await box.waitFor();
      await box.getByText('Copy it now: you will not see it again').waitFor();
      const secret = await box.getByRole('textbox', { name: 'Signing secret' }).inputValue();
      check(secret.startsWith('whsec_'), `the endpoint's signing secret starts with whsec_ (got "${secret.slice(0, 7)}…")`);
      const row = hooks.getByTestId('webhook').filter({ hasText: hookUrl });
      await row.waitFor();
      check((await row.getAttribute('data-enabled')) === 'true', 'the new endpoint is enabled');
      check(await row.getByRole('switch').isChecked(), 'its Enabled switch is on');
      const events = (await row.getByTestId('webhook-events').textContent()) ?? '';
      check(events.includes('event.*'), `the endpoint gets the event.* family (got "${events}")`);
      await screenshot(host, 'developer-webhook-secret');
      await box.getByRole('button', { name: 'Done' }).click();
      await box.waitFor({ state: 'detached' });
      check(!((await host.content()) ?? '').includes(secret), 'the signing secret is gone from the page once dismissed');
      // Shown once: the list read again has the endpoint, and no secret anywhere.
      await host.reload();
      await host.getByRole('heading', { level: 1, name: 'Developer' }).waitFor();
      await settled(host);
      const again = host.getByRole('region', { name: 'Webhooks' }).getByTestId('webhook').filter({ hasText: hookUrl });
      await again.waitFor();
      check((await again.getAttribute('data-enabled')) === 'true', 'the endpoint is still listed enabled after a reload');
      check((await host.getByTestId('webhook-secret').count()) === 0 && !((await host.content()) ?? '').includes(secret), 'the signing secret is not shown again');
      await host.getByRole('region', { name: 'API keys' }).locator('[data-testid="api-key"][data-state="revoked"]').filter({ hasText: keyName }).waitFor();
      // Its (empty) delivery log opens.
      await again.getByRole('button', { name: `Deliveries of ${hookUrl}`, exact: true }).click();
      await again.getByTestId('webhook-deliveries').waitFor();
      await settled(host);
      await host.evaluate(() => window.scrollTo(0, 0));
      await screenshot(host, 'developer');
      // The page on a phone-sized screen.
      await host.setViewportSize({ width: 390, height: 844 });
      await host.evaluate(() => window.scrollTo(0, 0));
      await screenshot(host, 'developer-phone');
      await host.setViewportSize({ width: 1280, height: 900 });
    });

    const guest = await newPage(browser, 'guest', { width: 800, height: 700 });

    await step('sign-in shows the server’s error, then signs in', async () => {
      await guest.goto(`/events/${eventId}`);
      await guest.waitForURL(/\/signin\?next=/);
      await guest.getByRole('heading', { name: 'Sign in' }).waitFor();
      await guest.getByLabel('Email').fill(viewerEmail);
      await guest.getByLabel('Password').fill('definitely-wrong');
      await guest.getByRole('button', { name: 'Sign in' }).click();
      const alert = guest.getByRole('alert');
      await alert.waitFor();
      check(((await alert.textContent()) ?? '').trim().length > 0, 'the sign-in error says something');
      await screenshot(guest, 'signin-error');
      await guest.getByLabel('Password').fill(password);
      await guest.getByRole('button', { name: 'Sign in' }).click();
      await guest.getByRole('heading', { level: 1, name: title }).waitFor();
    });

    await step('unknown pages say so', async () => {
      await guest.goto('/no/such/page');
      await guest.getByRole('heading', { name: 'Page not found' }).waitFor();
      await screenshot(guest, 'not-found');
    });

    await step('no uncaught errors in the app', async () => {
      check(pageErrors.length === 0, `uncaught page errors:\n${pageErrors.join('\n')}`);
    });
  } finally {
    writeFileSync(`${ARTIFACTS}console.log`, consoleLog.join('\n'));
    await withTimeout(browser.close(), 10_000, 'closing the browser').catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  log(`\nthe whole run took longer than ${TOTAL_MS} ms; giving up`);
  summary();
  process.exit(1);
}, TOTAL_MS);

function summary() {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`\nscreenshots in ${ARTIFACTS}`);
  log(`${passed} passed, ${failed} failed`);
  try {
    writeFileSync(`${ARTIFACTS}run.log`, `${output.join('\n')}\n`);
  } catch {
    /* the artifacts folder is gone: stdout has it all */
  }
  return failed;
}

main()
  .then(() => {
    clearTimeout(watchdog);
    process.exit(summary() === 0 ? 0 : 1);
  })
  .catch((e) => {
    clearTimeout(watchdog);
    if (!results.some((r) => !r.ok)) log(`\nerror: ${e?.stack ?? e}`);
    summary();
    process.exit(1);
  });
