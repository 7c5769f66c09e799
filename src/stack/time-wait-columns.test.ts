/**
 * The typed-array TIME-WAIT table (time-wait-table.ts) against a plain Map model: random adds, removals,
 * restarts and expiries, across growth and removals that shift later entries back, IPv4 and IPv6; entries expire in time order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeWaitTable } from './time-wait-table.js';
import { tupleKey } from './stack.js';
import { Prng } from '../link/prng.js';

test('TIME-WAIT table: every entry is found with its fields until it expires or is removed, in time order', () => {
  const locals = [new Uint8Array([10, 0, 0, 1]), new Uint8Array(16).fill(0xfd)];
  const t = new TimeWaitTable(locals, 8);
  const prng = new Prng(3);
  type E = { la: Uint8Array; lp: number; ra: Uint8Array; rp: number; snd: number; rcv: number; exp: number; id: number };
  const model = new Map<string, E>();
  const name = (e: { lp: number; ra: Uint8Array; rp: number; la: Uint8Array }) => `${e.la.length}|${e.lp}|${[...e.ra].join('.')}|${e.rp}`;
  let now = 0;
  let id = 1;
  const expired: number[] = [];
  for (let step = 0; step < 20_000; step++) {
    now += prng.nextU32() % 3;
    const r = prng.nextU32() % 10;
    if (r < 6) {
      const v6 = prng.nextU32() % 4 === 0;
      const la = locals[v6 ? 1 : 0]!;
      const ra = v6 ? new Uint8Array(16).map(() => prng.nextU32() & 3) : new Uint8Array([192, 168, prng.nextU32() & 3, prng.nextU32() & 7]);
      const e: E = { la, lp: 80, ra, rp: 1024 + (prng.nextU32() % 64), snd: prng.nextU32(), rcv: prng.nextU32(), exp: now + 60, id: id++ };
      if (model.has(name(e))) continue;
      model.set(name(e), e);
      t.add(tupleKey(la, e.lp, ra, e.rp), la, e.lp, ra, e.rp, { sndNxt: e.snd, rcvNxt: e.rcv, tsOk: true, tsRecent: 7, tsOffset: 9, window: 512, expiresAt: e.exp }, e.id);
    } else if (r < 8 && model.size > 0) {
      const e = [...model.values()][prng.nextU32() % model.size]!;
      const slot = t.find(tupleKey(e.la, e.lp, e.ra, e.rp), e.la, e.lp, e.ra, e.rp);
      assert.notEqual(slot, -1);
      if (r === 6) { t.remove(slot); model.delete(name(e)); } else { e.exp = now + 60; t.restart(slot, e.exp); }
    } else {
      t.expire(now, (slot) => {
        expired.push(t.expiresAt(slot));
        const key = `${t.localAddr(slot).length}|${t.localPort(slot)}|${[...t.remoteAddr(slot)].join('.')}|${t.remotePort(slot)}`;
        const e = model.get(key);
        assert.ok(e !== undefined, 'only live entries expire');
        assert.equal(e.exp, t.expiresAt(slot));
        assert.ok(e.exp <= now);
        model.delete(key);
      });
    }
    assert.equal(t.size, model.size);
  }
  for (let i = 1; i < expired.length; i++) assert.ok(expired[i - 1]! <= expired[i]!, 'expiries in time order');
  assert.ok(expired.length > 1000);
  for (const e of model.values()) {
    const slot = t.find(tupleKey(e.la, e.lp, e.ra, e.rp), e.la, e.lp, e.ra, e.rp);
    assert.notEqual(slot, -1);
    assert.equal(t.sndNxt(slot), e.snd >>> 0);
    assert.equal(t.rcvNxt(slot), e.rcv >>> 0);
    assert.equal(t.connId(slot), e.id);
    assert.deepEqual([...t.remoteAddr(slot)], [...e.ra]);
    assert.ok(e.exp > now || t.nextExpiry() <= e.exp);
  }
});
