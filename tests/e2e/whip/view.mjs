// A WHEP viewer in Debian's headless Chromium (playwright-core from web/node_modules): the page
// makes a recvonly video + audio offer, waits (bounded) for ICE gathering, POSTs it to the WHEP
// endpoint with the viewer's media token, sets the answer, then reads getStats() until video
// frames are decoded and reads them again at least 1.5 s later (default 2 s).
//
//   node view.mjs --url http://127.0.0.1:8090/rtc/v1/whep --token <viewer media token>
//
// Prints progress lines starting with "view:" and, last, one line
//   view: result {"frames1":N,"frames2":M,"intervalMs":T,"audioSamples1":A,"audioSamples2":B,...}
// (video framesDecoded and audio totalSamplesReceived from getStats() inbound-rtp). Exits 0 only
// when frames2 > frames1 > 0 and audioSamples2 > audioSamples1; any failure or timeout exits
// non-zero with a message.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM_ARGS } from '../../../web/e2e/chromium-args.mjs';

const require = createRequire(new URL('../../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    'timeout-ms': { type: 'string', default: '45000' },
    'interval-ms': { type: 'string', default: '2000' },
  },
});
if (!opts.url || !opts.token) {
  console.error('usage: node view.mjs --url <whep url> --token <media token>');
  process.exit(2);
}
const TOTAL_MS = Number(opts['timeout-ms']);
const INTERVAL_MS = Math.max(1500, Number(opts['interval-ms']));

const ARGS = CHROMIUM_ARGS;

const log = (line) => process.stdout.write(`view: ${line}\n`);

let browser;
const profile = mkdtempSync(join(tmpdir(), 'stagecast-whep-'));
const deadline = setTimeout(() => {
  console.error(`view: error: no result within ${TOTAL_MS} ms`);
  cleanup().finally(() => process.exit(3));
}, TOTAL_MS);

async function cleanup() {
  try {
    await browser?.close();
  } catch {}
  rmSync(profile, { recursive: true, force: true });
}

async function main() {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: opts.chromium,
    args: ARGS,
    headless: true,
    timeout: 20_000,
  });
  browser = context;
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => log(`console ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  log(`chromium ${context.browser()?.version() ?? ''} started`);

  // WHEP in the page, the way a player would (the SFU allows any origin).
  await page.evaluate(
    async ({ url, token }) => {
      const pc = new RTCPeerConnection();
      window.__pc = pc;
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      // Play what arrives, as a player does: Chromium pulls remote audio only for a playing sink.
      const stream = new MediaStream();
      const video = document.createElement('video');
      video.muted = false;
      video.autoplay = true;
      video.playsInline = true;
      video.srcObject = stream;
      document.body.append(video);
      pc.addEventListener('track', (e) => {
        stream.addTrack(e.track);
        video.play().catch(() => {});
      });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        const t = setTimeout(resolve, 5000); // bounded: post what was gathered
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') {
            clearTimeout(t);
            resolve();
          }
        });
      });
      const r = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/sdp' },
        body: pc.localDescription.sdp,
      });
      const body = await r.text();
      if (r.status !== 201) throw new Error(`WHEP POST answered ${r.status}: ${body}`);
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      window.__location = r.headers.get('location');
    },
    { url: opts.url, token: opts.token },
  );
  log('answer set; waiting for decoded frames');

  const stats = () =>
    page.evaluate(async () => {
      const pc = window.__pc;
      const out = { state: pc.connectionState, frames: 0, audioSamples: 0, audioPackets: 0, codec: null, audioCodec: null };
      const report = await pc.getStats();
      for (const s of report.values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          out.frames += s.framesDecoded ?? 0;
          if (s.codecId) out.codec = report.get(s.codecId)?.mimeType ?? null;
        }
        if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          out.audioSamples += s.totalSamplesReceived ?? 0;
          out.audioPackets += s.packetsReceived ?? 0;
          if (s.codecId) out.audioCodec = report.get(s.codecId)?.mimeType ?? null;
        }
      }
      return out;
    });

  let first;
  let last;
  for (;;) {
    last = await stats();
    if (last.state === 'failed') throw new Error('the peer connection failed');
    if (last.frames > 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  first = { ...last, at: Date.now() };
  log(`first frames: ${first.frames} (${first.codec}), connection ${first.state}`);
  await new Promise((r) => setTimeout(r, INTERVAL_MS));
  const second = { ...(await stats()), at: Date.now() };
  const result = {
    frames1: first.frames,
    frames2: second.frames,
    intervalMs: second.at - first.at,
    audioSamples1: first.audioSamples,
    audioSamples2: second.audioSamples,
    audioPackets2: second.audioPackets,
    codec: second.codec,
    audioCodec: second.audioCodec,
  };
  // End the WHEP session politely; a failure here does not change the verdict.
  await page
    .evaluate(
      async ({ base, token }) => {
        if (window.__location) {
          await fetch(new URL(window.__location, base), { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
        }
        window.__pc.close();
      },
      { base: opts.url, token: opts.token },
    )
    .catch(() => {});
  log(`result ${JSON.stringify(result)}`);
  const video = result.frames1 > 0 && result.frames2 > result.frames1;
  const audio = result.audioSamples2 > result.audioSamples1;
  if (!video) console.error('view: error: decoded video frames did not rise');
  if (!audio) console.error('view: error: received audio samples did not rise');
  return video && audio;
}

main().then(
  async (ok) => {
    clearTimeout(deadline);
    await cleanup();
    process.exit(ok ? 0 : 1);
  },
  async (e) => {
    clearTimeout(deadline);
    console.error(`view: error: ${e?.stack ?? e}`);
    await cleanup();
    process.exit(1);
  },
);
