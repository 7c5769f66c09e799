/**
 * How a socket starts flowing and how connect()'s first transition is replayed, as node:net behaves: a 'data'
 * listener (or resume()) never emits data inside the call that added it; data already received comes in the
 * next tick, before anything received later, with 'resume' first for its listeners; pause() in the same tick
 * keeps the data until resume(). A 'state' listener added with connect() hears CLOSED → SYN-SENT before any
 * later transition, even when the network is stepped before a tick runs; added after the handshake, it never
 * hears it. Socket#resume does Readable's resume_ at once when nothing is readable, and in one tick otherwise
 * (src/stack/socket.ts), so each of these fails if that shortcut emits early, late, twice or out of order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Network } from '../link/network.js';
import { Server } from './server.js';
import { Socket } from './socket.js';

function setup() {
  const n = new Network({ seed: 11, delayMs: 0.5 });
  const server = n.addStack({ name: 's', addresses: ['10.0.0.2'] });
  const client = n.addStack({ name: 'c', addresses: ['10.0.0.1'] });
  return { n, server, client };
}

const tick = () => new Promise<void>((r) => process.nextTick(r));

/**
 * A client that lets the server's 'hello' arrive before anyone reads, then adds 'resume' and 'data' listeners:
 * what is emitted inside on('data'), after one tick, and once ' world' (written after) has arrived.
 */
async function lateListener(s: net.Socket | Socket, withResume: boolean, arrived: () => Promise<void>, more: () => Promise<void>): Promise<string[]> {
  const log: string[] = [];
  await arrived();
  if (withResume) s.on('resume', () => log.push('resume'));
  s.on('data', (d: Buffer) => log.push(`data:${String(d)}`));
  log.push('added');
  await tick();
  log.push('tick');
  await more();
  return log;
}

test("data already received when a 'data' listener is added: after that call, in the next tick, before later data, as node:net", async () => {
  for (const withResume of [false, true]) {
    // node:net on 127.0.0.1: the socket reads ahead into its buffer; the listener's data comes in resume_'s tick.
    let serverSide!: net.Socket;
    const srv = net.createServer((c) => { serverSide = c; c.write('hello'); });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const ks = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
    const kernel = await lateListener(ks, withResume,
      async () => { while (ks.readableLength < 5) await new Promise((r) => setTimeout(r, 5)); },
      async () => { serverSide.write(' world'); await new Promise<void>((r) => ks.once('data', () => r())); });
    ks.destroy();
    srv.close();
    assert.deepEqual(kernel, withResume ? ['added', 'resume', 'data:hello', 'tick', 'data: world'] : ['added', 'data:hello', 'tick', 'data: world']);

    // Without a 'resume' listener, Socket#resume's own tick; with one, Readable's resume_.
    const { n, server, client } = setup();
    let accepted!: Socket;
    new Server(server, {}, (c) => { accepted = c; c.write('hello'); }).listen(7);
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
    const ours = await lateListener(s, withResume,
      () => n.runUntil(() => s.conn !== null && s.conn.tcp.readableLength === 5, 1_000),
      async () => { accepted.write(' world'); await n.runUntil(() => s.bytesRead === 11, 1_000); });
    assert.deepEqual(ours, kernel, `'resume' listener: ${withResume}`);
    n.close();
  }
});

test("a 'data' listener added before anything arrived: nothing inside the call, then every byte intact and in order", async () => {
  const { n, server, client } = setup();
  const sent = Buffer.alloc(300_000);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + (i >> 9)) & 255;
  new Server(server, {}, (c) => { c.on('data', () => undefined); c.end(sent); }).listen(7);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
  const chunks: Buffer[] = [];
  const log: string[] = [];
  s.on('data', (d: Buffer) => { chunks.push(d); });
  s.on('resume', () => log.push('resume'));
  log.push(`inside:${chunks.length}`);
  s.on('end', () => log.push('end'));
  s.on('close', (hadError: boolean) => log.push(`close:${hadError}`));
  await n.runUntil(() => s.destroyed && log.includes('close:false'), 10_000);
  assert.ok(Buffer.concat(chunks).equals(sent), 'bytes delivered intact');
  // The 'resume' listener came after the 'data' listener had already started the flow: no 'resume' for it, as
  // in node:net, where resume_ has not run yet but emits 'resume' once (added before its tick): see the next test.
  assert.deepEqual(log.filter((e) => e !== 'resume'), ['inside:0', 'end', 'close:false']);
  n.close();
});

test("'resume' is emitted once, in the next tick, to a listener added before the 'data' listener", async () => {
  const { n, server, client } = setup();
  new Server(server, {}, (c) => c.end('bye')).listen(7);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
  const log: string[] = [];
  s.on('resume', () => log.push('resume'));
  s.on('data', (d: Buffer) => log.push(`data:${String(d)}`));
  log.push('added');
  await tick();
  log.push('tick');
  await n.runUntil(() => s.destroyed, 1_000);
  assert.deepEqual(log, ['added', 'resume', 'tick', 'data:bye']);
  n.close();
});

test("pause() right after on('data') keeps what arrives until resume(), then it flows intact", async () => {
  const { n, server, client } = setup();
  let accepted!: Socket;
  new Server(server, {}, (c) => { accepted = c; c.write('one,'); }).listen(7);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
  let got = '';
  s.on('data', (d: Buffer) => { got += String(d); });
  s.pause();
  await n.runUntil(() => s.conn !== null && s.readableLength + s.conn.tcp.readableLength === 4, 1_000);
  accepted.write('two');
  await n.runUntil(() => s.readableLength + s.conn!.tcp.readableLength === 7, 1_000);
  assert.equal(got, '', 'paused: nothing emitted');
  s.resume();
  assert.equal(got, '', 'resume() emits nothing inside the call');
  await n.runUntil(() => got.length === 7, 1_000);
  assert.equal(got, 'one,two');
  n.close();
});

test("a 'state' listener added with connect() hears CLOSED → SYN-SENT first, even when the network steps before a tick", async () => {
  for (const stepAtOnce of [false, true]) {
    const { n, server, client } = setup();
    new Server(server, {}, (c) => c.resume()).listen(7);
    const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
    const states: string[] = [];
    s.on('state', (to: string, from: string) => states.push(`${from}>${to}`));
    // Stepped synchronously, the SYN-ACK is processed before any tick: the replay must still come first.
    if (stepAtOnce) while (s.tcpState !== 'ESTABLISHED' && n.step()) { /* virtual steps, no ticks */ }
    await n.runUntil(() => s.tcpState === 'ESTABLISHED', 1_000);
    assert.deepEqual(states, ['CLOSED>SYN-SENT', 'SYN-SENT>ESTABLISHED'], `stepped at once: ${stepAtOnce}`);
    n.close();
  }
});

test("a 'state' listener added after the handshake never hears connect()'s transition; one added twice hears it once each", async () => {
  const { n, server, client } = setup();
  new Server(server, {}, (c) => c.resume()).listen(7);
  const s = Socket.connect(client, { host: '10.0.0.2', port: 7 });
  const early: string[] = [];
  s.once('state', (to: string, from: string) => early.push(`once ${from}>${to}`));
  s.prependListener('state', (to: string, from: string) => early.push(`first ${from}>${to}`));
  await n.runUntil(() => s.tcpState === 'ESTABLISHED', 1_000);
  const late: string[] = [];
  s.on('state', (to: string, from: string) => late.push(`${from}>${to}`));
  await tick();
  s.end();
  await n.runUntil(() => s.destroyed, 1_000);
  assert.deepEqual(early.slice(0, 3), ['first CLOSED>SYN-SENT', 'once CLOSED>SYN-SENT', 'first SYN-SENT>ESTABLISHED']);
  assert.equal(late[0], 'ESTABLISHED>FIN-WAIT-1');
  assert.ok(!late.some((t) => t.startsWith('CLOSED>SYN-SENT')));
  n.close();
});
