/**
 * SACK compression, as Linux's receiver does it (__tcp_ack_snd_check, net.ipv4.tcp_comp_sack_nr): while data is
 * held out of order, every arriving segment would draw a duplicate ACK at once (RFC 5681 §4.2). The first three
 * at one RCV.NXT do: three are what the sender's fast retransmit needs, and a RACK sender learns of the loss from
 * the first. The rest are held, up to TcpConfig.sackCompress of them, for SRTT/20 (at most sackCompressDelay,
 * 1 ms), and one ACK with the latest SACK blocks answers them all. Behind a loss at 200 Mbit/s a batch of
 * out-of-order segments arrives within microseconds, and without this each draws its own ACK.
 */
import type { TcpConnection } from './connection.js';

/**
 * Out-of-order data (or a hole partly filled) just arrived and wants an immediate ACK: true when SACK
 * compression holds it instead (the compressed-SACK timer is armed; timers.ts sends it), false when it must
 * leave now. Not while a D-SACK waits (it reports a duplicate the sender should hear of at once, as
 * tcp_send_dupack does) or in quick-ACK mode (Linux tcp_in_quickack_mode).
 */
export function holdOutOfOrderAck(c: TcpConnection, now: number): boolean {
  const limit = c.cfg.sackCompress;
  if (limit <= 0 || !c.sackOk || !c.rcv.hasOutOfOrder || c.rcv.dsackRight !== -1) return false;
  if (!c.pingpong && c.quickAcksSent < c.cfg.quickAckSegments) return false;
  if (c.sackCompressed >= limit) return false;
  // The hold is over: an arrival after its deadline sends the held ACK itself. A host's timer may fire well after
  // the deadline (Node's setTimeout counts whole milliseconds, and SRTT/20 on a sub-millisecond path is tens of
  // µs), and waiting for it would hold the sender's SACK information 20-60 times longer than Linux's hrtimer does.
  if (c.sackCompressAt <= now) return false;
  const k = c.coldTcb();
  // A new RCV.NXT (a hole filled) starts a new count of duplicates sent at once.
  if (k.sackCompressRcvNxt !== c.rcvNxt) { k.sackCompressRcvNxt = c.rcvNxt; k.sackDupAcks = 0; }
  if (k.sackDupAcks < 3) { k.sackDupAcks++; return false; }
  k.sackCompressed++;
  if (k.sackCompressAt === Infinity) {
    const srtt = c.rtt.srtt;
    k.sackCompressAt = now + (srtt > 0 ? Math.min(c.cfg.sackCompressDelay, srtt / 20) : c.cfg.sackCompressDelay);
  }
  return true;
}
