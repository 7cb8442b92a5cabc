// Runs the e2e (e2e/run.mjs) against the in-memory stand-in (e2e/mock-platform.mjs) instead of
// the real platform: a quick check of the client alone. Needs `npm run build` first.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const port = process.env.MOCK_PORT ?? '8090';
const url = `http://127.0.0.1:${port}`;
const here = (f) => fileURLToPath(new URL(f, import.meta.url));

const mock = spawn(process.execPath, [here('./mock-platform.mjs')], { env: { ...process.env, MOCK_PORT: port }, stdio: ['ignore', 'inherit', 'inherit'] });
const stopMock = () => {
  if (mock.exitCode === null) mock.kill('SIGTERM');
};
process.on('exit', stopMock);

async function waitHealthy(deadline) {
  while (Date.now() < deadline) {
    if (mock.exitCode !== null) throw new Error(`the mock exited with ${mock.exitCode}`);
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the mock did not answer on ${url} within 10 s`);
}

try {
  await waitHealthy(Date.now() + 10_000);
} catch (e) {
  console.error(e.message);
  stopMock();
  process.exit(1);
}
// The mock has no SFU, so the live-video steps are skipped (E2E_MEDIA=skip).
const run = spawn(process.execPath, [here('./run.mjs')], { env: { ...process.env, STAGECAST_URL: url, E2E_MEDIA: 'skip' }, stdio: 'inherit' });
run.on('exit', (code) => {
  stopMock();
  process.exit(code ?? 1);
});
