/** RFC 9293 §3.10.7.1: SEGMENT ARRIVES in state CLOSED. */
import { RST, type TcpSegment } from '../../wire/tcp-types.js';
import type { TcpConnection } from '../connection.js';
import { rstFor } from '../segment.js';

/** §3.10.7.1: CLOSED. Everything is discarded; anything but a RST is answered with a RST. */
export function inputClosed(c: TcpConnection, seg: TcpSegment, now: number): void {
  c.drop('closed', 'no connection', seg, now);
  if (seg.flags & RST) return;
  c.queueCtrl(rstFor(seg));
}
