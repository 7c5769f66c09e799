#!/usr/bin/env node
// Builds the TUN link's N-API addon (native/tun.cc -> build/Release/synack_tun.node)
// with node-gyp against the Node headers already on this machine, so nothing
// is downloaded (--nodedir). Runs as the package's "install" script: where the
// addon cannot be built (not Linux, no compiler, no headers, no node-gyp) it
// prints a warning and exits 0, so `npm install`/`npm ci` still succeed and
// the rest of synack works; only the TUN link then reports why it is missing.
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
// The reason the addon is absent, read by src/link/tun.ts to explain the error.
const reasonFile = join(root, 'build', 'synack-tun-build-error.txt');

function skip(reason, detail = '') {
  console.warn(`synack: TUN addon not built: ${reason}${detail ? `\n${detail}` : ''}`);
  console.warn('synack: everything except the TUN link (synack serve/connect --tun) works without it.');
  try {
    mkdirSync(dirname(reasonFile), { recursive: true });
    writeFileSync(reasonFile, `${reason}\n${detail}`);
  } catch { /* best effort: the warning above already said it */ }
  process.exit(0);
}

if (process.env.SYNACK_SKIP_ADDON) skip('SYNACK_SKIP_ADDON is set');
if (process.platform !== 'linux') skip(`TUN link is Linux-only (platform is ${process.platform})`);

// Local Node headers: <nodedir>/include/node/node_api.h. Candidates: the
// npm-configured nodedir, the prefix of the running node binary
// (/usr/bin/node -> /usr), then the usual distribution prefixes.
function hasHeaders(dir) {
  return !!dir && existsSync(join(dir, 'include', 'node', 'node_api.h')) && existsSync(join(dir, 'include', 'node', 'common.gypi'));
}
const candidates = [
  process.env.SYNACK_NODEDIR,
  process.env.npm_config_nodedir,
  resolve(dirname(process.execPath), '..'),
  '/usr',
  '/usr/local',
].filter(Boolean);
const nodedir = candidates.find(hasHeaders);
if (!nodedir) skip('no local Node headers found', `looked for include/node/node_api.h under: ${candidates.join(', ')}`);

// node-gyp: our devDependency when present, else the copy npm bundles (npm
// exports its path as npm_config_node_gyp to lifecycle scripts).
let gyp;
try { gyp = require.resolve('node-gyp/bin/node-gyp.js'); } catch { gyp = process.env.npm_config_node_gyp; }
if (!gyp || !existsSync(gyp)) skip('node-gyp not found (neither node_modules/node-gyp nor npm\'s bundled copy)');
try { require.resolve('node-addon-api'); } catch { skip('node-addon-api is not installed'); }

rmSync(reasonFile, { force: true });
const args = [gyp, 'rebuild', `--nodedir=${nodedir}`, '--release', '--jobs=2'];
const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: nodedir } });
const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
if (r.error || r.status !== 0) {
  const errors = out.split('\n').filter((l) => /error|Error|ERR|not found|No such file/.test(l));
  // The line that names the cause (a compiler error, a missing program), not node-gyp's stack and banner.
  const cause = errors.find((l) => !/gyp ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok|configure error|build error)/.test(l) && l.trim() !== 'gyp ERR!');
  skip(`node-gyp failed (${r.error ? r.error.message : `exit ${r.status}`})${cause ? `: ${cause.replace(/^gyp ERR! /, '').trim()}` : ''}`, errors.slice(0, 20).join('\n'));
}
const built = join(root, 'build', 'Release', 'synack_tun.node');
if (!existsSync(built)) skip('node-gyp finished but build/Release/synack_tun.node is missing', out.slice(-2000));
console.log(`synack: TUN addon built: ${built} (headers from ${nodedir})`);
