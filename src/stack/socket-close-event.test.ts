/**
 * 'close' as node:net emits it: once, after 'end' and 'finish' (and after 'error' when destroyed with one), with
 * hadError; stream.finished() completes before it, as for a net.Socket (emitClose is off until the socket is
 * destroyed); a server hears its accepted socket close before the socket's own listeners do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { finished } from 'node:stream';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';

type Sock = net.Socket | Socket;

/** The client's view of the bench lifecycle: connect, 'x', the server's 'y' and end, then end. */
function watch(s: Sock, log: string[], done: () => void): void {
  s.on('data', () => s.end());
  finished(s, (err) => log.push(`finished:${err ? (err as NodeJS.ErrnoException).code ?? err.message : 'ok'}`));
  s.on('close', (hadError: boolean) => { log.push(`close:${hadError}`); done(); });
}

async function kernelLog(): Promise<string[]> {
  const log: string[] = [];
  const srv = net.createServer((s) => { s.once('data', () => s.end('y')); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  await new Promise<void>((resolve) => {
    const s = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1', () => s.write('x'));
    watch(s, log, resolve);
  });
  srv.close();
  return log;
}

test("a lifecycle: stream.finished() before 'close', 'close' once with hadError false, as node:net", async () => {
  const kernel = await kernelLog();
  assert.deepEqual(kernel, ['finished:ok', 'close:false']);
  const n = new Network({ seed: 3, delayMs: 0.5 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  const serverLog: string[] = [];
  const srv = new Server(server, {}, (s) => {
    s.once('data', () => s.end('y'));
    // The server has already let the socket go when its own 'close' listeners run.
    s.on('close', (hadError: boolean) => srv.getConnections((_e, k) => serverLog.push(`close:${hadError} open:${k}`)));
  });
  srv.listen(7);
  const log: string[] = [];
  let closed = 0;
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => s.write('x'));
  watch(s, log, () => { closed++; });
  await n.runUntil(() => closed > 0 && serverLog.length > 0, 10_000);
  await n.runUntil(() => false, 1_000); // nothing more comes
  assert.deepEqual(log, kernel);
  assert.deepEqual(serverLog, ['close:false open:0']);
  n.close();
});

test("destroy(err): 'error', then 'close' with hadError true, once", async () => {
  const n = new Network({ seed: 4, delayMs: 0.5 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  new Server(server, {}, (s) => s.resume()).listen(7);
  const log: string[] = [];
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 }, () => s.destroy(new Error('gave up')));
  s.on('error', (e) => log.push(`error:${e.message}`));
  s.on('close', (hadError: boolean) => log.push(`close:${hadError}`));
  await n.runUntil(() => false, 2_000);
  assert.deepEqual(log, ['error:gave up', 'close:true']);
  n.close();
});
