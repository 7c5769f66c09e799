/**
 * Counters, named after Linux's /proc/net/snmp and netstat (nstat) fields so users can compare them
 * with the kernel's. One instance is usually shared by every connection of a stack.
 */
/** Flag combinations no valid segment carries (SYN+FIN, SYN+RST, FIN+RST, no flags, FIN without ACK, FIN+PSH+URG without ACK); counted and dropped. */
export type InvalidFlagCombo = 'syn-fin' | 'syn-rst' | 'fin-rst' | 'null' | 'fin-no-ack' | 'xmas';

/** Every InvalidFlagCombo, in the order TcpStats.snapshot() lists their counters. */
export const INVALID_FLAG_COMBOS: readonly InvalidFlagCombo[] = ['syn-fin', 'syn-rst', 'fin-rst', 'null', 'fin-no-ack', 'xmas'];

/**
 * TCP counters named after Linux's /proc/net/snmp and netstat (nstat) fields (ActiveOpens, RetransSegs,
 * TCPChallengeACK ...), so runs compare with the kernel's. One instance is usually shared by a stack's connections.
 */
export class TcpStats {
  ActiveOpens = 0;
  PassiveOpens = 0;
  AttemptFails = 0;
  EstabResets = 0;
  InSegs = 0;
  OutSegs = 0;
  RetransSegs = 0;
  InErrs = 0;
  OutRsts = 0;
  /** Timeouts that fired (RTO). */
  TCPTimeouts = 0;
  /** Tail loss probes sent (RFC 8985 §7; Linux TCPLossProbes). */
  TCPLossProbes = 0;
  TCPFastRetrans = 0;
  /** D-SACKs received (RFC 2883; Linux TCPDSACKRecv) and sent (for data below RCV.NXT or held out of order; TCPDSACKOldSent + TCPDSACKOfoSent). */
  TCPDSACKRecv = 0;
  TCPDSACKOldSent = 0;
  /**
   * Window reductions undone because they were needless (recovery/undo.ts; Linux's counters): every retransmission
   * of the episode was reported by a D-SACK (TCPDSACKUndo), the ACK ending recovery echoes a timestamp older than
   * the first retransmission (TCPFullUndo, RFC 3522 Eifel), likewise after an RTO (TCPLossUndo).
   */
  TCPDSACKUndo = 0;
  TCPFullUndo = 0;
  /** A partial ACK in recovery answered the original transmission: no retransmission was in flight, so the reduction and loss marks are undone (Linux TCPPartialUndo). */
  TCPPartialUndo = 0;
  TCPLossUndo = 0;
  TCPChallengeACK = 0;
  /** Challenge ACKs suppressed by the rate limit (RFC 5961 §7). */
  TCPChallengeACKLimited = 0;
  /** Segments dropped by PAWS (RFC 7323 §5). */
  PAWSEstab = 0;
  /** Duplicate ACKs not sent because SACK compression merged them into a later one (Linux TCPAckCompressed). */
  TCPAckCompressed = 0;
  /** Data arrived after the application closed: answered with RST (Linux TCPAbortOnData). */
  TCPAbortOnData = 0;
  TCPAbortOnClose = 0;
  TCPAbortOnTimeout = 0;
  /** Out-of-window pure ACKs not answered because of the rate limit (Linux TCPACKSkippedSeq). */
  TCPACKSkippedSeq = 0;
  /** Out-of-window segments answered with a duplicate ACK. */
  OutOfWindow = 0;
  /** RSTs accepted by the RFC 5961 §3 rules / rejected as not exact or out of window. */
  RstAccepted = 0;
  RstIgnored = 0;
  /** Invalid flag combinations dropped, per combination. */
  invalidFlags: Record<InvalidFlagCombo, number> = { 'syn-fin': 0, 'syn-rst': 0, 'fin-rst': 0, null: 0, 'fin-no-ack': 0, xmas: 0 };

  /** A flat snapshot with Linux-style names (invalid-flag drops as TCPInvalidFlags<Combo>). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this)) if (typeof v === 'number') out[k] = v;
    for (const c of INVALID_FLAG_COMBOS) out['TCPInvalidFlags' + c.split('-').map((p) => p[0]!.toUpperCase() + p.slice(1)).join('')] = this.invalidFlags[c];
    return out;
  }
}
