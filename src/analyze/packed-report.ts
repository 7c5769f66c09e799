/**
 * Finished connections packed into numbers, so that their JSON lines can be written by another thread
 * (src/cli/analyze-worker.ts): handing report objects to a worker would serialise them field by field
 * (structured clone) on the analyzing thread. Instead that thread copies each Connection's fields into one
 * Float64Array per batch (transferred, not copied) plus one string for the histories, and builds no report;
 * `formatPacked` builds the report on the worker, with toReport's keys, order and arithmetic, and serialises
 * it with `jsonLine`: the same bytes as `jsonLine(toReport(c))` (tested).
 */
import type { TcpStateName } from '../wire/trace.js';
import { TCP_STATES } from '../wire/trace.js';
import type { CloseKind, Connection, HandshakeKind } from './connection.js';
import { jsonLine } from './format.js';
import {
  addressText, completenessLabel, reportedState, round6, toReport, uidFor, type ConnectionFacts, type ConnectionReport,
} from './report.js';
import { ZEEK_STATE_NAMES } from './zeek.js';
import { reasonFor } from './reason.js';
import { SERVICES } from './service.js';

const HANDSHAKES: readonly HandshakeKind[] = ['normal', 'simultaneous-open', 'retried-syn', 'refused', 'unanswered', 'midstream',
  'no-final-ack', 'no-syn-ack'];
const CLOSES: readonly CloseKind[] = ['four-way', 'three-way', 'simultaneous', 'four-way-no-last-ack', 'three-way-no-last-ack',
  'simultaneous-no-last-ack', 'rst-by-originator', 'rst-by-responder', 'half-closed', 'open', 'refused', 'unanswered'];
// Zeek's conn_state values (§1.5) and the `split` reasons the analyzer gives.
const CONN_STATES: readonly string[] = ['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'];
const SPLITS: readonly string[] = ['syn-after-close', 'active-connection-reuse', 'premature-connection-reuse', 'syn-seq-jump',
  'attempt-timeout', 'closed', 'inactivity', 'expired'];

function indexOf(names: readonly string[]): Map<string, number> {
  return new Map(names.map((n, i) => [n, i]));
}
const HANDSHAKE_INDEX = indexOf(HANDSHAKES);
const CLOSE_INDEX = indexOf(CLOSES);
const RFC_INDEX = indexOf(TCP_STATES);
const CONN_STATE_INDEX = indexOf(CONN_STATES);
const SPLIT_INDEX = indexOf(SPLITS);

/** Float64 slots per connection (layout in `ReportPacker.add`). */
const SLOTS = 54;
/** Separates the text fields: JSON.stringify escapes every control character, and histories have none. */
const SEP = '\u0001';
/** Separates a connection's history from its reason line (neither has control characters). */
const SEP2 = '\u0002';
/** Slot 0: how the connection is packed. */
const PACKED = 0;
/** The whole JSON line is in the text (rare: connections with anomalies or Zeek-only splits, or a name not listed here). */
const LINE = 1;

export interface PackedBatch {
  count: number;
  nums: Float64Array;
  text: string;
}

/** Address bytes as four 32-bit words (IPv4: the first only). */
function packAddress(v: Float64Array, at: number, a: Uint8Array): void {
  for (let w = 0; w < a.length; w += 4) v[at + (w >> 2)] = ((a[w]! << 24) | (a[w + 1]! << 16) | (a[w + 2]! << 8) | a[w + 3]!) >>> 0;
}

const v6 = new Uint8Array(16);
function unpackAddress(v: Float64Array, at: number, version: number): string {
  if (version === 4) {
    const x = v[at]!;
    return `${x >>> 24}.${(x >>> 16) & 0xff}.${(x >>> 8) & 0xff}.${x & 0xff}`;
  }
  for (let w = 0; w < 4; w++) {
    const x = v[at + w]!;
    v6[4 * w] = x >>> 24;
    v6[4 * w + 1] = (x >>> 16) & 0xff;
    v6[4 * w + 2] = (x >>> 8) & 0xff;
    v6[4 * w + 3] = x & 0xff;
  }
  return addressText(v6);
}

/** Collects finished connections into batches of `capacity`. */
export class ReportPacker {
  private nums: Float64Array;
  private n = 0;
  private text = '';

  constructor(readonly capacity = 512) {
    this.nums = new Float64Array(capacity * SLOTS);
  }

  get size(): number { return this.n; }
  get full(): boolean { return this.n >= this.capacity; }

  /** A connection's JSON line, already serialised. */
  addLine(line: string): void {
    this.nums[this.n++ * SLOTS] = LINE;
    this.text += line + SEP;
  }

  /**
   * A connection without anomalies or Zeek-only splits (the analyzer's `onFinished` with a null report), read
   * from the Connection as toReport reads it; `f` holds what the analyzer already classified.
   */
  add(c: Connection, f: ConnectionFacts): void {
    const hs = HANDSHAKE_INDEX.get(f.handshake);
    const cl = CLOSE_INDEX.get(f.close);
    const cs = CONN_STATE_INDEX.get(f.conn_state);
    const sp = c.splitReason === null ? -1 : SPLIT_INDEX.get(c.splitReason);
    if (c.anomalies !== null || c.zeekRows !== null || hs === undefined || cl === undefined || cs === undefined || sp === undefined) {
      this.addLine(jsonLine(toReport(c)));
      return;
    }
    const v = this.nums;
    const at = this.n++ * SLOTS;
    const o = c.origSide;
    const r = (1 - o) as 0 | 1;
    const so = c.s[o];
    const sr = c.s[r];
    const z = c.zeek;
    const zo = z.orig;
    const zr = z.resp;
    v[at] = PACKED;
    v[at + 1] = c.id;
    v[at + 2] = c.firstTime;
    v[at + 3] = c.lastTime;
    v[at + 4] = c.addr[0].length === 4 ? 4 : 6;
    packAddress(v, at + 5, c.addr[o]);
    packAddress(v, at + 9, c.addr[r]);
    v[at + 13] = c.port[o];
    v[at + 14] = c.port[r];
    v[at + 15] = hs;
    v[at + 16] = cl;
    v[at + 17] = c.halfCloseData ? 1 : 0;
    const os = reportedState(so);
    const rs = reportedState(sr);
    v[at + 18] = os === null ? -1 : RFC_INDEX.get(os)!;
    v[at + 19] = rs === null ? -1 : RFC_INDEX.get(rs)!;
    v[at + 20] = cs;
    v[at + 21] = c.completeness;
    v[at + 22] = so.flagsSeen;
    v[at + 23] = sr.flagsSeen;
    v[at + 24] = so.pkts;
    v[at + 25] = sr.pkts;
    v[at + 26] = so.payload;
    v[at + 27] = sr.payload;
    v[at + 28] = so.ipBytes;
    v[at + 29] = sr.ipBytes;
    v[at + 30] = c.retransmissions;
    v[at + 31] = c.dupAcks;
    v[at + 32] = c.outOfOrder;
    v[at + 33] = c.zeroWindows;
    v[at + 34] = c.keepAlives;
    v[at + 35] = c.lostSegments;
    v[at + 36] = c.badChecksums;
    v[at + 37] = c.firstFrame;
    v[at + 38] = c.lastFrame;
    v[at + 39] = z.flips > 0 || so.pureSyns === 0 ? 1 : 0;
    v[at + 40] = sp;
    v[at + 41] = z.lastTime - z.startTime;
    v[at + 42] = zo.size(zr);
    v[at + 43] = zr.size(zo);
    v[at + 44] = zo.missedBytes + zr.missedBytes;
    v[at + 45] = so.zeekPkts;
    v[at + 46] = sr.zeekPkts;
    v[at + 47] = so.zeekIpBytes;
    v[at + 48] = sr.zeekIpBytes;
    v[at + 49] = zo.state;
    v[at + 50] = zr.state;
    v[at + 51] = so.synData;
    v[at + 52] = c.groupId;
    v[at + 53] = c.service === null ? -1 : SERVICES.indexOf(c.service);
    this.text += f.history + SEP2 + reasonFor(c, f.handshake, f.close) + SEP;
  }

  /** The batch collected so far (null when empty); the packer starts a new one. */
  take(): PackedBatch | null {
    if (this.n === 0) return null;
    const b: PackedBatch = { count: this.n, nums: this.nums, text: this.text };
    this.nums = new Float64Array(this.capacity * SLOTS);
    this.n = 0;
    this.text = '';
    return b;
  }
}

const NO_ANOMALIES: ConnectionReport['anomalies'] = [];
const NO_SPLITS: ConnectionReport['zeek_splits'] = [];

/** The JSON lines of a batch, in order: the bytes `jsonLine(toReport(c))` gives for each connection. */
export function formatPacked(b: PackedBatch): string {
  const v = b.nums;
  const t = b.text.split(SEP);
  let out = '';
  for (let i = 0; i < b.count; i++) {
    const o = i * SLOTS;
    if (v[o] === LINE) {
      out += t[i]!;
      continue;
    }
    const first = v[o + 2]!;
    const version = v[o + 4]!;
    const completeness = v[o + 21]!;
    const os = v[o + 18]!;
    const rs = v[o + 19]!;
    const sp = v[o + 40]!;
    const texts = t[i]!.split(SEP2);
    // The same keys in the same order, and the same arithmetic, as toReport (report.ts).
    const uid = uidFor(v[o + 1]!);
    const r: ConnectionReport = {
      type: 'connection',
      uid,
      ts: round6(first),
      duration: round6(v[o + 3]! - first),
      orig_h: unpackAddress(v, o + 5, version),
      orig_p: v[o + 13]!,
      resp_h: unpackAddress(v, o + 9, version),
      resp_p: v[o + 14]!,
      ip_version: version as 4 | 6,
      handshake: HANDSHAKES[v[o + 15]!]!,
      close: CLOSES[v[o + 16]!]!,
      half_close_data: v[o + 17] === 1,
      orig_state: os < 0 ? null : TCP_STATES[os]! as TcpStateName,
      resp_state: rs < 0 ? null : TCP_STATES[rs]! as TcpStateName,
      conn_state: CONN_STATES[v[o + 20]!]!,
      history: texts[0]!,
      completeness,
      completeness_label: completenessLabel(completeness),
      orig_flags: v[o + 22]!,
      resp_flags: v[o + 23]!,
      orig_pkts: v[o + 24]!,
      resp_pkts: v[o + 25]!,
      orig_bytes: v[o + 26]!,
      resp_bytes: v[o + 27]!,
      orig_ip_bytes: v[o + 28]!,
      resp_ip_bytes: v[o + 29]!,
      retransmissions: v[o + 30]!,
      dup_acks: v[o + 31]!,
      out_of_order: v[o + 32]!,
      zero_windows: v[o + 33]!,
      keep_alives: v[o + 34]!,
      lost_segments: v[o + 35]!,
      bad_checksums: v[o + 36]!,
      first_frame: v[o + 37]!,
      last_frame: v[o + 38]!,
      direction_inferred: v[o + 39] === 1,
      split: sp < 0 ? null : SPLITS[sp]!,
      zeek: {
        duration: round6(v[o + 41]!),
        orig_bytes: v[o + 42]!,
        resp_bytes: v[o + 43]!,
        missed_bytes: v[o + 44]!,
        orig_pkts: v[o + 45]!,
        resp_pkts: v[o + 46]!,
        orig_ip_bytes: v[o + 47]!,
        resp_ip_bytes: v[o + 48]!,
        orig_endpoint_state: ZEEK_STATE_NAMES[v[o + 49]!]!,
        resp_endpoint_state: ZEEK_STATE_NAMES[v[o + 50]!]!,
      },
      anomalies: NO_ANOMALIES,
      zeek_splits: NO_SPLITS,
      syn_data: v[o + 51]!,
      reason: texts[1]!,
      group: v[o + 52] === v[o + 1] ? uid : uidFor(v[o + 52]!),
      service: v[o + 53]! < 0 ? null : SERVICES[v[o + 53]!]!,
    };
    out += jsonLine(r);
  }
  return out;
}
