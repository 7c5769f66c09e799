/**
 * The floor under `synack analyze --format json` on this machine: what a Node program costs that reads the
 * bench capture and finds every packet's connection, with no analysis at all (no Zeek, Wireshark or RFC 9293
 * model: only per-side packet and byte counters), and then writes one JSON line per connection with the same
 * keys as the analyzer's (values from the counters, constants for the classifications). bench/analyze.ts runs
 * it in a fresh process per mode, timed inside like the analyzer, and reports it against tshark in the same
 * run: the analyzer cannot be faster than this.
 *
 * Modes: `read` (reading, record and IPv4/TCP header parsing, the 4-tuple lookup in typed arrays), `json`
 * (+ the lines with JSON.stringify, as the analyzer writes them), `bytes` (+ the lines written straight into
 * UTF-8 bytes by the writer below: the fastest output found, about 2x JSON.stringify on these lines in
 * isolation, but no faster in the analyzer end to end, so the analyzer keeps JSON.stringify). Only what the
 * bench capture holds: classic pcap, raw IPv4 (link type 101), TCP.
 */
import { openSync, readSync, closeSync } from 'node:fs';

export type FloorMode = 'read' | 'json' | 'bytes';

const CAP = 1 << 17;
const MASK = CAP - 1;
/** Float64 slots per flow. */
const W = 16;

function hash(a: number, b: number, p: number): number {
  let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) ^ p;
  h ^= h >>> 15;
  return Math.imul(h, 0xc2b2ae35) ^ (h >>> 13);
}

// The bytes writer: one output buffer, constant fragments copied, integers digit by digit.
let out = new Uint8Array(1 << 20);
let pos = 0;
function raw(b: Uint8Array): void {
  out.set(b, pos);
  pos += b.length;
}
function ascii(s: string): void {
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
}
/** Non-negative integers as digits; anything else as JSON.stringify writes it (finite here). */
function num(x: number): void {
  if (x >= 0 && x <= 0x7fffffff && (x | 0) === x) {
    let digits = 1;
    for (let t = x; t >= 10; t = (t / 10) | 0) digits++;
    let p = pos + digits;
    pos = p;
    do {
      const q = (x / 10) | 0;
      out[--p] = 0x30 + x - q * 10;
      x = q;
    } while (x > 0);
  } else {
    ascii(String(x));
  }
}
function ipv4(x: number): void {
  out[pos++] = 0x22;
  num(x >>> 24);
  out[pos++] = 0x2e;
  num((x >>> 16) & 255);
  out[pos++] = 0x2e;
  num((x >>> 8) & 255);
  out[pos++] = 0x2e;
  num(x & 255);
  out[pos++] = 0x22;
}

const ipText = (x: number): string => `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;

const KEYS = ['{"type":"connection","uid":', ',"ts":', ',"duration":', ',"orig_h":', ',"orig_p":', ',"resp_h":', ',"resp_p":',
  ',"ip_version":4,"handshake":"normal","close":"four-way","half_close_data":false,"orig_state":"TIME-WAIT","resp_state":"CLOSED","conn_state":"SF","history":',
  ',"completeness":31,"completeness_label":"Complete, WITH_DATA","orig_flags":', ',"resp_flags":', ',"orig_pkts":', ',"resp_pkts":',
  ',"orig_bytes":', ',"resp_bytes":', ',"orig_ip_bytes":', ',"resp_ip_bytes":',
  ',"retransmissions":0,"dup_acks":0,"out_of_order":0,"zero_windows":0,"keep_alives":0,"lost_segments":0,"bad_checksums":0,"first_frame":',
  ',"last_frame":', ',"direction_inferred":false,"split":null,"zeek":{"duration":', ',"orig_bytes":', ',"resp_bytes":',
  ',"missed_bytes":0,"orig_pkts":', ',"resp_pkts":', ',"orig_ip_bytes":', ',"resp_ip_bytes":',
  ',"orig_endpoint_state":"CLOSED","resp_endpoint_state":"CLOSED"},"anomalies":[],"zeek_splits":[]}\n'].map((k) => new TextEncoder().encode(k));

/** Runs the floor over `file`; returns the output bytes and connections (the output itself is dropped). */
export function floor(file: string, mode: FloorMode): { connections: number; outputBytes: number; packets: number } {
  const kA = new Uint32Array(CAP);
  const kB = new Uint32Array(CAP);
  const kP = new Uint32Array(CAP);
  const used = new Uint8Array(CAP);
  const N = new Float64Array(CAP * W);
  const fd = openSync(file, 'r');
  // One buffer: the unread tail of a read (a partial record, < 64 KiB) moves to its start and the next read
  // goes after it, so no record is copied more than once.
  const d = new Uint8Array((1 << 20) + (1 << 16));
  let tail = 0;
  let first = true;
  let frame = 0;
  let ids = 0;
  for (;;) {
    const n = readSync(fd, d, tail, 1 << 20, null);
    const end = tail + n;
    let o = first ? 24 : 0;
    first = false;
    while (o + 16 <= end) {
      const incl = d[o + 8]! | (d[o + 9]! << 8) | (d[o + 10]! << 16);
      if (o + 16 + incl > end) break;
      const ts = ((d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24)) >>> 0) + (d[o + 4]! | (d[o + 5]! << 8) | (d[o + 6]! << 16)) / 1e6;
      const p = o + 16;
      frame++;
      const ihl = (d[p]! & 15) * 4;
      const tl = (d[p + 2]! << 8) | d[p + 3]!;
      const src = ((d[p + 12]! << 24) | (d[p + 13]! << 16) | (d[p + 14]! << 8) | d[p + 15]!) >>> 0;
      const dst = ((d[p + 16]! << 24) | (d[p + 17]! << 16) | (d[p + 18]! << 8) | d[p + 19]!) >>> 0;
      const t = p + ihl;
      const sp = (d[t]! << 8) | d[t + 1]!;
      const dp = (d[t + 2]! << 8) | d[t + 3]!;
      const fl = d[t + 13]!;
      const len = tl - ihl - (d[t + 12]! >> 4) * 4;
      const lo = src < dst || (src === dst && sp < dp);
      const a = lo ? src : dst;
      const b = lo ? dst : src;
      const pp = lo ? ((sp << 16) | dp) >>> 0 : ((dp << 16) | sp) >>> 0;
      let i = hash(a, b, pp) & MASK;
      while (used[i] && !(kA[i] === a && kB[i] === b && kP[i] === pp)) i = (i + 1) & MASK;
      const r = i * W;
      if (!used[i]) {
        used[i] = 1;
        kA[i] = a;
        kB[i] = b;
        kP[i] = pp;
        N.fill(0, r, r + W);
        N[r] = ids++;
        N[r + 1] = ts;
        N[r + 11] = frame;
        N[r + 13] = src;
        N[r + 14] = sp;
      }
      const side = src === N[r + 13] && sp === N[r + 14] ? 0 : 1;
      N[r + 3 + side] = N[r + 3 + side]! | fl;
      N[r + 5 + side]++;
      N[r + 7 + side] += len;
      N[r + 9 + side] += tl;
      N[r + 2] = ts;
      N[r + 12] = frame;
      o += 16 + incl;
    }
    d.copyWithin(0, o, end);
    tail = end - o;
    if (n === 0) break;
  }
  closeSync(fd);

  let outputBytes = 0;
  let connections = 0;
  let text = '';
  for (let s = 0; s < CAP; s++) {
    if (!used[s]) continue;
    connections++;
    const r = s * W;
    const dur = N[r + 2]! - N[r + 1]!;
    const resp = kA[s] === N[r + 13] ? kB[s]! : kA[s]!;
    const respPort = kA[s] === N[r + 13] ? kP[s]! & 0xffff : kP[s]! >>> 16;
    const uid = 'C' + N[r]!.toString(36);
    if (mode === 'json') {
      text += JSON.stringify({
        type: 'connection', uid, ts: N[r + 1], duration: dur, orig_h: ipText(N[r + 13]!), orig_p: N[r + 14], resp_h: ipText(resp),
        resp_p: respPort, ip_version: 4, handshake: 'normal', close: 'four-way', half_close_data: false, orig_state: 'TIME-WAIT',
        resp_state: 'CLOSED', conn_state: 'SF', history: 'ShADdFaf', completeness: 31, completeness_label: 'Complete, WITH_DATA',
        orig_flags: N[r + 3], resp_flags: N[r + 4], orig_pkts: N[r + 5], resp_pkts: N[r + 6], orig_bytes: N[r + 7], resp_bytes: N[r + 8],
        orig_ip_bytes: N[r + 9], resp_ip_bytes: N[r + 10], retransmissions: 0, dup_acks: 0, out_of_order: 0, zero_windows: 0,
        keep_alives: 0, lost_segments: 0, bad_checksums: 0, first_frame: N[r + 11], last_frame: N[r + 12], direction_inferred: false,
        split: null, zeek: {
          duration: dur, orig_bytes: N[r + 7], resp_bytes: N[r + 8], missed_bytes: 0, orig_pkts: N[r + 5], resp_pkts: N[r + 6],
          orig_ip_bytes: N[r + 9], resp_ip_bytes: N[r + 10], orig_endpoint_state: 'CLOSED', resp_endpoint_state: 'CLOSED',
        },
        anomalies: [], zeek_splits: [],
      }) + '\n';
      if (text.length >= 1 << 16) {
        // Encoded as a write to a stream would (the analyzer writes bytes).
        outputBytes += Buffer.byteLength(text);
        text = '';
      }
    } else if (mode === 'bytes') {
      let k = 0;
      raw(KEYS[k++]!); out[pos++] = 0x22; ascii(uid); out[pos++] = 0x22;
      raw(KEYS[k++]!); num(N[r + 1]!);
      raw(KEYS[k++]!); num(dur);
      raw(KEYS[k++]!); ipv4(N[r + 13]!);
      raw(KEYS[k++]!); num(N[r + 14]!);
      raw(KEYS[k++]!); ipv4(resp);
      raw(KEYS[k++]!); num(respPort);
      raw(KEYS[k++]!); ascii('"ShADdFaf"');
      for (let j = 3; j <= 10; j++) { raw(KEYS[k++]!); num(N[r + j]!); }
      raw(KEYS[k++]!); num(N[r + 11]!);
      raw(KEYS[k++]!); num(N[r + 12]!);
      raw(KEYS[k++]!); num(dur);
      raw(KEYS[k++]!); num(N[r + 7]!);
      raw(KEYS[k++]!); num(N[r + 8]!);
      raw(KEYS[k++]!); num(N[r + 5]!);
      raw(KEYS[k++]!); num(N[r + 6]!);
      raw(KEYS[k++]!); num(N[r + 9]!);
      raw(KEYS[k++]!); num(N[r + 10]!);
      raw(KEYS[k++]!);
      // Handed to the (dropped) output in 1 MB chunks, as a stream write would take them.
      if (pos >= out.length - 4096) {
        outputBytes += pos;
        out = new Uint8Array(1 << 20);
        pos = 0;
      }
    }
  }
  outputBytes += mode === 'bytes' ? pos : Buffer.byteLength(text);
  pos = 0;
  return { connections, outputBytes, packets: frame };
}
