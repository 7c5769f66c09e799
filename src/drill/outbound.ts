/**
 * Matching the stack's packets against a script's outbound lines (../shared/docs/packetdrill-language.md §5–§6):
 * segments split by the stack merged back into the line's one packet, every flag, the sequence and
 * acknowledgment numbers mapped through the tracked connection's ISNs, the window, the options byte for byte
 * (SACK blocks and timestamps rebased), and the line's timing. Pure: the runner passes what it tracks.
 */
import {
  ACK, AE, CWR, ECE, FIN, PSH, RST, SYN, URG, OPT_EOL, OPT_MSS, OPT_NOP, OPT_SACK, OPT_SACK_PERMITTED,
  OPT_TIMESTAMPS, OPT_WSCALE, OPT_FASTOPEN, OPT_EXPERIMENTAL, TFO_EXP_MAGIC, type TcpSegment,
} from '../wire/tcp-types.js';
import type { PacketEvent, TcpOptionSpec, TcpPacketSpec } from './ast.js';
import { DrillFailure, DrillUnsupported } from './errors.js';
import { tcpOptionBytes } from './tcp-options.js';

export const u32 = (n: number): number => n >>> 0;
/** Microseconds as packetdrill prints seconds. */
export const fmtSec = (us: number): string => (us / 1e6).toFixed(6);

/** The connection the script is talking to (§4.7) and its number mappings (§6). */
export interface Track {
  localPort: number;
  remotePort: number;
  /** Live local ISN (LL) and script local ISN (LS); LL is 0 until the first outbound SYN. */
  ll: number;
  ls: number;
  llKnown: boolean;
  /** Remote ISN (R), literal; known once a SYN came from the peer (or the child was created). */
  r: number;
  rKnown: boolean;
  /** Script TS val → live TS val, from matched outbound segments (§6.4). */
  tsMap: Map<number, number>;
  /** live − script offset of outbound TS vals, fixed by the first one seen. */
  tsOffset?: number;
}

/** A newly tracked connection: its ISNs are learnt from the first SYNs. */
export function newTrack(localPort: number, remotePort: number): Track {
  return { localPort, remotePort, ll: 0, ls: 0, llKnown: false, r: 0, rKnown: false, tsMap: new Map() };
}

/** A line's time window in script µs (§3.2); `any` for a `*` time. */
export interface ScriptTime { start: number; end: number; any: boolean }

/** The line's tolerances (§3.3), as the runner computes them from the script's options. */
export interface OutboundTolerance {
  /** Around the line's time, µs. */
  timingUs: number;
  /** For a TS val after rebasing, in the stack's timestamp ticks; negative: not checked (no tick rate). */
  tsTicks: number;
}

/** One captured outbound segment with its time and its raw option bytes. */
export interface OutboundSegment { seg: TcpSegment; timeUs: number; raw: Uint8Array }

/** Consecutive segments the stack sent for one script line (a split send) as the line's one packet, or a failure saying why they cannot be one. */
export function mergeSegments(ev: PacketEvent, spec: TcpPacketSpec, frags: OutboundSegment[]): OutboundSegment {
  if (frags.length === 1) return frags[0]!;
  const first = frags[0]!.seg;
  const last = frags[frags.length - 1]!;
  const MUST_AGREE = SYN | RST | ACK | URG | ECE | AE;
  let payloadLen = 0;
  for (let i = 0; i < frags.length; i++) {
    const f = frags[i]!.seg;
    if (i > 0) {
      const p = frags[i - 1]!.seg;
      const why =
        f.seq !== u32(p.seq + p.payload.length) ? 'sequence number does not continue the previous segment'
          : (f.flags & MUST_AGREE) !== (p.flags & MUST_AGREE) ? 'flags differ'
            : f.ack !== p.ack ? 'ack differs' : f.window !== p.window ? 'window differs'
              : f.urgent !== p.urgent ? 'urgent pointer differs'
                : frags[i]!.raw.length !== frags[i - 1]!.raw.length ? 'data offset differs'
                  : i < frags.length - 1 && f.payload.length !== p.payload.length ? 'segment sizes differ' : null;
      if (why) {
        throw new DrillFailure(`live packet payload: expected ${spec.seq.len} bytes in one script line, but the stack sent ${frags.length} segments that cannot be merged (${why}) at ${fmtSec(frags[i]!.timeUs)}`, ev.line);
      }
    }
    payloadLen += f.payload.length;
  }
  const payload = new Uint8Array(payloadLen);
  let off = 0;
  for (const f of frags) { payload.set(f.seg.payload, off); off += f.seg.payload.length; }
  const seg: TcpSegment = { ...last.seg, seq: first.seq, flags: (last.seg.flags & ~CWR) | (first.flags & CWR), payload };
  return { seg, timeUs: last.timeUs, raw: last.raw };
}

/** Checks a live outbound segment against its script line; throws DrillFailure naming the first field that differs. */
export function verifyOutbound(ev: PacketEvent, spec: TcpPacketSpec, seg: TcpSegment, raw: Uint8Array, timeUs: number, tr: Track, t: ScriptTime, tol: OutboundTolerance): void {
  const isSyn = (seg.flags & SYN) !== 0;
  if (isSyn && !tr.llKnown) { tr.ll = seg.seq; tr.ls = u32(spec.seq.start); tr.llKnown = true; }
  const fail = (field: string, expected: string, actual: string): never => {
    throw new DrillFailure(`live packet field ${field}: expected: ${expected} vs actual: ${actual} (script: ${ev.text}; live: ${describeLive(seg, tr)} at ${fmtSec(timeUs)})`, ev.line);
  };
  // Flags: every bit, so an unexpected PSH fails (§5.1).
  const FLAG_MASK = FIN | SYN | RST | PSH | ACK | URG | ECE | CWR | AE;
  if ((seg.flags & FLAG_MASK) !== (spec.flags & FLAG_MASK)) fail('tcp flags', flagText(spec.flags), flagText(seg.flags));
  const scriptSeq = isSyn ? u32(seg.seq - tr.ll + tr.ls) : u32(seg.seq - tr.ll);
  // A RST for a segment without ACK carries SEQ=0 (RFC 9293 §3.10.7.1), not a number of the tracked
  // connection: a script's `R. 0:0(0)` matches it literally.
  const literalZeroRst = (seg.flags & RST) !== 0 && seg.seq === 0 && spec.seq.start === 0;
  if (scriptSeq !== u32(spec.seq.start) && !literalZeroRst) fail('tcp_seq', String(u32(spec.seq.start)), String(scriptSeq));
  if (seg.payload.length !== spec.seq.len) fail('tcp payload length', `${spec.seq.len} bytes`, `${seg.payload.length} bytes`);
  for (let i = 0; i < seg.payload.length; i++) if (seg.payload[i] !== 0) fail('tcp payload', 'zero bytes', `byte ${i} = ${seg.payload[i]}`);
  const hasAck = (seg.flags & ACK) !== 0;
  const ackOff = hasAck && !isSyn ? tr.r : 0;
  const scriptAck = u32(seg.ack - ackOff);
  if (scriptAck !== u32(spec.ack ?? 0)) fail('tcp_ack_seq', String(u32(spec.ack ?? 0)), String(scriptAck));
  if (spec.win !== undefined && seg.window !== spec.win) fail('tcp_window', String(spec.win), String(seg.window));
  if (seg.urgent !== (spec.urg ?? 0)) fail('tcp_urg_ptr', String(spec.urg ?? 0), String(seg.urgent));
  if (ev.ip.tos !== undefined || ev.ip.ecn !== undefined || ev.ip.ttl !== undefined || ev.ip.flowLabel !== undefined) {
    throw new DrillUnsupported('IP-level checks on outbound packets (tos/ecn/ttl/flowlabel)', ev.line);
  }
  if (spec.options !== 'unchecked') verifyOptions(ev, spec.options, raw, seg, tr, fail, tol.tsTicks);
  else if (seg.options.tsVal !== undefined && tr.tsOffset === undefined) { /* nothing to rebase against */ }
  // Timing (§3.3).
  if (!t.any) {
    if (timeUs < t.start - tol.timingUs || timeUs > t.end + tol.timingUs) {
      const when = t.start === t.end ? `${fmtSec(t.start)}` : `${fmtSec(t.start)}~${fmtSec(t.end)}`;
      throw new DrillFailure(`timing error: expected outbound packet at ${when} sec but happened at ${fmtSec(timeUs)} sec; tolerance ${fmtSec(tol.timingUs)} sec (script: ${ev.text})`, ev.line);
    }
  }
}

function verifyOptions(ev: PacketEvent, want: TcpOptionSpec[], raw: Uint8Array, seg: TcpSegment, tr: Track, fail: (f: string, e: string, a: string) => never, tsTicks: number): void {
  const live = rawOptions(raw);
  const wantText = want.map(optText).join(',');
  const liveText = live.map((o) => o.text).join(',');
  const bytes = (l: TcpOptionSpec[]): number => l.reduce((n, o) => n + (tcpOptionBytes(o) ?? 1), 0);
  if (bytes(want) !== raw.length) fail('tcp options length', `${bytes(want)} bytes <${wantText}>`, `${raw.length} bytes <${liveText}>`);
  let k = 0;
  for (const w of want) {
    const l = live[k++];
    if (!l) fail('tcp option', `<${wantText}>`, `<${liveText}>`);
    const kind = w.kind === 'fastopen' ? (w.exp ? OPT_EXPERIMENTAL : OPT_FASTOPEN)
      : { nop: OPT_NOP, eol: OPT_EOL, mss: OPT_MSS, wscale: OPT_WSCALE, sackOK: OPT_SACK_PERMITTED, sack: OPT_SACK, timestamp: OPT_TIMESTAMPS, unsupported: -1 }[w.kind];
    if (l!.kind !== kind) fail('tcp option', `<${wantText}>`, `<${liveText}>`);
    switch (w.kind) {
      case 'mss': if (l!.value !== w.value) fail('tcp option mss', String(w.value), String(l!.value)); break;
      case 'wscale': if (l!.value !== w.shift) fail('tcp option wscale', String(w.shift), String(l!.value)); break;
      case 'sack': {
        const off = (seg.flags & SYN) ? 0 : tr.r;
        const got = (l!.blocks ?? []).map((e) => u32(e - off));
        const exp = w.blocks.flat().map(u32);
        if (got.join(',') !== exp.join(',')) fail('tcp option sack', blocksText(exp), blocksText(got));
        break;
      }
      case 'timestamp': {
        const liveVal = l!.tsVal!;
        if (tr.tsOffset === undefined) tr.tsOffset = u32(liveVal - w.val);
        tr.tsMap.set(u32(w.val), liveVal);
        if (tsTicks >= 0) {
          const rebased = u32(liveVal - tr.tsOffset);
          const diff = ((rebased - u32(w.val)) | 0);
          if (Math.abs(diff) > tsTicks) fail('tcp option TS val', String(w.val), `${rebased} (tolerance ${tsTicks.toFixed(1)} ticks)`);
        }
        break;
      }
      case 'fastopen': {
        const got = hex(l!.cookie ?? new Uint8Array(0));
        if (got !== hex(w.cookie)) fail('tcp option FO cookie', hex(w.cookie) || '(request)', got || '(request)');
        break;
      }
      case 'unsupported': throw new DrillUnsupported(`TCP option ${w.name}`, ev.line);
      default: break;
    }
  }
}

function flagText(f: number): string {
  let s = '';
  if (f & SYN) s += 'S';
  if (f & FIN) s += 'F';
  if (f & RST) s += 'R';
  if (f & PSH) s += 'P';
  if (f & URG) s += 'U';
  if (f & ECE) s += 'E';
  if (f & CWR) s += 'W';
  if (f & AE) s += 'A';
  if (f & ACK) s += '.';
  return s === '' ? '-' : s;
}

function blocksText(b: number[]): string {
  const out: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) out.push(`${b[i]}:${b[i + 1]}`);
  return out.join(' ');
}

function optText(o: TcpOptionSpec): string {
  switch (o.kind) {
    case 'nop': case 'eol': case 'sackOK': return o.kind;
    case 'mss': return `mss ${o.value}`;
    case 'wscale': return `wscale ${o.shift}`;
    case 'sack': return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`;
    case 'timestamp': return `TS val ${o.val} ecr ${o.ecr}`;
    case 'fastopen': return `${o.exp ? 'FOEXP' : 'FO'}${o.cookie.length ? ` ${hex(o.cookie)}` : ''}`;
    case 'unsupported': return o.text;
  }
}

interface RawOption { kind: number; text: string; value?: number; blocks?: number[]; tsVal?: number; tsEcr?: number; cookie?: Uint8Array }

function hex(b: Uint8Array): string { return [...b].map((x) => x.toString(16).padStart(2, '0')).join(''); }

/** The option bytes as a list, EOL padding included (one entry per zero byte after an EOL). */
function rawOptions(b: Uint8Array): RawOption[] {
  const out: RawOption[] = [];
  const rd32 = (i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  let i = 0;
  while (i < b.length) {
    const kind = b[i]!;
    if (kind === OPT_EOL) { out.push({ kind, text: 'eol' }); i++; continue; }
    if (kind === OPT_NOP) { out.push({ kind, text: 'nop' }); i++; continue; }
    const len = b[i + 1] ?? 0;
    if (len < 2 || i + len > b.length) { out.push({ kind: -2, text: `malformed option kind ${kind}` }); break; }
    switch (kind) {
      case OPT_MSS: { const v = (b[i + 2]! << 8) | b[i + 3]!; out.push({ kind, text: `mss ${v}`, value: v }); break; }
      case OPT_WSCALE: out.push({ kind, text: `wscale ${b[i + 2]}`, value: b[i + 2]! }); break;
      case OPT_SACK_PERMITTED: out.push({ kind, text: 'sackOK' }); break;
      case OPT_SACK: {
        const blocks: number[] = [];
        for (let j = i + 2; j + 8 <= i + len; j += 8) blocks.push(rd32(j), rd32(j + 4));
        out.push({ kind, text: `sack ${blocksText(blocks)}`, blocks });
        break;
      }
      case OPT_TIMESTAMPS: { const v = rd32(i + 2), e = rd32(i + 6); out.push({ kind, text: `TS val ${v} ecr ${e}`, tsVal: v, tsEcr: e }); break; }
      case OPT_FASTOPEN: { const c = b.subarray(i + 2, i + len); out.push({ kind, text: `FO${c.length ? ` ${hex(c)}` : ''}`, cookie: c }); break; }
      case OPT_EXPERIMENTAL: {
        if (len >= 4 && ((b[i + 2]! << 8) | b[i + 3]!) === TFO_EXP_MAGIC) { const c = b.subarray(i + 4, i + len); out.push({ kind, text: `FOEXP${c.length ? ` ${hex(c)}` : ''}`, cookie: c }); break; }
        out.push({ kind, text: `option ${kind} len ${len}` });
        break;
      }
      default: out.push({ kind, text: `option ${kind} len ${len}` });
    }
    i += len;
  }
  return out;
}

export function describeLive(seg: TcpSegment, tr: Track): string {
  const isSyn = (seg.flags & SYN) !== 0;
  const seq = isSyn ? u32(seg.seq - tr.ll + tr.ls) : u32(seg.seq - tr.ll);
  const ack = seg.flags & ACK ? u32(seg.ack - (isSyn ? 0 : tr.r)) : seg.ack;
  let s = `${flagText(seg.flags)} ${seq}:${u32(seq + seg.payload.length)}(${seg.payload.length})`;
  if (seg.flags & ACK || seg.ack !== 0) s += ` ack ${ack}`;
  s += ` win ${seg.window}`;
  return s;
}
