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
  // Three fake cameras (and Chromium's three fake microphones), so the studio's device picker
  // can be tested. Chromium fakes the second one as a depth camera (16-bit grey frames), which
  // WebRTC cannot encode; the tests switch to the third (MJPEG, like a USB webcam).
  '--use-fake-device-for-media-stream=device-count=3',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];
