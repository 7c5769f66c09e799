/** `synack analyze --format table` lists connections in the order of their first packets (JSON: as they finish). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { analyzeCommand } from './analyze.js';
import { runCli } from './test-io.js';
import { Conversation, PcapBuilder } from '../analyze/synth.js';

test('table rows by first packet; JSON lines by finishing; a filter keeps the order', async () => {
  const pcap = new PcapBuilder();
  // A starts first and stays open to the end; B starts later and closes, and a new SYN on B's tuple (C) ends
  // it at once (Zeek's reuse rule): B finishes first, A and C at the end of the capture.
  const a = new Conversation(pcap, '10.0.0.1:1001', '10.0.0.2:80', { time: 1700000000 });
  a.handshake();
  const b = new Conversation(pcap, '10.0.0.1:1002', '10.0.0.2:80', { time: 1700000001 });
  b.handshake().send('c', 'FA').send('s', 'FA').send('c', 'A');
  const c = new Conversation(pcap, '10.0.0.1:1002', '10.0.0.2:80', { time: 1700000002, cIsn: 900000 });
  c.handshake().send('c', 'FA').send('s', 'FA').send('c', 'A');
  a.time = 1700000003;
  a.send('c', 'PA', { len: 5 });
  const bytes = pcap.take();
  const run = (args: string[]) => runCli(analyzeCommand, ['-', ...args], { stdin: Readable.from([Buffer.from(bytes)]) });
  const ports = (out: string): number[] => [...out.matchAll(/10\.0\.0\.1:(100\d)/g)].map((m) => Number(m[1]));
  const json = await run(['--format', 'json']);
  const jsonPorts = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; orig_p: number }).filter((o) => o.type === 'connection').map((o) => o.orig_p);
  assert.deepEqual(jsonPorts, [1002, 1001, 1002], 'JSON streams connections as they finish');
  const table = (await run(['--format', 'table'])).stdout;
  assert.deepEqual(ports(table), [1001, 1002, 1002]);
  assert.ok(table.indexOf('open') < table.indexOf('three-way'), 'the open connection A comes first');
  assert.deepEqual(ports((await run(['--format', 'table', '--filter', 'close ~ three-way'])).stdout), [1002, 1002]);
});
