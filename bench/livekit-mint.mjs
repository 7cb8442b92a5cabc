// The peer for bench/src/bin/token_mint.rs: LiveKit's Node server SDK minting room-join tokens
// (HS256 JWTs) with grants like ours, N per round after a warm-up, CPU time from
// process.cpuUsage(). Prints one JSON line. Installed by bench/token-mint.sh.
//
//   node bench/livekit-mint.mjs 20000
import { AccessToken } from 'livekit-server-sdk';

const n = Number(process.argv[2] ?? 20000);
const mint = (i) => {
  const at = new AccessToken('APIbenchkey', 's'.repeat(48), { identity: `viewer${i}`, name: `Viewer ${i}`, ttl: '5m' });
  at.addGrant({ roomJoin: true, room: 'event-1', canSubscribe: true, canPublish: false, hidden: false });
  return at.toJwt();
};
for (let i = 0; i < 2000; i++) await mint(i); // JIT warm-up
const c0 = process.cpuUsage();
let bytes = 0;
for (let i = 0; i < n; i++) bytes += (await mint(i)).length;
const c = process.cpuUsage(c0);
const cpu = (c.user + c.system) / 1e6;
console.log(JSON.stringify({ tokens: n, cpu_s: cpu, per_cpu_s: n / cpu, avg_len: bytes / n }));
