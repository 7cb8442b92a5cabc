// The flags every browser test starts Debian's headless Chromium with (web/e2e/run.mjs and
// tests/e2e/whip/view.mjs): no network chatter on a closed machine, fake camera, microphone and
// screen without prompts, and WebRTC to an SFU on this machine (loopback candidates, real host
// addresses instead of mDNS names, remote audio that plays without a click).
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];
