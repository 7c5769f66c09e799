/**
 * A socket keeps the Node process alive as net.Socket does: an idle connection with a real clock holds the
 * process until it is unref'ed (or closed); TCP timers alone (TIME-WAIT) do not hold it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const network = fileURLToPath(new URL('../link/network.ts', import.meta.url));
const socket = fileURLToPath(new URL('./socket.ts', import.meta.url));
const serverModule = fileURLToPath(new URL('./server.ts', import.meta.url));

/** Runs `body` in a child Node process (with tsx); resolves with its exit code and run time, or 'alive' after `limitMs`. */
function runChild(body: string, limitMs: number): Promise<{ code: number | null; ms: number } | 'alive'> {
  const code = `
    import { Network } from ${JSON.stringify(network)};
    import { Server } from ${JSON.stringify(serverModule)};
    import { Socket } from ${JSON.stringify(socket)};
    const net = new Network({ realTime: true, delayMs: 1, seed: 5 });
    const server = net.addStack({ name: 'server', addresses: ['10.0.0.2'] });
    const client = net.addStack({ name: 'client', addresses: ['10.0.0.1'] });
    ${body}
  `;
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve('alive'); }, limitMs);
    child.on('exit', (c) => { clearTimeout(timer); resolve({ code: c, ms: performance.now() - t0 }); });
  });
}

test('an idle open connection keeps the process alive; unref() lets it exit (code 0, not 13)', async () => {
  const held = await runChild(`
    const srv = new Server(server, {}, (s) => s.resume()).listen(7);
    srv.unref(); // only the connection should hold the process
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
    await new Promise((r) => s.once('connect', r));
  `, 2500);
  assert.equal(held, 'alive', 'the process stayed alive with an idle connection');

  const released = await runChild(`
    const srv = new Server(server, {}, (s) => { s.unref(); s.resume(); }).listen(7);
    srv.unref();
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
    await new Promise((r) => s.once('connect', r));
    setTimeout(() => s.unref(), 300).unref();
  `, 10_000);
  assert.notEqual(released, 'alive');
  if (released !== 'alive') {
    assert.equal(released.code, 0);
    assert.ok(released.ms >= 300, `exited after ${released.ms.toFixed(0)} ms: before the unref`);
  }
});

test("a closed connection does not hold the process (TIME-WAIT timers are the stack's business)", async () => {
  const r = await runChild(`
    const srv = new Server(server, {}, (s) => { s.resume(); s.end('bye'); }).listen(7);
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
    s.resume();
    await new Promise((r) => s.once('close', r));
    srv.close();
  `, 10_000);
  assert.notEqual(r, 'alive', 'the process exited');
  if (r !== 'alive') assert.equal(r.code, 0);
});
