import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderLadderSvg, esc } from './ladder-svg.js';
import { handshakeAndClose, lossyHandshake } from './ladder.fixture.js';

interface El { name: string; attrs: Record<string, string>; children: El[]; text: string }

/**
 * A strict little XML well-formedness checker (enough for what the renderer emits): declaration,
 * elements with quoted attributes, balanced tags, character data with only the predefined entities
 * and numeric references, nothing after the root. Throws on the first violation; returns the tree.
 */
function parseXml(src: string): El {
  let i = 0;
  const fail = (why: string): never => { throw new Error(`XML: ${why} at ${i}: ${JSON.stringify(src.slice(i, i + 40))}`); };
  const checkText = (t: string) => {
    if (/<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(t)) fail(`bad character data ${JSON.stringify(t)}`);
  };
  const unescape = (t: string) => t.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
  if (src.startsWith('<?xml')) { i = src.indexOf('?>') + 2; if (i < 2) fail('unterminated declaration'); }
  const skipWs = () => { while (i < src.length && /\s/.test(src[i]!)) i++; };
  const element = (): El => {
    if (src[i] !== '<') fail('expected <');
    i++;
    const name = /^[A-Za-z_][\w.-]*/.exec(src.slice(i))?.[0] ?? fail('bad element name');
    i += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      skipWs();
      if (src.startsWith('/>', i)) { i += 2; return { name, attrs, children: [], text: '' }; }
      if (src[i] === '>') { i++; break; }
      const m = /^([A-Za-z_][\w:.-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(src.slice(i)) ?? fail('bad attribute');
      if (m[1]! in attrs) fail(`duplicate attribute ${m[1]}`);
      const v = m[3] ?? m[4]!;
      checkText(v);
      attrs[m[1]!] = unescape(v);
      i += m[0].length;
    }
    const children: El[] = [];
    let text = '';
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) fail(`unclosed <${name}>`);
      const t = src.slice(i, lt);
      checkText(t);
      text += unescape(t);
      i = lt;
      if (src.startsWith('</', i)) {
        const close = `</${name}>`;
        if (!src.startsWith(close, i)) fail(`expected ${close}`);
        i += close.length;
        return { name, attrs, children, text };
      }
      children.push(element());
    }
  };
  skipWs();
  const root = element();
  skipWs();
  if (i !== src.length) fail('content after the root element');
  return root;
}

function all(el: El, pred: (e: El) => boolean, out: El[] = []): El[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) all(c, pred, out);
  return out;
}

test('the checker itself rejects malformed XML', () => {
  assert.throws(() => parseXml('<svg><g></svg>'));
  assert.throws(() => parseXml('<svg a=1/>'));
  assert.throws(() => parseXml('<svg>a & b</svg>'));
  assert.throws(() => parseXml('<svg/><svg/>'));
  assert.equal(parseXml('<svg a="&lt;x&gt;"><t>1 &amp; 2</t></svg>').children[0]!.text, '1 & 2');
});

test('SVG is well-formed XML with one segment line per segment, in order, with labels', () => {
  const trace = handshakeAndClose();
  const svg = renderLadderSvg(trace);
  const root = parseXml(svg);
  assert.equal(root.name, 'svg');
  assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
  const segs = all(root, (e) => (e.name === 'line' || e.name === 'path') && (e.attrs.class ?? '').split(' ').includes('seg'));
  assert.equal(segs.length, trace.entries.length);
  // Direction: a→b lines go right, b→a lines go left; all slope downwards (time runs down).
  segs.forEach((s, k) => {
    const dx = Number(s.attrs.x2) - Number(s.attrs.x1);
    assert.equal(dx > 0, trace.entries[k]!.from === 'a', `segment ${k} direction`);
    assert.ok(Number(s.attrs.y2) > Number(s.attrs.y1));
  });
  // Successive segments are drawn lower and lower.
  for (let k = 1; k < segs.length; k++) assert.ok(Number(segs[k]!.attrs.y1) > Number(segs[k - 1]!.attrs.y1));
  const labels = all(root, (e) => e.name === 'text' && e.attrs.class === 'label').map((e) => e.text);
  assert.deepEqual(labels, [
    'SYN seq=0 len=0 win=64240', 'SYN+ACK seq=0 ack=1 len=0 win=65535', 'ACK seq=1 ack=1 len=0 win=64240',
    'PSH+ACK seq=1 ack=1 len=100 win=64240', 'ACK seq=1 ack=101 len=0 win=65535', 'FIN+ACK seq=101 ack=1 len=0 win=64240',
    'ACK seq=1 ack=102 len=0 win=65535', 'FIN+ACK seq=1 ack=102 len=0 win=65535', 'ACK seq=102 ack=2 len=0 win=64240',
  ]);
  // States beside each timeline, in order.
  const states = (side: string) => all(root, (e) => e.name === 'text' && e.attrs.class === `state state-${side}`).map((e) => e.text);
  assert.deepEqual(states('a'), ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED']);
  assert.deepEqual(states('b'), ['CLOSED', 'LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  assert.equal(all(root, (e) => e.attrs.class === 'timeline').length, 2);
});

test('lost segments stop short of the receiver and carry a cross; absolute numbers in the tooltip', () => {
  const root = parseXml(renderLadderSvg(lossyHandshake()));
  const segs = all(root, (e) => e.name === 'line' && (e.attrs.class ?? '').split(' ').includes('seg'));
  assert.equal(segs.length, 5);
  const timelines = all(root, (e) => e.attrs.class === 'timeline').map((e) => Number(e.attrs.x1));
  const [xA, xB] = timelines as [number, number];
  const lost = segs.filter((s) => s.attrs.class!.includes('lost'));
  assert.equal(lost.length, 2);
  const [synLost, rstLost] = lost as [El, El];
  assert.equal(Number(synLost.attrs.x1), xA);
  assert.ok(Number(synLost.attrs.x2) < xB - 50, 'a→b lost arrow ends well before b');
  assert.equal(Number(rstLost.attrs.x1), xB);
  assert.ok(Number(rstLost.attrs.x2) > xA + 50, 'b→a lost arrow ends well before a');
  assert.equal(synLost.attrs['marker-end'], undefined, 'no arrowhead on a lost segment');
  assert.equal(all(root, (e) => e.attrs.class === 'lost-mark').length, 2);
  // Delivered arrows reach the other timeline.
  for (const s of segs.filter((x) => !x.attrs.class!.includes('lost'))) assert.ok([xA, xB].includes(Number(s.attrs.x2)));
  const tip = synLost.children.find((c) => c.name === 'title')!.text;
  assert.match(tip, /absolute seq=4294967280/);
  assert.match(tip, /lost/);
});

test('text from the trace is XML-escaped', () => {
  const t = handshakeAndClose();
  t.title = 'a <b> & "c" \'d\'';
  t.a.label = '<client & co>';
  t.entries[1]!.note = 'odd <note> & stuff\u0001';
  const svg = renderLadderSvg(t);
  const root = parseXml(svg);
  assert.equal(root.children.find((c) => c.name === 'title')!.text, 'a <b> & "c" \'d\'');
  assert.ok(all(root, (e) => e.name === 'text' && e.text === '<client & co>').length === 1);
  assert.ok(all(root, (e) => e.name === 'text' && e.text.includes('[odd <note> & stuff\ufffd]')).length === 1);
  assert.equal(esc('<&>"\''), '&lt;&amp;&gt;&quot;&apos;');
});

test('showTime: false drops the time labels', () => {
  const withTime = parseXml(renderLadderSvg(handshakeAndClose()));
  const without = parseXml(renderLadderSvg(handshakeAndClose(), { showTime: false }));
  const times = (r: El) => all(r, (e) => e.attrs.class === 'time').map((e) => e.text);
  assert.deepEqual(times(withTime), ['0 ms', '0 ms', '0 ms', '1 ms', '2 ms', '3 ms', '4 ms', '10 ms', '10 ms', '11 ms', '20 ms', '20 ms', '21 ms', '60021 ms']);
  assert.equal(times(without).length, 0);
});
