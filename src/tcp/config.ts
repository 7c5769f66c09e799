/** Engine configuration. Defaults follow RFC 9293 and, where the RFC leaves a choice, Linux. */
import type { CongestionControl, CongestionFactory } from './cc/congestion.js';
import { Cubic, type HystartMode } from './cc/cubic.js';
import { newReno } from './cc/newreno.js';

/**
 * Engine configuration: one per stack (StackOptions.tcp) and per connection (a socket's `tcp` option, socket
 * calls). Every field has a default in DEFAULT_CONFIG; pass a Partial of it. Times in ms, sizes in bytes.
 */
export interface TcpConfig {
  /**
   * Minimum ms between duplicate ACKs sent in reply to out-of-window pure ACKs (Linux tcp_invalid_ratelimit,
   * 500 ms); 0 answers every one. Prevents ACK wars between two ends that disagree about the window.
   */
  invalidAckRatelimit: number;
  /** MSS we advertise in our SYN (RFC 9293 §3.7.1); 1460 for a 1500-byte IPv4 MTU. */
  mss: number;
  /** Receive buffer capacity in bytes; RCV.WND never exceeds what is free in it. */
  recvBufferSize: number;
  /** Send buffer capacity in bytes; send() accepts no more than what is free. */
  sendBufferSize: number;
  /**
   * Send buffer autotuning, as Linux's (tcp_sndbuf_expand, net/ipv4/tcp_input.c; net.ipv4.tcp_wmem): the buffer
   * holds at most 2 · max(10, cwnd in segments) · MSS, growing with the congestion window, up to sendBufferSize
   * (Linux's tcp_wmem[2]; an application's SO_SNDBUF turns it off there). An application that writes as fast as
   * send() accepts then hands over about two windows at a time, as on a kernel socket, instead of filling
   * megabytes in one synchronous run while no ACK is processed (issue 15: a 3.8 ms stall after the initial window
   * of a 20 MB response with a 4 MiB buffer). On by default, as a Linux socket without SO_SNDBUF (Node's net never
   * sets it); false makes sendBufferSize a fixed size, as SO_SNDBUF does on Linux (SOCK_SNDBUF_LOCK), for a caller
   * that queues a whole transfer with one send().
   */
  sendBufferAutotune: boolean;
  /**
   * Receive buffer autotuning, as Linux's dynamic right-sizing (tcp_rcv_space_adjust and tcp_rcvbuf_grow,
   * net/ipv4/tcp_input.c; net.ipv4.tcp_moderate_rcvbuf = 1, net.ipv4.tcp_rmem): the window offered starts at
   * 64 KiB (Linux: tcp_rmem[1] = 128 KiB at half overhead) and grows, once per receiver RTT, to about twice what
   * the application read in the last RTT (plus room for the sender's slow-start growth, plus what is held out of
   * order; Linux 6.18's tcp_rcvbuf_grow), up to recvBufferSize (tcp_rmem[2]). It
   * never shrinks, and the window scale offered in the SYN is still derived from recvBufferSize. A reader that
   * keeps up gets the window its path needs rather than the whole maximum from the start; a reader that stops
   * gets no growth (on the in-memory wire, whose virtual time costs no CPU, a reader always keeps up: the window
   * still grows to what the sender's congestion window asks). On by default, as a Linux socket without
   * SO_RCVBUF (Node's net never sets it); false makes recvBufferSize a fixed window, as SO_RCVBUF does on Linux
   * (SOCK_RCVBUF_LOCK), for a receiver that reads only at the end.
   */
  recvBufferAutotune: boolean;
  /** Offer window scaling (RFC 7323 §2). Our shift is derived from recvBufferSize. */
  windowScaling: boolean;
  /** Offer SACK (RFC 2018). */
  sack: boolean;
  /**
   * With SACK, report data received twice in the first SACK block (D-SACK, RFC 2883), so a sender can tell a
   * needless retransmission from a loss and undo its window reduction. As Linux (net.ipv4.tcp_dsack = 1).
   */
  dsack: boolean;
  /** Offer timestamps (RFC 7323 §3) and use PAWS (§5). */
  timestamps: boolean;
  /** Nagle's algorithm (RFC 9293 §3.7.4); Node's setNoDelay(true) turns it off. */
  nagle: boolean;
  /** Delayed ACKs (RFC 9293 §3.8.6.3, RFC 5681 §4.2). */
  delayedAck: boolean;
  /** Delayed-ACK timeout in ms (Linux's minimum ATO is 40 ms; the RFC caps it at 500 ms). */
  delayedAckTimeout: number;
  /** RTO before any RTT sample (RFC 6298 §2.1: 1 s). */
  rtoInitial: number;
  /** Lower bound for the RTO (RFC 6298 says 1 s; Linux uses 200 ms, which is the default here). */
  rtoMin: number;
  /** Upper bound for the RTO (Linux: 120 s). */
  rtoMax: number;
  /** SYN retransmissions before an active open fails with ETIMEDOUT (Linux tcp_syn_retries = 6). */
  synRetries: number;
  /** SYN+ACK retransmissions before a passive open is given up (Linux tcp_synack_retries = 5). */
  synAckRetries: number;
  /** Data/FIN retransmissions before the connection fails with ETIMEDOUT (Linux tcp_retries2 = 15). */
  maxRetransmits: number;
  /** Maximum segment lifetime; TIME-WAIT lasts 2·MSL (RFC 9293 §3.4.2). */
  msl: number;
  /** How long an orphaned connection may sit in FIN-WAIT-2 (Linux tcp_fin_timeout = 60 s). */
  finWait2Timeout: number;
  /** Keep-alive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): off by default. */
  keepAlive: boolean;
  keepAliveIdle: number;
  keepAliveInterval: number;
  keepAliveProbes: number;
  /** RFC 5961 §7 challenge-ACK rate limit: at most this many per second per connection. */
  challengeAckLimit: number;
  /**
   * RFC 5961 §7, as Linux limits it per socket: at least this long between two challenge ACKs of one connection
   * (net.ipv4.tcp_invalid_ratelimit = 500 ms), so 3 000 in-window RSTs in a burst earn one, not 3 000. 0 = no gap.
   */
  challengeAckIntervalMs: number;
  /**
   * ECN (RFC 3168; ecn.ts): 'on' requests it on active opens and accepts it (Linux tcp_ecn = 1); 'passive'
   * accepts it when a peer asks (Linux's default, tcp_ecn = 2); 'off' never.
   */
  ecn: 'on' | 'passive' | 'off';
  /** Initial congestion window in segments (RFC 6928: 10). */
  initialWindowSegments: number;
  /**
   * The initial window after a lost SYN or SYN+ACK. 'rfc5681' (default): one segment after any handshake
   * retransmission of ours (RFC 5681 §3.1: "MUST be one segment"). 'linux': one segment only after more than
   * one (Linux tcp_init_transfer, total_retrans > 1), otherwise the usual initial window.
   */
  synLossWindow: 'rfc5681' | 'linux';
  /**
   * Tail loss probe (RFC 8985 §7): with SACK, when a flight's tail may be lost and no ACK comes, probe after
   * PTO = 2·SRTT (at least 1.5·SRTT + 200 ms with one segment in flight, never past the RTO) with new data or the
   * last segment, so that the loss is repaired by fast recovery instead of an RTO. On by default, as in Linux
   * (net.ipv4.tcp_early_retrans = 3); the drill's FreeBSD personality turns it off (FreeBSD's default stack has
   * none).
   */
  tailLossProbe: boolean;
  /**
   * User timeout in ms (RFC 9293 §3.10.8, RFC 5482; Linux TCP_USER_TIMEOUT): the connection is aborted with
   * ETIMEDOUT when data or a FIN has stayed unacknowledged this long. 0 = off (the retransmission limits apply).
   */
  userTimeout: number;
  /**
   * Congestion control per connection: 'cubic' (RFC 9438, leaving slow start as `hystart` says; Linux's default
   * and ours) or 'newreno' (RFC 5681, RFC 6582).
   */
  congestionControl: 'newreno' | 'cubic';
  /**
   * How CUBIC leaves slow start when the RTT rises by max(4 ms, min(16 ms, RTT/8)) within a round: 'linux' ends
   * slow start there (ssthresh = cwnd; Linux's HyStart delay detection, tcp_cubic.c) and also when a round's ACK
   * train outlasts half the minimum RTT (Linux's HyStart ACK-train detection, cc/cubic.ts), 'rfc9406' enters HyStart++'s
   * Conservative Slow Start (RFC 9406 §4.2: growth / 4 for 5 rounds), 'off' keeps slow start until a loss.
   */
  hystart: HystartMode;
  /** A congestion controller of your own (cc/congestion.ts); overrides congestionControl when set. */
  congestion?: CongestionFactory;
  /**
   * RACK-TLP loss detection (RFC 8985) when both ends use SACK: a segment is lost once one sent after it is
   * delivered and its reordering window has passed; recovery is paced by PRR (RFC 6937). As Linux
   * (net.ipv4.tcp_recovery = 1). false: three duplicate ACKs or three SACKed segments (RFC 5681, RFC 6675).
   */
  rack: boolean;
  /**
   * Timestamp clock rate in ticks per millisecond (1 = 1 ms per tick, Linux's TCP TS clock).
   * RFC 7323 §5.4 needs 1 ms–1 s per tick.
   */
  tsTicksPerMs: number;
  /**
   * TCP option layout on the wire: 'linux' (tcp_options_write: 32-bit words, NOP-padded) or 'freebsd'
   * (tcp_addoptions: mss, wscale, sackOK, TS with alignment NOPs, EOL-padded). Both are valid RFC 9293
   * layouts; packetdrill personalities compare them byte for byte.
   */
  optionLayout: 'linux' | 'freebsd';
  /** Window-scale shift to offer (RFC 7323 §2.3); null derives it from recvBufferSize. */
  windowShift: number | null;
  /** ms added to every computed RTO (FreeBSD net.inet.tcp.rexmit_slop); 0 on Linux. */
  rtoSlop: number;
  /**
   * Linux ≥ 6.5 tcp_syn_linear_timeouts: the first N SYN retransmissions wait the initial RTO each
   * (no backoff), later ones double. 0 = classic exponential backoff (RFC 6298 §5.5).
   */
  synLinearTimeouts: number;
  /**
   * Acknowledge a peer's FIN at once instead of on the delayed-ACK timer: true (FreeBSD), false (always
   * delayed), 'if-no-data' (Linux: at once unless data was received before it).
   */
  ackFinImmediately: boolean | 'if-no-data';
  /**
   * Receiver silly-window avoidance: 'rfc9293' moves the right edge only by min(RCV.BUFF/2, MSS) steps
   * (§3.8.6.2.2); 'bsd' offers all free space but never a window below min(RCV.BUFF/4, MSS) (tcp_output).
   */
  receiverSws: 'rfc9293' | 'bsd';
  /**
   * Abort RSTs carry ACK=RCV.NXT (Linux and FreeBSD tcp_send_active_reset; RFC 9293 §3.10.5 sends RST alone),
   * and data arriving after close() is answered with a RST built from that segment, <SEQ=SEG.ACK>.
   */
  abortRstAck: boolean;
  /** Process the ACK of a wholly duplicate segment ending at RCV.NXT, e.g. a retransmitted FIN (BSD, Linux). */
  ackOfDuplicate: boolean;
  /**
   * SYN+FIN segments: 'drop' them as an invalid combination (synack's hardening, FreeBSD drop_synfin=1), or
   * 'ignore-fin': process them as a SYN (FreeBSD drop_synfin=0). Applied by the host stack on arrival.
   */
  synFin: 'drop' | 'ignore-fin';
  /** A SYN+ACK arriving at a listener: 'rst' (RFC 9293 §3.10.7.2, Linux) or 'drop' (FreeBSD 14). */
  listenSynAck: 'rst' | 'drop';
  /** BSD: while our FIN is unacknowledged, ACKs we send repeat it (FIN-WAIT-1, CLOSING, LAST-ACK); challenge ACKs excepted. */
  finOnAck: boolean;
  /** Connection-establishment timeout in ms (FreeBSD TCP_KEEPINIT / net.inet.tcp.keepinit); Infinity = none. */
  keepInit: number;
  /**
   * Linux quick-ACK mode at connection start: the first this-many data segments are ACKed at once instead
   * of delayed (RFC 9293 §3.8.6.3 allows either). 0 = a connection's first data is ACKed as any other (with
   * delayedAck, on the timer or with a second segment), so a request's ACK rides on its response.
   */
  quickAckSegments: number;
  /**
   * Linux's quick-ACK rules beyond a connection's start (arrive/quick-ack.ts), whatever quickAckSegments is: the
   * next 16 in-order segments (Linux TCP_MAX_QUICKACKS) are ACKed at once after data received twice or beyond the
   * window (the sender retransmitted or probes: it waits for an ACK) and after the peer was silent for longer than
   * the RTO, and every segment is while the autotuned window opens. A sender with one or two segments in flight
   * after losses otherwise waits for the 40 ms delayed-ACK timer: on by default (a kernel sender, 20 MB at 5 %
   * loss: median 6.8 -> 9.0 MB/s over 36 alternated transfers each, a kernel receiver 8.75). false: only
   * quickAckSegments.
   */
  quickAckBeyondStart: boolean;
  /**
   * SACK compression (Linux net.ipv4.tcp_comp_sack_nr, default 44; 0 = off): while data is held out of order,
   * the first three duplicate ACKs at one RCV.NXT leave at once (enough for the sender's fast retransmit), and
   * the next up to this many are held and sent as one ACK after sackCompressDelay (the latest SACK blocks) —
   * as Linux __tcp_ack_snd_check does. A hole-filling segment moves RCV.NXT and is ACKed at once.
   */
  sackCompress: number;
  /** Most a compressed SACK is held, in ms (Linux tcp_comp_sack_delay_ns, 1 ms; less on a short path: SRTT/20). */
  sackCompressDelay: number;
  /** Send no TCP options at all, not even MSS (FreeBSD TCP_NOOPT). */
  noOptions: boolean;
  /**
   * TCP segmentation offload: when the link can cut segments itself (a TUN device with offload), new data
   * goes out in segments of up to this many payload bytes (a multiple of the send MSS, within window and
   * cwnd), which the link segments into MSS-sized ones. 0 = off (one MSS per segment, the default).
   */
  tsoMaxBytes: number;
  /**
   * Pacing (Linux TCP internal pacing, tcp_update_pacing_rate / tcp_internal_pacing): new data leaves at
   * cwnd/SRTT × 200 % in slow start and × 120 % in congestion avoidance (net.ipv4.tcp_pacing_ss_ratio /
   * tcp_pacing_ca_ratio) instead of as whole windows back to back, so slow start does not overflow a shallow
   * bottleneck queue; TSO segments are sized to about 1 ms of that rate, at least two MSS (tcp_tso_autosize).
   * Retransmissions and pure ACKs are not paced. The host learns when the next paced segment is due from
   * nextDeadline(). Off by default, as Linux paces a CUBIC flow only under the fq qdisc or when asked
   * (SO_MAX_PACING_RATE; BBR always paces): without it, whole windows go out as the ACKs open them.
   */
  pacing: boolean;
  /**
   * The link delivers receive-offload super-segments (several MSS of data in one segment, e.g. GSO packets
   * from a TUN device with offload): each one counts as (at least) two full-sized segments for the
   * ACK-every-second-segment rule (RFC 5681 §4.2), so it is ACKed at once instead of after the delayed-ACK
   * timeout. Default false.
   */
  receiveOffload: boolean;
  /**
   * A RST inside the receive window but not at RCV.NXT: 'challenge' (RFC 5961 §3.2, RFC 9293 §3.10.7.4 second:
   * challenge ACK, drop) or 'reset' (RFC 793 p. 70: any in-window RST resets; FreeBSD net.inet.tcp.insecure_rst=1).
   */
  rstInWindow: 'challenge' | 'reset';
  /**
   * A SYN in a synchronized state: 'challenge' (RFC 5961 §4: challenge ACK whatever its sequence number) or
   * 'reset' (RFC 793 p. 71: an in-window SYN is an error, answered with a RST, and the connection is closed;
   * FreeBSD insecure_syn=1, tcp_input.c tcp_drop). Out of the window both answer with an ACK (first check).
   */
  synInWindow: 'challenge' | 'reset';
  /**
   * An ACK older than SND.UNA − MAX.SND.WND: 'challenge' (RFC 5961 §5.2: challenge ACK, drop) or 'ignore'
   * (RFC 793 p. 72: a duplicate ACK is ignored and the segment processed on).
   */
  oldAck: 'challenge' | 'ignore';
  /**
   * The RCV.WND arriving segments are tested against: 'advertised' (the right edge we last advertised,
   * RFC 9293 §3.10.7.4) or 'buffer' (FreeBSD tcp_input.c: rcv_wnd = max(sbspace, rcv_adv − rcv_nxt), i.e. the
   * free buffer even when it exceeds the 65535 an unscaled window field can advertise).
   */
  rcvWndAccept: 'advertised' | 'buffer';
  /**
   * Text on a SYN arriving in SYN-SENT (simultaneous open): 'queue' (RFC 9293 §3.10.7.3 fourth: "queue them
   * for processing after the ESTABLISHED state has been reached", then ACKed at once), 'queue-unacked'
   * (FreeBSD: tcp_reass holds it until ESTABLISHED and delivers it without asking for an ACK, which rides on the
   * next segment sent) or 'discard' (Linux tcp_rcv_synsent_state_process: dropped, the peer retransmits).
   */
  synSentData: 'queue' | 'queue-unacked' | 'discard';
  /**
   * In TIME-WAIT, a segment carrying text or anything but a bare in-sequence ACK is answered with an ACK
   * (FreeBSD tcp_twcheck "acknowledge the segment if it has data or is not a duplicate ACK"; Linux
   * tcp_timewait_state_process). false: RFC 9293 §3.10.7.4 seventh, the text is ignored silently.
   * The stack's compact TIME-WAIT table (Linux's timewait sock, which keeps no SND.UNA) applies Linux's rule:
   * only a segment occupying no sequence space at RCV.NXT (a bare ACK, whatever its SEG.ACK) goes unanswered;
   * any other, in the window or not, is ACKed, a pure ACK or SYN at most once per invalidAckRatelimit
   * (tcp_timewait_check_oow_rate_limit).
   */
  timeWaitAckData: boolean;
  /**
   * TCP_MAXSEG set by the user (Linux user_mss, RFC 9293 §3.7.1 "the MSS the TCP endpoint advertises may be
   * smaller"): caps the MSS we advertise and the send MSS. 0 = not set.
   */
  userMss: number;
  /**
   * The sequence-number test of the first check: 'rfc9293' (§3.10.7.4's four cases) or 'linux'
   * (tcp_sequence: acceptable unless it ends before rcv_wup, RCV.NXT as of the last segment sent (Last.ACK.sent),
   * or starts after RCV.NXT + RCV.WND, so a segment at exactly the right edge passes, and one in
   * [Last.ACK.sent, RCV.NXT) has its ACK processed, or as a RST draws a challenge ACK; text running past the right
   * edge fails while unread data is queued (Linux ≥ 6.17); tcp_reset_check: after the
   * peer's FIN, a RST at RCV.NXT − 1 resets in CLOSE-WAIT, CLOSING and LAST-ACK; tcp_validate_incoming: a RST at
   * the right edge of the highest SACK block held resets); or 'bsd' (tcp_input.c trimming: a segment wholly left
   * of the window is trimmed to nothing, ACKed and its ACK still processed; a zero-length segment at
   * RCV.NXT + RCV.WND passes).
   */
  seqCheck: 'rfc9293' | 'linux' | 'bsd';
  /**
   * Linux tcp_fin_time: an orphan's FIN-WAIT-2 timeout is at least 3.5 RTO (unless it is 0, TCP_LINGER2 < 0:
   * closed at once). false: exactly finWait2Timeout / TCP_LINGER2.
   */
  finWait2RtoFloor: boolean;
  /**
   * A RST in TIME-WAIT: 'ignore' (RFC 1337, as Linux with net.ipv4.tcp_rfc1337 = 1 and FreeBSD's tcp_twcheck),
   * 'close' (RFC 793 p. 70: "If the RST bit is set then enter the CLOSED state": any acceptable RST) or
   * 'close-exact' (Linux's default, tcp_rfc1337 = 0: tcp_timewait_state_process ends TIME-WAIT on a RST whose
   * SEG.SEQ = RCV.NXT and drops any other RST).
   */
  timeWaitRst: 'ignore' | 'close' | 'close-exact';
}

/**
 * RFC 793's original rules, before RFC 5961: any in-window RST resets, an in-window SYN draws a RST and closes,
 * an old ACK is ignored. Spread over a configuration (`{ ...config, ...RFC793_RULES }`) to watch a blind
 * in-window RST kill a connection; the defaults (RFC 5961) answer it with a challenge ACK.
 */
export const RFC793_RULES: Pick<TcpConfig, 'rstInWindow' | 'synInWindow' | 'oldAck' | 'timeWaitRst'> = {
  rstInWindow: 'reset', synInWindow: 'reset', oldAck: 'ignore', timeWaitRst: 'close',
};

/** DEFAULT_CONFIG's values, as written; DEFAULT_CONFIG is made from them with every configuration's layout. */
const DEFAULTS: TcpConfig = {
  invalidAckRatelimit: 500,
  mss: 1460,
  recvBufferSize: 1 << 20,
  sendBufferSize: 1 << 20,
  sendBufferAutotune: true,
  recvBufferAutotune: true,
  windowScaling: true,
  sack: true,
  dsack: true,
  timestamps: true,
  nagle: true,
  delayedAck: true,
  delayedAckTimeout: 40,
  rtoInitial: 1000,
  rtoMin: 200,
  rtoMax: 120_000,
  synRetries: 6,
  synAckRetries: 5,
  maxRetransmits: 15,
  msl: 30_000,
  finWait2Timeout: 60_000,
  keepAlive: false,
  keepAliveIdle: 7_200_000,
  keepAliveInterval: 75_000,
  keepAliveProbes: 9,
  challengeAckLimit: 1000,
  challengeAckIntervalMs: 500,
  ecn: 'passive',
  initialWindowSegments: 10,
  synLossWindow: 'rfc5681',
  tailLossProbe: true,
  userTimeout: 0,
  congestionControl: 'cubic',
  hystart: 'linux',
  rack: true,
  tsTicksPerMs: 1,
  optionLayout: 'linux',
  windowShift: null,
  rtoSlop: 0,
  synLinearTimeouts: 0,
  ackFinImmediately: false,
  receiverSws: 'rfc9293',
  abortRstAck: false,
  finOnAck: false,
  ackOfDuplicate: false,
  listenSynAck: 'rst',
  synFin: 'drop',
  keepInit: Infinity,
  quickAckSegments: 0,
  quickAckBeyondStart: true,
  sackCompress: 44,
  sackCompressDelay: 1,
  noOptions: false,
  tsoMaxBytes: 0,
  pacing: false,
  receiveOffload: false,
  rstInWindow: 'challenge',
  synInWindow: 'challenge',
  oldAck: 'challenge',
  rcvWndAccept: 'advertised',
  synSentData: 'queue',
  timeWaitAckData: false,
  userMss: 0,
  seqCheck: 'rfc9293',
  finWait2RtoFloor: false,
  timeWaitRst: 'ignore',
};

/**
 * `d` with `p`'s fields over it (a field `p` leaves undefined is `d`'s), as one object literal naming every field
 * in one order, so every configuration has one layout (V8's map) whenever it is made (issue 14). The object
 * spread this replaces (`{ ...DEFAULT_CONFIG, ...partial }`) made configurations of two layouts, one with its
 * fields in the object and one with a separate property array (the interpreter and optimised code lower a spread
 * differently), and a field only some partials give (congestion) appended a third: the engine's reads of `cfg`
 * then met several maps in a process that makes stacks over time, and code built for one went back to the
 * interpreter at the next ('wrong map'). The type makes every field, optional ones too, be named here.
 */
function completeConfig(p: Partial<TcpConfig>, d: TcpConfig): TcpConfig {
  const c: TcpConfig & Record<keyof TcpConfig, unknown> = {
    invalidAckRatelimit: p.invalidAckRatelimit === undefined ? d.invalidAckRatelimit : p.invalidAckRatelimit,
    mss: p.mss === undefined ? d.mss : p.mss,
    recvBufferSize: p.recvBufferSize === undefined ? d.recvBufferSize : p.recvBufferSize,
    sendBufferSize: p.sendBufferSize === undefined ? d.sendBufferSize : p.sendBufferSize,
    sendBufferAutotune: p.sendBufferAutotune === undefined ? d.sendBufferAutotune : p.sendBufferAutotune,
    recvBufferAutotune: p.recvBufferAutotune === undefined ? d.recvBufferAutotune : p.recvBufferAutotune,
    windowScaling: p.windowScaling === undefined ? d.windowScaling : p.windowScaling,
    sack: p.sack === undefined ? d.sack : p.sack,
    dsack: p.dsack === undefined ? d.dsack : p.dsack,
    timestamps: p.timestamps === undefined ? d.timestamps : p.timestamps,
    nagle: p.nagle === undefined ? d.nagle : p.nagle,
    delayedAck: p.delayedAck === undefined ? d.delayedAck : p.delayedAck,
    delayedAckTimeout: p.delayedAckTimeout === undefined ? d.delayedAckTimeout : p.delayedAckTimeout,
    rtoInitial: p.rtoInitial === undefined ? d.rtoInitial : p.rtoInitial,
    rtoMin: p.rtoMin === undefined ? d.rtoMin : p.rtoMin,
    rtoMax: p.rtoMax === undefined ? d.rtoMax : p.rtoMax,
    synRetries: p.synRetries === undefined ? d.synRetries : p.synRetries,
    synAckRetries: p.synAckRetries === undefined ? d.synAckRetries : p.synAckRetries,
    maxRetransmits: p.maxRetransmits === undefined ? d.maxRetransmits : p.maxRetransmits,
    msl: p.msl === undefined ? d.msl : p.msl,
    finWait2Timeout: p.finWait2Timeout === undefined ? d.finWait2Timeout : p.finWait2Timeout,
    keepAlive: p.keepAlive === undefined ? d.keepAlive : p.keepAlive,
    keepAliveIdle: p.keepAliveIdle === undefined ? d.keepAliveIdle : p.keepAliveIdle,
    keepAliveInterval: p.keepAliveInterval === undefined ? d.keepAliveInterval : p.keepAliveInterval,
    keepAliveProbes: p.keepAliveProbes === undefined ? d.keepAliveProbes : p.keepAliveProbes,
    challengeAckLimit: p.challengeAckLimit === undefined ? d.challengeAckLimit : p.challengeAckLimit,
    challengeAckIntervalMs: p.challengeAckIntervalMs === undefined ? d.challengeAckIntervalMs : p.challengeAckIntervalMs,
    ecn: p.ecn === undefined ? d.ecn : p.ecn,
    initialWindowSegments: p.initialWindowSegments === undefined ? d.initialWindowSegments : p.initialWindowSegments,
    synLossWindow: p.synLossWindow === undefined ? d.synLossWindow : p.synLossWindow,
    tailLossProbe: p.tailLossProbe === undefined ? d.tailLossProbe : p.tailLossProbe,
    userTimeout: p.userTimeout === undefined ? d.userTimeout : p.userTimeout,
    congestionControl: p.congestionControl === undefined ? d.congestionControl : p.congestionControl,
    hystart: p.hystart === undefined ? d.hystart : p.hystart,
    rack: p.rack === undefined ? d.rack : p.rack,
    tsTicksPerMs: p.tsTicksPerMs === undefined ? d.tsTicksPerMs : p.tsTicksPerMs,
    optionLayout: p.optionLayout === undefined ? d.optionLayout : p.optionLayout,
    windowShift: p.windowShift === undefined ? d.windowShift : p.windowShift,
    rtoSlop: p.rtoSlop === undefined ? d.rtoSlop : p.rtoSlop,
    synLinearTimeouts: p.synLinearTimeouts === undefined ? d.synLinearTimeouts : p.synLinearTimeouts,
    ackFinImmediately: p.ackFinImmediately === undefined ? d.ackFinImmediately : p.ackFinImmediately,
    receiverSws: p.receiverSws === undefined ? d.receiverSws : p.receiverSws,
    abortRstAck: p.abortRstAck === undefined ? d.abortRstAck : p.abortRstAck,
    finOnAck: p.finOnAck === undefined ? d.finOnAck : p.finOnAck,
    ackOfDuplicate: p.ackOfDuplicate === undefined ? d.ackOfDuplicate : p.ackOfDuplicate,
    listenSynAck: p.listenSynAck === undefined ? d.listenSynAck : p.listenSynAck,
    synFin: p.synFin === undefined ? d.synFin : p.synFin,
    keepInit: p.keepInit === undefined ? d.keepInit : p.keepInit,
    quickAckSegments: p.quickAckSegments === undefined ? d.quickAckSegments : p.quickAckSegments,
    quickAckBeyondStart: p.quickAckBeyondStart === undefined ? d.quickAckBeyondStart : p.quickAckBeyondStart,
    sackCompress: p.sackCompress === undefined ? d.sackCompress : p.sackCompress,
    sackCompressDelay: p.sackCompressDelay === undefined ? d.sackCompressDelay : p.sackCompressDelay,
    noOptions: p.noOptions === undefined ? d.noOptions : p.noOptions,
    tsoMaxBytes: p.tsoMaxBytes === undefined ? d.tsoMaxBytes : p.tsoMaxBytes,
    pacing: p.pacing === undefined ? d.pacing : p.pacing,
    receiveOffload: p.receiveOffload === undefined ? d.receiveOffload : p.receiveOffload,
    rstInWindow: p.rstInWindow === undefined ? d.rstInWindow : p.rstInWindow,
    synInWindow: p.synInWindow === undefined ? d.synInWindow : p.synInWindow,
    oldAck: p.oldAck === undefined ? d.oldAck : p.oldAck,
    rcvWndAccept: p.rcvWndAccept === undefined ? d.rcvWndAccept : p.rcvWndAccept,
    synSentData: p.synSentData === undefined ? d.synSentData : p.synSentData,
    timeWaitAckData: p.timeWaitAckData === undefined ? d.timeWaitAckData : p.timeWaitAckData,
    userMss: p.userMss === undefined ? d.userMss : p.userMss,
    seqCheck: p.seqCheck === undefined ? d.seqCheck : p.seqCheck,
    finWait2RtoFloor: p.finWait2RtoFloor === undefined ? d.finWait2RtoFloor : p.finWait2RtoFloor,
    timeWaitRst: p.timeWaitRst === undefined ? d.timeWaitRst : p.timeWaitRst,
    congestion: p.congestion === undefined ? d.congestion : p.congestion,
  };
  return c;
}

/** The defaults: RFC 9293 and its successors, and Linux where the RFCs leave a choice (MSS 1460, CUBIC, SACK, timestamps, window scaling). */
export const DEFAULT_CONFIG: TcpConfig = completeConfig({}, DEFAULTS);

/** A complete configuration: DEFAULT_CONFIG with `partial`'s fields over it (DEFAULT_CONFIG itself when none). */
export function resolveConfig(partial?: Partial<TcpConfig>): TcpConfig {
  if (!partial) return DEFAULT_CONFIG;
  const c = completeConfig(partial, DEFAULT_CONFIG);
  complete.add(c);
  return c;
}

/** Configurations known to be complete (resolveConfig's results): connections may inherit from them. */
const complete = new WeakSet<object>([DEFAULT_CONFIG]);

/**
 * The configuration a connection reads (TcpConnection.cfg): a complete one (the stack's) itself, shared by
 * thousands of connections; a partial one completed into a copy. A connection makes one of its own only when its
 * `config` is taken, to set a field there (a socket option): inheritConfig.
 */
export function connectionConfig(partial?: Partial<TcpConfig>): TcpConfig {
  if (partial === undefined || complete.has(partial)) return (partial ?? DEFAULT_CONFIG) as TcpConfig;
  return resolveConfig(partial);
}

/**
 * A connection's own configuration: an empty object whose prototype is `base` (every field inherited, a field set
 * on it its own), made by a constructor kept per base: V8 sizes such objects to the properties their constructor's
 * instances actually get (none), 24 bytes, where Object.create(base) reserves room for four (56 bytes).
 */
export function inheritConfig(base: TcpConfig): TcpConfig {
  let make = inheritingConstructors.get(base);
  if (make === undefined) {
    const ctor = function InheritedConfig(): void { /* nothing: every field comes from the prototype */ };
    ctor.prototype = base;
    make = ctor as unknown as new () => TcpConfig;
    inheritingConstructors.set(base, make);
  }
  return new make();
}
const inheritingConstructors = new WeakMap<TcpConfig, new () => TcpConfig>();

/** Our window-scale shift: the smallest that lets the 16-bit field express the whole receive buffer (RFC 7323 §2.3, max 14). */
export function windowShiftFor(bufferSize: number): number {
  let shift = 0;
  while (shift < 14 && (65535 << shift) < bufferSize) shift++;
  return shift;
}

/** The window-scale shift we offer: the configured one, else derived from the receive buffer. */
export function offeredShift(c: TcpConfig): number {
  return c.windowShift ?? windowShiftFor(c.recvBufferSize);
}

/** The congestion controller a connection with this configuration uses. */
export function congestionFactory(c: TcpConfig): CongestionFactory {
  if (c.congestion) return c.congestion;
  if (c.congestionControl === 'newreno') return newReno;
  // Linux's ACK-train test allows for the aggregates the sender hands its link (TSO) and for pacing (cc/cubic.ts).
  const train = { paced: c.pacing, gsoBytes: Math.max(c.tsoMaxBytes, c.mss) };
  return (iw) => new Cubic(iw, c.hystart, train);
}

/**
 * A new congestion controller for this configuration: congestionFactory(c)(iw) without making a factory and an
 * options object per connection (~190 B of garbage at each connection's first send; Cubic copies the options).
 */
export function newCongestionControl(c: TcpConfig, iw: number): CongestionControl {
  if (c.congestion) return c.congestion(iw);
  if (c.congestionControl === 'newreno') return newReno(iw);
  const gsoBytes = Math.max(c.tsoMaxBytes, c.mss);
  if (lastTrain.paced !== c.pacing || lastTrain.gsoBytes !== gsoBytes) lastTrain = Object.freeze({ paced: c.pacing, gsoBytes });
  return new Cubic(iw, c.hystart, lastTrain);
}
let lastTrain: Readonly<{ paced: boolean; gsoBytes: number }> = Object.freeze({ paced: false, gsoBytes: 65536 });
