/**
 * The capture analyzer: capture records in, one report per TCP connection out (streaming: a connection is
 * emitted as soon as Zeek's timers would have removed it, and forgotten), cross-connection anomalies and a
 * summary at the end. Memory is proportional to the connections still open.
 *
 * Connection rule (the one Zeek uses, so that conn_state/history compare one to one): a 4-tuple's packets
 * belong to one connection until a SYN reuses the tuple after a FIN or RST, or with a new ISN (Zeek's
 * IsReuse), or until one of Zeek's timers removes it (unanswered attempt after 5 s, 5 s after a complete
 * close, 5 min of inactivity). The reason is reported in the next connection's `split` field.
 */
import { decapsulate, isSupportedLinkType, LINKTYPE_ETHERNET, ppp } from '../wire/linktypes.js';
import { tunnelPayload } from '../wire/tunnels.js';
import { decodePacket, type DecodedPacket } from '../wire/packet.js';
import { IpReassembler } from '../wire/ip-reassembly.js';
import { formatAddress } from '../wire/address.js';
import { WireError } from '../wire/errors.js';
import type { CaptureRecord, CaptureRecordView } from '../wire/capture.js';
import { ACK, SYN, type TcpSegment } from '../wire/tcp-types.js';
import { Connection, invalidFlagsKind, type AnomalyHit, type CloseKind, type HandshakeKind, type PacketInfo } from './connection.js';
import { ZeekConn, zeekFlipOnCreate, LIKELY_SERVER_PORTS, type ZeekFlagsView } from './zeek.js';
import { AnomalyDetector, scanKindOf, type AnomalyOptions } from './anomalies.js';
import { FlowTable, endpointHashAt, flowKey } from './flow-table.js';
import { PacketFields, parseFastAt } from './fastpath.js';
import {
  addressText, round6, toReport, zeekRowOf, type AnomalyReport, type ConnectionFacts, type ConnectionReport, type SummaryReport,
} from './report.js';

/** Options of `new Analyzer()` and analyzeCapture: checksum handling, traces, and the anomaly thresholds. */
export interface AnalyzerOptions extends AnomalyOptions {
  /**
   * 'count' (default): bad TCP checksums are counted, the packets analysed anyway (captures taken on the
   * sending host carry unfinished offloaded checksums). 'zeek': drop them like Zeek without -C (history C/c).
   */
  checksums?: 'count' | 'zeek';
  /** Keep every packet for the ladder trace (memory grows with packets of open connections). */
  keepTrace?: boolean;
  /** Read ordinary TCP packets in place (src/analyze/fastpath.ts); false sends every packet through the full decoder. Default true. */
  fastPath?: boolean;
  /** Ports taken as the server side when a connection's SYN was not captured (Zeek's likely_server_ports). */
  likelyServerPorts?: ReadonlySet<number>;
  /**
   * Called for every finished connection, in the order they finish. `conn` is the analyzer's internal state of
   * the connection (not part of the API): use the report.
   */
  onConnection?: (report: ConnectionReport, conn: Connection) => void;
  /**
   * @internal
   * Called for every finished connection instead of onConnection, without building its report when the
   * analyzer's bookkeeping does not need one: `report` is null then, and `facts` (valid only during the call)
   * holds the classification; the caller reads the rest from `conn` (src/analyze/packed-report.ts does).
   */
  onFinished?: (conn: Connection, facts: ConnectionFacts, report: ConnectionReport | null) => void;
  /**
   * @internal
   * Recycle Connection objects once onConnection has returned (the callback must not keep `conn`). Saves the
   * garbage collector copying tens of thousands of young connections on busy captures.
   */
  recycle?: boolean;
}

/** A packet that could not be decoded: its frame number, the byte offset of the problem in the capture, and the error. */
export interface MalformedSample { frame: number; offset: number; message: string }

const SWEEP_EVERY = 32768;
const POOL_MAX = 16384;
/** Seconds of capture time between sweeps for expired connections (a connection that gets another packet is checked then). */
const SWEEP_INTERVAL = 10;
const TEREDO_PORT = 3544;
/** Tunnels inside tunnels followed at most this deep. */
const MAX_TUNNEL_DEPTH = 4;

/** The IPv6 packet a Teredo UDP datagram carries (RFC 4380 §5.1.1), or null when it is not Teredo. */
function teredoInner(udp: Uint8Array): Uint8Array | null {
  if (udp.length < 8 + 40) return null;
  const sport = (udp[0]! << 8) | udp[1]!;
  const dport = (udp[2]! << 8) | udp[3]!;
  const onPort = sport === TEREDO_PORT || dport === TEREDO_PORT;
  let o = 8;
  // Authentication indicator: 0x0001, ID-len, AU-len, client id, authentication value, nonce(8), confirmation(1).
  if (udp[o] === 0 && udp[o + 1] === 1) {
    if (udp.length < o + 4) return null;
    o += 4 + udp[o + 2]! + udp[o + 3]! + 8 + 1;
  }
  // Origin indication: 0x0000 + port(2) + address(4).
  if (udp.length >= o + 8 && udp[o] === 0 && udp[o + 1] === 0) o += 8;
  if (udp.length < o + 40 || udp[o]! >> 4 !== 6) return null;
  // Like Zeek's Teredo detection, off port 3544 too (relays use any port), when the IPv6 length fits exactly.
  const plen = (udp[o + 4]! << 8) | udp[o + 5]!;
  if (!onPort && o + 40 + plen !== udp.length) return null;
  return udp.subarray(o);
}

const NO_ANOMALIES: AnomalyHit[] = [];

/**
 * ConnectionFacts read straight from a Connection that has no anomalies and no Zeek-only splits (the values
 * toReport would give); the addresses and the timestamp are computed only if read (the anomaly detector
 * needs them for failed handshakes only).
 */
class LiveFacts implements ConnectionFacts {
  conn: Connection | null = null;
  readonly anomalies = NO_ANOMALIES;
  handshake: HandshakeKind = 'normal';
  close: CloseKind = 'open';
  conn_state = '';
  history = '';
  orig_bytes = 0;
  resp_bytes = 0;
  resp_p = 0;
  first_frame = 0;

  of(c: Connection): this {
    const o = c.origSide;
    this.conn = c;
    this.handshake = c.handshake();
    this.close = c.close();
    this.conn_state = c.zeek.connState();
    this.history = c.zeek.history;
    this.orig_bytes = c.s[o].payload;
    this.resp_bytes = c.s[1 - o]!.payload;
    this.resp_p = c.port[1 - o]!;
    this.first_frame = c.firstFrame;
    return this;
  }

  get orig_h(): string { return addressText(this.conn!.addr[this.conn!.origSide]); }
  get resp_h(): string { return addressText(this.conn!.addr[1 - this.conn!.origSide]!); }
  get ts(): number { return round6(this.conn!.firstTime); }
}

/**
 * The streaming capture analyzer: feed it capture records (packet()), get one ConnectionReport per TCP
 * connection through `onConnection` as soon as it is over (by Zeek's rules, so conn_state and history compare
 * one to one), then finish() for the anomalies and summary() for the totals. Memory follows the connections
 * open at once. Bad packet bytes are counted as malformed, never thrown.
 */
export class Analyzer {
  private readonly opts: AnalyzerOptions;
  private readonly flows = new FlowTable();
  private readonly detector: AnomalyDetector;
  private readonly likely: ReadonlySet<number>;
  private nextId = 0;
  private open = 0;
  private sinceSweep = 0;
  private lastSweepTime = -Infinity;
  private now = 0;
  readonly stats = {
    packets: 0, tcpPackets: 0, nonTcp: 0, nonIp: 0, malformed: 0, badChecksums: 0, fragments: 0, reassembled: 0, fragmentOnly: 0,
    truncatedHeaders: 0, unsupportedLink: 0, tunneled: 0, badIpChecksums: 0, connections: 0,
    // NaN, not null, until the first packet: a field that starts as null would box every timestamp stored in it.
    firstTs: NaN, lastTs: NaN,
  };
  readonly malformedSamples: MalformedSample[] = [];
  readonly unsupportedLinkTypes = new Set<number>();
  readonly byClose: Record<string, number> = {};
  readonly byHandshake: Record<string, number> = {};
  readonly byConnState: Record<string, number> = {};
  private anomaliesOut: AnomalyReport[] | null = null;
  private readonly pool: Connection[] = [];
  private readonly view: ZeekFlagsView = { flags: 0, seq: 0, ack: 0, len: 0, caplen: 0, window: 0, wscale: -1 };
  private readonly info: PacketInfo = {
    frame: 0, time: 0, flags: 0, seq: 0, ack: 0, len: 0, window: 0, wscale: -1, ipLen: 0, seg: null,
  };
  private readonly pf = new PacketFields();
  /** IP fragments waiting for the rest of their datagram (bounded: 4 MiB, 1 MiB per source). */
  private readonly reassembler = new IpReassembler();
  /** The packet being analysed was reassembled from fragments. */
  private fromFragments = false;
  private readonly facts = new LiveFacts();
  /** Non-null when ladder traces are kept (the full decoder's segments are needed then). */
  private readonly trace: true | null;
  private readonly fast: boolean;
  /** Peak number of connections held at once (memory proportional to this). */
  peakOpen = 0;

  constructor(opts: AnalyzerOptions = {}) {
    this.opts = opts;
    this.detector = new AnomalyDetector(opts);
    this.likely = opts.likelyServerPorts ?? LIKELY_SERVER_PORTS;
    this.trace = opts.keepTrace === true ? true : null;
    this.fast = opts.fastPath !== false && this.trace === null;
  }

  get openConnections(): number { return this.open; }

  /** Feed one capture record. Never throws for bad packet bytes: they are counted as malformed. */
  packet(rec: CaptureRecord): void {
    const t = this.clock(rec.tsSec, rec.tsNsec);
    // Ladder traces keep the decoded segment, which only the full decoder builds.
    if (this.fast && parseFastAt(rec.linkType, rec.data, 0, rec.data.length, this.pf, true)) {
      this.tcp(rec.frame, t, this.pf, null);
      return;
    }
    this.decode(rec, t);
  }

  /**
   * @internal
   * packet() for a record read in place (CaptureReader.nextView): an ordinary TCP packet is analysed without
   * a record object or a view of its bytes.
   */
  packetView(v: CaptureRecordView): void {
    const t = this.clock(v.tsSec, v.tsNsec);
    if (this.fast && parseFastAt(v.linkType, v.buf, v.start, v.start + v.length, this.pf, true)) {
      this.tcp(v.frame, t, this.pf, null);
      return;
    }
    this.decode({
      frame: v.frame, tsSec: v.tsSec, tsNsec: v.tsNsec, linkType: v.linkType, interfaceId: v.interfaceId,
      data: v.buf.subarray(v.start, v.start + v.length), origLength: v.origLength, offset: v.offset,
    }, t);
  }

  /**
   * @internal
   * packet() for an ordinary TCP packet whose fields `parseFast` already read (on another thread, say): the
   * same analysis as packet() with the fast path. Not for ladder traces (they need the decoded segment).
   */
  packetParsed(frame: number, tsSec: number, tsNsec: number, pf: PacketFields): void {
    if (this.trace !== null) throw new Error('packetParsed: ladder traces need packet() (the decoded segment)');
    const t = this.clock(tsSec, tsNsec);
    this.tcp(frame, t, pf, null);
  }

  /**
   * An IP datagram whole: `decoded` itself when it is no fragment; else the fragment goes to the reassembler
   * (src/wire/ip-reassembly.ts: RFC 791/8200, RFC 5722 overlaps, bounded memory, timeouts on capture time) and
   * the result is the datagram this fragment completed (decoded), or null when it completed none.
   */
  private whole(bytes: Uint8Array, decoded: DecodedPacket, t: number): DecodedPacket | null {
    const ip = decoded.ip;
    if (!ip.mf && ip.fragOffset === 0) return decoded;
    const st = this.stats;
    st.fragments++;
    const out = this.reassembler.push(bytes, t * 1000, ip);
    if (out === null) { st.fragmentOnly++; return null; }
    st.reassembled++;
    this.fromFragments = true;
    return decodePacket(out);
  }

  /** Per-record bookkeeping: counts, capture time, the periodic sweep. Returns the record's time in seconds. */
  private clock(tsSec: number, tsNsec: number): number {
    const st = this.stats;
    st.packets++;
    const t = tsSec + tsNsec / 1e9;
    if (Number.isNaN(st.firstTs)) st.firstTs = t;
    st.lastTs = t;
    if (t > this.now) this.now = t;
    if (++this.sinceSweep >= SWEEP_EVERY) this.sweep();
    return t;
  }

  /** The full decoder's path: other link types, tunnels, fragments, anything unusual. */
  private decode(rec: CaptureRecord, t: number): void {
    const st = this.stats;
    const pf = this.pf;
    if (!isSupportedLinkType(rec.linkType)) {
      st.unsupportedLink++;
      this.unsupportedLinkTypes.add(rec.linkType);
      return;
    }
    let ipBytes: Uint8Array | null;
    let decoded: DecodedPacket | null;
    this.fromFragments = false;
    try {
      ipBytes = decapsulate(rec.linkType, rec.data);
      if (ipBytes === null) { st.nonIp++; return; }
      decoded = this.whole(ipBytes, decodePacket(ipBytes), t);
      if (decoded === null) return;
    } catch (e) {
      this.malformed(rec, e);
      return;
    }
    let ip = decoded.ip;
    // Tunnels (src/wire/tunnels.ts; Teredo, RFC 4380, here with Zeek's heuristics): the TCP inside is what is
    // analysed, as Zeek and Wireshark do. A few levels at most (GRE in VXLAN ...), so hostile nesting is bounded.
    for (let depth = 0; ip.protocol !== 6 && !ip.mf && ip.fragOffset === 0 && depth < MAX_TUNNEL_DEPTH; depth++) {
      let inner: Uint8Array | null;
      try {
        const tp = tunnelPayload(ip.protocol, ip.payload);
        if (tp !== null) inner = tp.carries === 'ip' ? tp.bytes : tp.carries === 'ethernet' ? decapsulate(LINKTYPE_ETHERNET, tp.bytes) : ppp(tp.bytes, 0);
        else inner = ip.protocol === 17 ? teredoInner(ip.payload) : null;
        if (inner === null) break;
        decoded = this.whole(inner, decodePacket(inner), t);
        if (decoded === null) { if (depth === 0) st.tunneled++; return; }
      } catch (e) {
        this.malformed(rec, e);
        return;
      }
      ip = decoded.ip;
      if (depth === 0) st.tunneled++;
    }
    if (ip.protocol !== 6) { st.nonTcp++; return; }
    const badIp = ip.version === 4 && !ip.checksumOk;
    if (badIp && this.opts.checksums === 'zeek') {
      // Zeek drops a datagram whose IPv4 header checksum is wrong before any TCP processing (weird bad_IP_checksum).
      st.badIpChecksums++;
      return;
    }
    const tcp = decoded.tcp;
    if (tcp === null) {
      if (badIp) st.badIpChecksums++;
      if (ip.fragOffset === 0) st.truncatedHeaders++;
      return;
    }
    const seg = tcp.seg;
    pf.srcBuf = ip.src;
    pf.srcOff = 0;
    pf.dstBuf = ip.dst;
    pf.dstOff = 0;
    pf.addrLen = ip.src.length;
    pf.version = ip.version;
    pf.ipTotalLength = ip.totalLength;
    pf.ipChecksumOk = !badIp;
    pf.mf = ip.mf;
    pf.verifiable = !ip.truncated && !ip.mf;
    pf.tcpChecksumOk = decoded.tcpChecksumOk;
    pf.srcPort = seg.srcPort;
    pf.dstPort = seg.dstPort;
    pf.seq = seg.seq;
    pf.ack = seg.ack;
    pf.flags = seg.flags;
    pf.window = seg.window;
    pf.wscale = seg.options.wscale ?? -1;
    // Payload length from the IP header: the snap length may have cut the bytes, not the segment.
    pf.len = ip.mf ? seg.payload.length : ip.totalLength - ip.headerLength - tcp.dataOffset;
    pf.caplen = seg.payload.length;
    pf.payBuf = seg.payload;
    pf.payOff = 0;
    if (pf.len < 0) {
      if (!pf.ipChecksumOk) st.badIpChecksums++;
      if (!pf.ipChecksumOk && this.opts.checksums === 'zeek') return;
      // Counted as malformed only, so that the summary's counts add up to the packets.
      this.malformed(rec, new WireError('tcp', 'bad-length', `IP total length ${pf.ipTotalLength} is shorter than the IP and TCP headers`, 0));
      return;
    }
    this.tcp(rec.frame, t, pf, seg);
  }

  /**
   * One TCP packet (from either path, `pf.len` ≥ 0: the fast path only accepts consistent lengths):
   * connection lookup, Zeek's and synack's per-packet processing.
   */
  private tcp(frame: number, t: number, pf: PacketFields, seg: TcpSegment | null): void {
    const st = this.stats;
    if (!pf.ipChecksumOk) {
      st.badIpChecksums++;
      // Zeek drops a datagram whose IPv4 header checksum is wrong before any TCP processing (weird bad_IP_checksum).
      if (this.opts.checksums === 'zeek') return;
    }
    st.tcpPackets++;
    const len = pf.len;
    const badSum = pf.verifiable && !pf.tcpChecksumOk;
    if (badSum) st.badChecksums++;
    const flags = pf.flags;

    const hs = endpointHashAt(pf.srcBuf, pf.srcOff, pf.addrLen, pf.srcPort);
    const hd = endpointHashAt(pf.dstBuf, pf.dstOff, pf.addrLen, pf.dstPort);
    const key = flowKey(hs, hd);
    let conn = this.flows.findAt(key, pf.srcBuf, pf.srcOff, pf.srcPort, pf.dstBuf, pf.dstOff, pf.dstPort, pf.addrLen);
    let side: 0 | 1 = this.flows.side;
    // One scratch object per analyzer: nothing keeps a reference to it past this call.
    const view = this.view;
    view.flags = flags;
    view.seq = pf.seq;
    view.ack = pf.ack;
    view.len = len;
    view.caplen = pf.caplen;
    view.window = pf.window;
    view.wscale = flags & SYN ? pf.wscale : -1;
    let split: string | null = null;
    // Wireshark starts a new conversation on a tuple only for a SYN with a new ISN (§2.4).
    let wsCreates = true;
    // A piece that continues TShark's conversation starts with the completeness that conversation had so far.
    let inherited = 0;
    let group = -1;
    if (conn) {
      const expired = conn.zeek.expiredBy(t);
      let reuse = false;
      if (!expired && flags & SYN && !(badSum && this.opts.checksums === 'zeek')) {
        const r = conn.zeek.isReuse(side === conn.zeekA, view, t);
        reuse = r.reuse;
        if (reuse) split = r.weird ? r.weird.replace(/_/g, '-').toLowerCase() : 'syn-after-close';
        if (reuse && invalidFlagsKind(flags) !== null) {
          // Zeek starts a new connection on a SYN+FIN or SYN+RST that reuses the tuple; the receiving stack
          // drops that segment (RFC 9293 §3.10.7), so synack keeps one connection and only Zeek's rows split.
          reuse = false;
          const row = zeekRowOf(conn, (conn.zeekRows?.length ?? 0));
          conn.zeekSplit(row, new ZeekConn(zeekFlipOnCreate(flags, pf.srcPort, pf.dstPort, this.likely), t), side, split!, frame);
          split = null;
        }
      }
      if (expired || reuse) {
        if (expired) split = expired;
        const prev = conn.s[side];
        wsCreates = (flags & (SYN | ACK)) === SYN && !(prev.issKnown && prev.iss === pf.seq);
        if (!wsCreates) { inherited = conn.wiresharkCompleteness(); group = conn.groupId; }
        this.flows.remove(key, conn);
        this.emit(conn);
        conn = undefined;
      }
    }
    if (!conn) {
      const flip = zeekFlipOnCreate(flags, pf.srcPort, pf.dstPort, this.likely);
      const src = pf.srcBuf.subarray(pf.srcOff, pf.srcOff + pf.addrLen);
      const dst = pf.dstBuf.subarray(pf.dstOff, pf.dstOff + pf.addrLen);
      const pooled = this.pool.pop();
      if (pooled) {
        pooled.reuse(this.nextId++, src, pf.srcPort, dst, pf.dstPort, flip, t, this.trace !== null, split);
        conn = pooled;
      } else {
        conn = new Connection(this.nextId++, src, pf.srcPort, dst, pf.dstPort, new ZeekConn(flip, t),
          this.trace !== null, split);
      }
      conn.wsCreates = wsCreates;
      conn.completeness = inherited;
      if (group >= 0) conn.groupId = group;
      this.flows.add(key, conn);
      this.open++;
      if (this.open > this.peakOpen) this.peakOpen = this.open;
      side = 0;
    }

    const kind = scanKindOf(flags);
    if (kind) {
      this.detector.probe(kind, formatAddress(pf.srcBuf.subarray(pf.srcOff, pf.srcOff + pf.addrLen)),
        formatAddress(pf.dstBuf.subarray(pf.dstOff, pf.dstOff + pf.addrLen)), pf.dstPort, frame);
    }

    const info = this.info;
    info.frame = frame;
    info.time = t;
    info.flags = flags;
    info.seq = pf.seq;
    info.ack = pf.ack;
    info.len = len;
    info.window = pf.window;
    info.wscale = view.wscale;
    info.ipLen = pf.ipTotalLength;
    info.seg = seg;
    // A datagram reassembled from fragments (frame: the fragment that completed it) is flagged.
    if (pf.mf || this.fromFragments) { conn.anomaly('ip-fragment', frame); this.fromFragments = false; }
    if (badSum) {
      conn.badChecksums++;
      if (this.opts.checksums === 'zeek') {
        // Zeek drops the packet from all TCP processing; only the C/c history letter remains (§1.2).
        conn.zeek.badChecksum(side === conn.zeekA);
        conn.add(side, info, 'bad checksum (dropped by Zeek)');
        return;
      }
    }
    if (len > 0 && conn.service === null && (conn.sniffed & (1 << side)) === 0 && pf.caplen > 0) {
      conn.sniff(side, pf.payBuf, pf.payOff, pf.caplen < 8 ? pf.caplen : 8, len);
    }
    conn.zeek.packet(side === conn.zeekA, view, t);
    conn.s[side].zeekPkts++;
    conn.s[side].zeekIpBytes += pf.ipTotalLength;
    conn.add(side, info, badSum ? 'bad checksum' : undefined);
  }

  private malformed(rec: CaptureRecord, e: unknown): void {
    this.stats.malformed++;
    if (this.malformedSamples.length < 20) {
      const msg = e instanceof Error ? e.message : String(e);
      this.malformedSamples.push({ frame: rec.frame, offset: rec.offset + (e instanceof WireError ? e.offset : 0), message: msg });
    }
    if (!(e instanceof WireError)) throw e;
  }

  /** Emit every connection one of Zeek's timers has removed by the current capture time. */
  private sweep(): void {
    this.sinceSweep = 0;
    if (this.now - this.lastSweepTime < SWEEP_INTERVAL) return;
    this.lastSweepTime = this.now;
    const now = this.now;
    const done = this.flows.removeWhere((c) => c.zeek.expiredBy(now) !== null);
    done.sort((x, y) => x.id - y.id);
    for (const c of done) this.emit(c);
  }

  private emit(c: Connection): void {
    this.open--;
    this.stats.connections++;
    const finished = this.opts.onFinished;
    if (finished !== undefined && c.anomalies === null && c.zeekRows === null) {
      // The usual connection: no report object here (the caller serialises from `c`).
      const f = this.facts.of(c);
      this.count(f);
      finished(c, f, null);
      f.conn = null;
    } else {
      const rep = toReport(c);
      this.count(rep);
      if (finished !== undefined) finished(c, rep, rep);
      else this.opts.onConnection?.(rep, c);
    }
    if (this.opts.recycle === true && this.pool.length < POOL_MAX) this.pool.push(c);
  }

  private count(f: ConnectionFacts): void {
    this.byClose[f.close] = (this.byClose[f.close] ?? 0) + 1;
    this.byHandshake[f.handshake] = (this.byHandshake[f.handshake] ?? 0) + 1;
    this.byConnState[f.conn_state] = (this.byConnState[f.conn_state] ?? 0) + 1;
    this.detector.connection(f);
  }

  /** End of input: flush every open connection (in order of first packet) and compute the anomalies. */
  finish(): AnomalyReport[] {
    if (this.anomaliesOut) return this.anomaliesOut;
    const all = this.flows.drain();
    all.sort((x, y) => x.id - y.id);
    for (const c of all) this.emit(c);
    this.anomaliesOut = this.detector.finish();
    return this.anomaliesOut;
  }

  /**
   * The totals after finish(): `files` names the inputs, `error` is the capture error that stopped reading (or
   * null), `warnings` capture-header oddities read anyway.
   */
  summary(files: string[], error: string | null, warnings: string[] = []): SummaryReport {
    const st = this.stats;
    const anomalies: Record<string, number> = {};
    for (const a of this.anomaliesOut ?? []) anomalies[a.kind] = (anomalies[a.kind] ?? 0) + 1;
    return {
      type: 'summary', files, packets: st.packets, tcp_packets: st.tcpPackets, non_tcp_packets: st.nonTcp,
      non_ip_packets: st.nonIp, malformed_packets: st.malformed, bad_checksums: st.badChecksums, bad_ip_checksums: st.badIpChecksums,
      ip_fragments: st.fragments, reassembled_datagrams: st.reassembled, fragment_only_packets: st.fragmentOnly, truncated_headers: st.truncatedHeaders,
      dropped_bad_ip_checksums: this.opts.checksums === 'zeek' ? st.badIpChecksums : 0, unsupported_link_packets: st.unsupportedLink, tunneled_packets: st.tunneled,
      connections: st.connections, by_close: { ...this.byClose }, by_handshake: { ...this.byHandshake },
      by_conn_state: { ...this.byConnState }, anomalies, first_ts: Number.isNaN(st.firstTs) ? null : st.firstTs, last_ts: Number.isNaN(st.lastTs) ? null : st.lastTs, error,
      warnings,
    };
  }
}
