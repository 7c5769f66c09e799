/**
 * The packet detail pane for one ladder segment: every IP and TCP header field and option, the way
 * Wireshark's detail pane lists them, and the RFC 9293 §3.10.7 ("SEGMENT ARRIVES") rule the receiver
 * applied, chosen from the receiver's state before the segment, the segment's control bits and the state
 * the engine actually moved to. Pure functions: the page renders the result.
 */
import { decodeIp } from '../../src/wire/ip.js';
import { formatAddress } from '../../src/wire/address.js';
import { ACK, AE, CWR, ECE, FIN, PSH, RST, SYN, URG, flagsToString, segLen, type TcpSegment } from '../../src/wire/tcp-types.js';
import type { TcpStateName, Trace, TraceEntry } from '../../src/wire/trace.js';

export interface DetailSection { title: string; fields: Array<[string, string]> }

const OPTION_NAMES: Record<number, string> = { 0: 'End of Option List', 1: 'No-Operation (NOP)', 2: 'Maximum segment size', 3: 'Window scale', 4: 'SACK permitted', 5: 'SACK', 8: 'Timestamps' };

function hex(n: number, digits: number): string { return '0x' + n.toString(16).padStart(digits, '0'); }

/** Header fields and options of a segment; `raw` (the whole IP datagram) adds the IP header and checksums. */
export function segmentFields(trace: Trace, e: TraceEntry, raw: Uint8Array | null, opts: { absolute?: boolean } = {}): DetailSection[] {
  const s = e.seg;
  const out: DetailSection[] = [];
  const src = e.from === 'a' ? trace.a : trace.b;
  const dst = e.from === 'a' ? trace.b : trace.a;
  // Capture times are float ms from µs/ns timestamps: show them to the microsecond, not with binary noise.
  const meta: Array<[string, string]> = [['Time', `${Number.isInteger(e.time) ? e.time : e.time.toFixed(3)} ms`], ['Direction', `${src.label} → ${dst.label}`]];
  if (e.frame !== undefined) meta.push(['Frame', String(e.frame)]);
  if (e.lost) meta.push(['Fate', 'lost on the wire (never arrived)']);
  if (e.note) meta.push(['Note', e.note]);
  out.push({ title: 'Segment', fields: meta });
  let tcpHeaderLen: number | undefined;
  let tcpChecksum: number | undefined;
  if (raw) {
    try {
      const ip = decodeIp(raw);
      const f: Array<[string, string]> = [['Version', String(ip.version)]];
      if (ip.version === 4) {
        f.push(['Header length', `${ip.headerLength} bytes (${ip.headerLength / 4})`]);
        f.push(['Type of service', `${hex(ip.tos, 2)} (DSCP ${ip.tos >> 2}, ECN ${ip.tos & 3})`]);
        f.push(['Total length', String(ip.totalLength)]);
        f.push(['Identification', `${hex(ip.id, 4)} (${ip.id})`]);
        f.push(['Flags', `${ip.df ? "Don't fragment" : 'none'}${ip.mf ? ', More fragments' : ''}`]);
        f.push(['Fragment offset', String(ip.fragOffset)]);
        f.push(['Time to live', String(ip.ttl)]);
        f.push(['Protocol', `${ip.protocol === 6 ? 'TCP' : ip.protocol} (${ip.protocol})`]);
        f.push(['Header checksum', `${hex(ip.checksum, 4)} [${ip.checksumOk ? 'correct' : 'INCORRECT'}]`]);
      } else {
        f.push(['Traffic class', hex(ip.tos, 2)], ['Flow label', hex(ip.flowLabel, 5)], ['Payload length', String(ip.totalLength - 40)], ['Next header', String(ip.protocol)], ['Hop limit', String(ip.ttl)]);
      }
      f.push(['Source address', formatAddress(ip.src)], ['Destination address', formatAddress(ip.dst)]);
      out.push({ title: `Internet Protocol Version ${ip.version}`, fields: f });
      const t = raw.subarray(ip.headerLength);
      if (t.length >= 20) { tcpHeaderLen = (t[12]! >> 4) * 4; tcpChecksum = (t[16]! << 8) | t[17]!; }
    } catch { /* corrupted beyond decoding: the TCP view below is all there is */ }
  } else {
    out[0]!.fields.push(['Endpoints', `${src.addr} → ${dst.addr}`]);
  }
  const relSeq = rel(s.seq, opts.absolute ? undefined : src.isn);
  const relAck = rel(s.ack, opts.absolute ? undefined : dst.isn);
  const t: Array<[string, string]> = [
    ['Source port', String(s.srcPort)],
    ['Destination port', String(s.dstPort)],
    ['Sequence number', src.isn !== undefined && !opts.absolute ? `${relSeq} (relative; raw ${s.seq >>> 0})` : String(s.seq >>> 0)],
    ['Segment length (SEG.LEN)', `${segLen(s)} (payload ${s.payload.length}${s.flags & SYN ? ' + SYN' : ''}${s.flags & FIN ? ' + FIN' : ''})`],
    ['Next sequence number', s.flags & RST ? '—' : String(rel((s.seq + segLen(s)) >>> 0, opts.absolute ? undefined : src.isn))],
    ['Acknowledgment number', s.flags & ACK ? (dst.isn !== undefined && !opts.absolute ? `${relAck} (relative; raw ${s.ack >>> 0})` : String(s.ack >>> 0)) : `${s.ack >>> 0} (ACK bit off: not meaningful)`],
  ];
  if (tcpHeaderLen !== undefined) t.push(['Header length (data offset)', `${tcpHeaderLen} bytes (${tcpHeaderLen / 4})`]);
  t.push(['Flags', `${hex(s.flags, 3)} (${flagsToString(s.flags, ', ')})`]);
  for (const [bit, name] of [[AE, 'Accurate ECN (AE)'], [CWR, 'Congestion window reduced (CWR)'], [ECE, 'ECN-Echo (ECE)'], [URG, 'Urgent (URG)'], [ACK, 'Acknowledgment (ACK)'], [PSH, 'Push (PSH)'], [RST, 'Reset (RST)'], [SYN, 'Syn (SYN)'], [FIN, 'Fin (FIN)']] as Array<[number, string]>) {
    t.push([`  ${name}`, s.flags & bit ? 'Set' : 'Not set']);
  }
  const ws = s.window;
  t.push(['Window', String(ws) + (s.flags & SYN ? ' (never scaled in a SYN, RFC 7323 §2.2)' : '')]);
  if (tcpChecksum !== undefined) {
    t.push(['Checksum', hex(tcpChecksum, 4) + (e.note?.startsWith('corrupted') ? ' [INCORRECT]'
      : e.note?.includes('checksum offloaded') ? ' [partial: pseudo-header sum only; captured before the NIC or kernel completed it (checksum offload), so not an error]'
        : e.note?.includes('bad checksum') ? ' [INCORRECT]' : '')]);
  }
  t.push(['Urgent pointer', String(s.urgent)]);
  out.push({ title: 'Transmission Control Protocol', fields: t });
  out.push({ title: 'Options', fields: optionFields(s) });
  if (s.payload.length) out.push({ title: `Payload (${s.payload.length} bytes)`, fields: [['First bytes', hexdump(s.payload.subarray(0, 32)) + (s.payload.length > 32 ? ' …' : '')]] });
  return out;
}

function optionFields(s: TcpSegment): Array<[string, string]> {
  const o = s.options;
  const f: Array<[string, string]> = [];
  const order = o.order ?? [];
  if (order.length) f.push(['Layout', order.map((k) => (k === 1 ? 'NOP' : k === 0 ? 'EOL' : OPTION_NAMES[k] ?? `kind ${k}`)).join(', ')]);
  if (o.mss !== undefined) f.push(['Maximum segment size (kind 2)', `${o.mss} bytes`]);
  if (o.wscale !== undefined) f.push(['Window scale (kind 3)', `shift ${o.wscale} (multiply by ${2 ** o.wscale})`]);
  if (o.sackPermitted) f.push(['SACK permitted (kind 4)', 'yes']);
  if (o.sack && o.sack.length) {
    const blocks: string[] = [];
    for (let i = 0; i + 1 < o.sack.length; i += 2) blocks.push(`${o.sack[i]! >>> 0}-${o.sack[i + 1]! >>> 0}`);
    f.push(['SACK (kind 5)', blocks.join(', ')]);
  }
  if (o.tsVal !== undefined) f.push(['Timestamps (kind 8)', `TSval ${o.tsVal >>> 0}, TSecr ${(o.tsEcr ?? 0) >>> 0}`]);
  for (const u of o.unknown ?? []) f.push([`Unknown option (kind ${u.kind})`, hexdump(u.data)]);
  if (f.length === 0) f.push(['(none)', 'no options']);
  return f;
}

function hexdump(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

function rel(n: number, base: number | undefined): number {
  return base === undefined ? n >>> 0 : (n - base) >>> 0;
}

// -----------------------------------------------------------------------------------------------------
// The rule the receiver applied
// -----------------------------------------------------------------------------------------------------

export interface RuleExplanation {
  /** RFC 9293 section, e.g. "3.10.7.4". */
  section: string;
  /** One-line summary. */
  title: string;
  /** The checks of that section that decided the outcome, in the RFC's order. */
  steps: string[];
}

const SYNCHRONIZED: ReadonlySet<TcpStateName> = new Set(['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT']);

/**
 * Which part of RFC 9293 §3.10.7 the receiver of `seg` applied, given its state before (`before`) and
 * after (`after`) processing, and what the wire did to the segment.
 */
export function ruleFor(seg: TcpSegment, before: TcpStateName | undefined, after: TcpStateName | undefined, fate: { lost?: boolean; note?: string } = {}): RuleExplanation {
  const f = seg.flags;
  const name = flagsToString(f);
  if (fate.lost) {
    return { section: '3.8.1', title: `${name} never arrived: the receiver applied no rule`, steps: ['Lost on the wire. The sender keeps it on its retransmission queue and sends it again when its retransmission timer expires (§3.8.1, RFC 6298) or after three duplicate ACKs (fast retransmit, RFC 5681 §3.2).'] };
  }
  if (fate.note?.startsWith('corrupted')) {
    return { section: '3.1', title: 'Checksum failed: silently discarded', steps: ['The checksum covers the pseudo-header, header and data (§3.1); a segment whose checksum does not verify is discarded before any state is consulted (RFC 1122 §4.2.2.7).'] };
  }
  const invalid = (f & SYN && f & FIN) || (f & SYN && f & RST) || (f & FIN && f & RST) || (f & 0x3f) === 0 || (f & FIN && !(f & ACK) && before !== undefined && SYNCHRONIZED.has(before));
  if (invalid && before !== 'LISTEN' && before !== 'CLOSED' && before !== undefined) {
    return {
      section: '3.10.7.4', title: `Invalid control bits (${name}): dropped and counted`,
      steps: [
        'The control bits contradict each other (or, with no ACK, cannot belong to a synchronized connection): no state of Figure 5 has a transition for them.',
        '§3.10.7.4 processes the bits in a fixed order (RST second, SYN fourth, ACK fifth, FIN eighth); a segment without ACK is dropped at the fifth check ("if the ACK bit is off, drop the segment and return"). synack, like Linux and the BSDs, drops such combinations outright and counts them, leaving the connection unharmed.',
      ],
    };
  }
  if (before === undefined) {
    return { section: '3.10.7', title: 'Receiver state unknown (capture started mid-connection)', steps: ['The analyzer infers states from what it sees; before the first state is known, the §3.10.7 rule cannot be named.'] };
  }
  if (before === 'CLOSED') {
    return {
      section: '3.10.7.1', title: 'CLOSED: no TCB, so the segment is answered with a reset',
      steps: [f & RST ? 'An incoming segment containing a RST is discarded.' : `An incoming segment not containing a RST causes a RST to be sent in response: ${f & ACK ? '<SEQ=SEG.ACK><CTL=RST>' : '<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>'}.`],
    };
  }
  if (before === 'LISTEN') {
    const steps: string[] = [];
    if (f & RST) return { section: '3.10.7.2', title: 'LISTEN: a RST is ignored', steps: ['First, check for a RST: an incoming RST should be ignored.'] };
    if (f & ACK && !(f & SYN)) {
      if (after === 'ESTABLISHED') return { section: '3.10.7.2', title: 'LISTEN: an ACK that carries a valid SYN cookie', steps: ['Second, check for an ACK: in LISTEN an ACK would be answered with <SEQ=SEG.ACK><CTL=RST>, but the listener had answered the SYN statelessly with a SYN cookie (RFC 4987 §3.6): the ACK number minus one decodes to a valid cookie, so the TCB is created ESTABLISHED.'] };
      return { section: '3.10.7.2', title: 'LISTEN: an ACK is unacceptable', steps: ['Second, check for an ACK: any acknowledgment is bad if it arrives on a connection still in the LISTEN state. Form a reset <SEQ=SEG.ACK><CTL=RST>.'] };
    }
    if (f & SYN) {
      steps.push('Third, check for a SYN: set RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, select an ISS and send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; SND.NXT = ISS+1, SND.UNA = ISS.');
      if (after === 'SYN-RECEIVED') steps.push('The connection state changes to SYN-RECEIVED.');
      else steps.push(`The SYN queue was full: the listener answered with a SYN cookie (RFC 4987 §3.6) and kept no state (still ${after ?? 'LISTEN'}).`);
      return { section: '3.10.7.2', title: 'LISTEN: a SYN opens the connection passively', steps };
    }
    return { section: '3.10.7.2', title: 'LISTEN: anything else is dropped', steps: ['Fourth, other data or control: any other control or text-bearing segment (not containing SYN) must have an ACK and thus would have been discarded by the ACK processing. Drop the segment and return.'] };
  }
  if (before === 'SYN-SENT') {
    const steps: string[] = [];
    if (f & ACK) steps.push('First, check the ACK bit: if SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set) and discard; if SND.UNA < SEG.ACK =< SND.NXT, the ACK is acceptable.');
    if (f & RST) {
      steps.push('Second, check the RST bit: if the ACK was acceptable, signal "error: connection reset" (ECONNREFUSED to the application), drop the segment, enter CLOSED, delete the TCB; otherwise drop it.');
      return { section: '3.10.7.3', title: 'SYN-SENT: a reset refuses the connection', steps };
    }
    if (f & SYN) {
      steps.push('Fourth, check the SYN bit: RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ; SND.UNA advances to SEG.ACK if there is an ACK.');
      if (f & ACK) steps.push('SND.UNA > ISS (our SYN has been ACKed): change the connection state to ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it.');
      else steps.push('Otherwise (a SYN without ACK: simultaneous open) enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it.');
      return { section: '3.10.7.3', title: f & ACK ? 'SYN-SENT: SYN,ACK completes an active open' : 'SYN-SENT: a crossing SYN (simultaneous open)', steps };
    }
    steps.push('Fifth, if neither the SYN nor RST bit is set, drop the segment and return.');
    return { section: '3.10.7.3', title: 'SYN-SENT: neither SYN nor RST: dropped', steps };
  }
  // Otherwise: SYN-RECEIVED and the synchronized states.
  const steps: string[] = [];
  steps.push('First, check the sequence number (Table 6: acceptability of SEG.SEQ/SEG.LEN against RCV.NXT and RCV.WND); an unacceptable segment is answered with an ACK and dropped (unless it is a RST).');
  if (f & RST) {
    steps.push('Second, check the RST bit (RFC 5961 §3): if SEG.SEQ exactly equals RCV.NXT, reset the connection; if it is merely in the window, send a challenge ACK and drop it.');
    if (after === 'CLOSED' || after === 'LISTEN') {
      steps.push(before === 'SYN-RECEIVED' && after === 'LISTEN' ? 'In SYN-RECEIVED after a passive OPEN: return to LISTEN.' : `In ${before}: any outstanding RECEIVEs and SENDs get "reset" responses, the queues are flushed, the state becomes CLOSED and the TCB is deleted.`);
      return { section: '3.10.7.4', title: `${before}: an exact RST resets the connection`, steps };
    }
    return { section: '3.10.7.4', title: `${before}: RST not exactly at RCV.NXT: challenge ACK, connection kept`, steps };
  }
  if (f & SYN) {
    steps.push(before === 'SYN-RECEIVED' && !(f & ACK)
      ? 'Fourth, check the SYN bit: in SYN-RECEIVED after a passive OPEN a retransmitted SYN is answered by retransmitting the SYN,ACK.'
      : 'Fourth, check the SYN bit (RFC 5961 §4): a SYN in a synchronized state is answered with a challenge ACK and dropped; the connection is not reset.');
    if (before === 'SYN-RECEIVED' && f & ACK && after === 'ESTABLISHED') steps.push('Fifth, the ACK field: SND.UNA < SEG.ACK =< SND.NXT, so enter ESTABLISHED (simultaneous open completes).');
    return { section: '3.10.7.4', title: `${before}: ${name} in a synchronized connection`, steps };
  }
  if (!(f & ACK)) {
    steps.push('Fifth, check the ACK field: if the ACK bit is off, drop the segment and return.');
    return { section: '3.10.7.4', title: `${before}: no ACK bit: dropped`, steps };
  }
  // Fifth check: the ACK field, state by state.
  const ackStep: Record<string, string> = {
    'SYN-RECEIVED': 'Fifth, the ACK field in SYN-RECEIVED: if SND.UNA < SEG.ACK =< SND.NXT, enter ESTABLISHED and continue processing with SND.WND = SEG.WND, SND.WL1 = SEG.SEQ, SND.WL2 = SEG.ACK.',
    ESTABLISHED: 'Fifth, the ACK field in ESTABLISHED: if SND.UNA < SEG.ACK =< SND.NXT, set SND.UNA = SEG.ACK and remove acknowledged segments from the retransmission queue; a duplicate ACK (SEG.ACK =< SND.UNA) is ignored; if SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK, update the send window (SND.WND = SEG.WND).',
    'FIN-WAIT-1': 'Fifth, the ACK field in FIN-WAIT-1: in addition to the ESTABLISHED processing, if the FIN segment is now acknowledged, enter FIN-WAIT-2.',
    'FIN-WAIT-2': 'Fifth, the ACK field in FIN-WAIT-2: the ESTABLISHED processing; the user\'s CLOSE can be acknowledged once the retransmission queue is empty, but the TCB is not deleted.',
    'CLOSE-WAIT': 'Fifth, the ACK field in CLOSE-WAIT: do the same processing as for ESTABLISHED.',
    CLOSING: 'Fifth, the ACK field in CLOSING: in addition to the ESTABLISHED processing, if the ACK acknowledges our FIN, enter TIME-WAIT; otherwise ignore the segment.',
    'LAST-ACK': 'Fifth, the ACK field in LAST-ACK: the only thing that can arrive is an acknowledgment of our FIN. If our FIN is now acknowledged, delete the TCB, enter CLOSED and return.',
    'TIME-WAIT': 'Fifth, the ACK field in TIME-WAIT: the only thing that can arrive is a retransmission of the remote FIN. Acknowledge it and restart the 2 MSL timeout.',
  };
  steps.push(ackStep[before] ?? 'Fifth, check the ACK field.');
  if (seg.payload.length) {
    steps.push(SYNCHRONIZED.has(before) && (before === 'CLOSE-WAIT' || before === 'CLOSING' || before === 'LAST-ACK' || before === 'TIME-WAIT')
      ? `Seventh, process the segment text: in ${before} this should not occur, since a FIN has been received from the remote side. Ignore the segment text.`
      : 'Seventh, process the segment text: deliver it to the user\'s receive buffer, advance RCV.NXT over the data accepted, adjust RCV.WND, and acknowledge <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (the ACK may be delayed, §3.8.6.3).');
  }
  if (f & FIN) {
    const finStep: Record<string, string> = {
      'SYN-RECEIVED': 'Eighth, check the FIN bit: signal "connection closing" to the user, advance RCV.NXT over the FIN, send an ACK; enter CLOSE-WAIT.',
      ESTABLISHED: 'Eighth, check the FIN bit: signal "connection closing" (EOF) to the user, advance RCV.NXT over the FIN and send an ACK for it; enter the CLOSE-WAIT state.',
      'FIN-WAIT-1': after === 'TIME-WAIT'
        ? 'Eighth, check the FIN bit in FIN-WAIT-1: our FIN has been ACKed (by this very segment), so enter TIME-WAIT, start the time-wait timer and turn off the other timers.'
        : 'Eighth, check the FIN bit in FIN-WAIT-1: our FIN is not yet ACKed, so enter the CLOSING state (simultaneous close).',
      'FIN-WAIT-2': 'Eighth, check the FIN bit in FIN-WAIT-2: enter the TIME-WAIT state, start the time-wait timer (2 MSL) and turn off the other timers.',
      'CLOSE-WAIT': 'Eighth, check the FIN bit: in CLOSE-WAIT remain in CLOSE-WAIT (a retransmitted FIN).',
      CLOSING: 'Eighth, check the FIN bit: in CLOSING remain in CLOSING.',
      'LAST-ACK': 'Eighth, check the FIN bit: in LAST-ACK remain in LAST-ACK.',
      'TIME-WAIT': 'Eighth, check the FIN bit: in TIME-WAIT remain in TIME-WAIT and restart the 2 MSL time-wait timeout.',
    };
    steps.push(finStep[before] ?? 'Eighth, check the FIN bit.');
  }
  const moved = after !== undefined && after !== before ? ` → ${after}` : '';
  const what = f & FIN ? 'FIN' : seg.payload.length ? 'data' : 'ACK';
  return { section: '3.10.7.4', title: `${before}: ${what} processed${moved}`, steps };
}
