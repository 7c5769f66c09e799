/**
 * Drives a Wire from the real clock: one timer, always armed for the wire's earliest deadline and
 * rearmed when a send makes that earlier. Virtual-time users skip this and call advance() themselves.
 */
import type { Wire } from './wire.js';

/** A real-time driver of a Wire (driveInRealTime). */
export interface WireDriver {
  /** Stops the timer and releases the wire's onWake hook. Packets still in flight stay in the wire. */
  stop(): void;
}

/**
 * `now` must be the same clock the endpoints pass to wire.send() (default performance.now(), ms).
 */
export function driveInRealTime(wire: Wire, opts: { now?: () => number } = {}): WireDriver {
  const now = opts.now ?? (() => performance.now());
  if (wire.onWake !== undefined) throw new Error('driveInRealTime: this wire already has a driver (onWake is set)');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let armedFor = Infinity;
  let stopped = false;

  const arm = (deadline: number): void => {
    if (stopped || deadline >= armedFor) return;
    if (timer !== undefined) clearTimeout(timer);
    armedFor = deadline;
    timer = deadline === Infinity ? undefined : setTimeout(fire, Math.max(0, deadline - now()));
  };
  const fire = (): void => {
    timer = undefined;
    armedFor = Infinity;
    wire.advance(now());
    arm(wire.nextDeadline());
  };

  wire.onWake = arm;
  arm(wire.nextDeadline());
  return {
    stop(): void {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (wire.onWake === arm) wire.onWake = undefined;
    },
  };
}
