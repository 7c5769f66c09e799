/**
 * Congestion control behind an interface: one file per algorithm in this folder (newreno.ts, cubic.ts).
 * The engine drives loss detection (recovery/) and calls these hooks; an algorithm only sizes cwnd/ssthresh.
 */
/**
 * A congestion control algorithm (RFC 5681 and successors): the engine detects loss and calls these hooks;
 * the algorithm sizes cwnd and ssthresh (bytes). NewReno and CUBIC are built in; TcpConfig.congestion takes your own.
 */
export interface CongestionControl {
  /** The algorithm's name (shown in stats and traces). */
  readonly name: string;
  /** Congestion window in bytes. */
  cwnd: number;
  /** Slow-start threshold in bytes (RFC 5681 §3.1). */
  ssthresh: number;
  /** New data cumulatively acknowledged outside recovery. */
  onAck(ackedBytes: number, mss: number, now: number): void;
  /** Fast retransmit entered (RFC 5681 §3.2 step 2, RFC 6582 §3.2 step 2). flight = bytes outstanding. */
  onFastRetransmit(flight: number, mss: number): void;
  /** Extra duplicate ACK during fast recovery (window inflation, RFC 5681 §3.2 step 4). Only without SACK. */
  onDupAckInRecovery(mss: number): void;
  /** Partial ACK during recovery (RFC 6582 §3.2 step 5). */
  onPartialAck(ackedBytes: number, mss: number): void;
  /** Full ACK ends recovery (RFC 6582 §3.2 step 6). flight = bytes outstanding after the ACK. */
  onRecoveryEnd(flight: number, mss: number): void;
  /** Retransmission timeout (RFC 5681 §3.1 eq. 4; cwnd to the loss window). */
  onRto(flight: number, mss: number): void;
  /**
   * An RTT sample (ms) taken on an ACK for `ack`, with SND.NXT at that time (rounds for HyStart++, RFC 9406).
   * Optional: NewReno needs none.
   */
  onRttSample?(rtt: number, now: number, ack: number, sndNxt: number): void;
  /** After an idle period longer than an RTO (RFC 5681 §4.1), restart window. */
  onIdleRestart(mss: number, initialWindow: number): void;
}

/** Makes one connection's CongestionControl, given its initial window in bytes (RFC 6928). */
export type CongestionFactory = (initialWindow: number) => CongestionControl;
