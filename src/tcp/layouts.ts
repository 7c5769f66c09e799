/**
 * One object of each kind the engine makes per connection, kept while no connection is alive (issue 14).
 *
 * V8 gives the objects of one shape a layout (a hidden class, "map") and builds optimised code that checks it,
 * but holds a layout only weakly once no object has it: a full GC then collects it and throws away the code built
 * on it. In a process whose last connection had ended (a server gone idle, where V8's memory reducer runs full
 * GCs), one such GC deoptimised ~160 engine functions and the next ~30 000 lifecycles ran at half speed (bench
 * engine.lifecycles.after-idle-gc). So the engine keeps: the connection that last reached TIME-WAIT or CLOSED (its
 * buffers, RTT estimator and the rest, drained by then; connection.ts), and the newest of each small part a
 * connection makes on first use (congestion controller, RACK record, cold part, PRR state in connection.ts; receive
 * autotuning in receive-window.ts). The newest object of a kind has the layout in use; one made at load
 * would not do, as a layout changes when a field first takes a fraction (the RTT estimator's SRTT) and later
 * objects get the new one. Typed `object`: what is kept is never read.
 */
export const kept: { connection: object | null; cc: object | null; rack: object | null; cold: object | null; prr: object | null; tune: object | null } = {
  connection: null, cc: null, rack: null, cold: null, prr: null, tune: null,
};
