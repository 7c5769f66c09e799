/**
 * `synack/engine`: one TCP connection as a sans-IO state machine (RFC 9293). No clock, timers or I/O: give it
 * segments and the time (`input(seg, now)`, `onTimeout(now)`), take segments (`pollTransmit(now)`), events
 * (`pollEvent()`) and the next deadline (`nextDeadline()`). Runs anywhere JavaScript runs.
 * @packageDocumentation
 */
export {
  TcpConnection, TcpError, rstFor, segmentAcceptable,
  type TcpConnectionOptions, type TcpEvent, type TcpCause, type TcpErrorCode, type TcpTimer, type TcpUserCall,
  type DropReason, type CookieParams,
} from '../tcp/connection.js';
export { DEFAULT_CONFIG, RFC793_RULES, resolveConfig, type TcpConfig } from '../tcp/config.js';
export type { CongestionControl, CongestionFactory } from '../tcp/cc/congestion.js';
export type { HystartMode } from '../tcp/cc/cubic.js';
export { IsnGenerator, type RandomSource } from '../tcp/isn.js';
export { TcpStats, INVALID_FLAG_COMBOS, type InvalidFlagCombo } from '../tcp/stats.js';
export {
  FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, seqAdd, seqDiff, seqGt, seqGe, seqLt, seqLe, segLen,
  type TcpSegment, type TcpOptions, type UnknownOption,
} from '../wire/tcp-types.js';
export { TCP_STATES, type TcpStateName } from '../wire/trace.js';
