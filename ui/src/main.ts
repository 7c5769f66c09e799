/**
 * The page: a scenario lab (seed scenarios or one built in the form, run by the worker on two synack
 * stacks in virtual time), a viewer (ladder + RFC 9293 state machines + packet detail, stepped by a
 * cursor) and a capture view (drop or pass files to `synack ui`; the worker runs the analyzer).
 */
import './styles.css';
import { renderLadderSvg } from '../../src/view/ladder-svg.js';
import { formatTime, timeDecimals } from '../../src/view/ladder-model.js';
import type { ConnectionReport, SummaryReport, AnomalyReport } from '../../src/analyze/report.js';
import type { Trace } from '../../src/wire/trace.js';
import { BROWSER_SCENARIOS, DEFAULT_SPEC, INVALID_COMBOS, type LabRun, type LabSpec } from './lab-run.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { buildTimeline, moveCursor, stateAt, statePath, type Timeline } from './timeline.js';
import { layoutLadder, renderLadderGeometry } from './ladder-layout.js';
import { renderStateDiagram } from './state-diagram.js';
import { ruleFor, segmentFields } from './segment-detail.js';
import { COLUMNS, queryRows, summaryItems, type TableQuery } from './capture-table.js';
import { download, scenarioPcapng } from './export.js';
import { SAMPLE_SCRIPT } from './drill-run.js';
import { escXml } from './ladder-layout.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
};

// ---------------------------------------------------------------------------------------------------
// Worker plumbing
// ---------------------------------------------------------------------------------------------------

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
let nextId = 1;
const handlers = new Map<number, (m: FromWorker) => void>();
worker.onmessage = (ev: MessageEvent<FromWorker>) => handlers.get(ev.data.id)?.(ev.data);
worker.onerror = (ev) => showLabError(`the page's worker failed: ${ev.message}`);
function send(msg: ToWorker, on: (m: FromWorker) => void): number {
  handlers.set(msg.id, on);
  worker.postMessage(msg);
  return msg.id;
}

// ---------------------------------------------------------------------------------------------------
// Viewer state: one trace at a time, from the lab or from a capture
// ---------------------------------------------------------------------------------------------------

interface Viewing {
  trace: Trace;
  raw: Array<Uint8Array | null>;
  run: LabRun | null;
  /** What the banner says when this came from a capture. */
  source: string | null;
  timeline: Timeline;
  cursor: number;
  selected: number | null;
}

const MAX_LADDER_ROWS = 4000;
const PAUSE_ICON = '<svg class="icon" width="10" height="11" viewBox="0 0 10 11" aria-hidden="true"><rect x="1" y="1" width="3" height="9" fill="currentColor"/><rect x="6" y="1" width="3" height="9" fill="currentColor"/></svg>';
const PLAY_ICON = '<svg class="icon" width="10" height="11" viewBox="0 0 10 11" aria-hidden="true"><path d="M1,1L9,5.5L1,10z" fill="currentColor"/></svg>';
let view: Viewing | null = null;
/** The last lab run and the last connection opened from a capture: each tab keeps its own. */
let labView: Viewing | null = null;
let connView: Viewing | null = null;
let playing: ReturnType<typeof setInterval> | null = null;
let rowEls: SVGGElement[] = [];
let bandEls: SVGRectElement[] = [];

function absolute(): boolean { return ($('opt-absolute') as HTMLInputElement).checked; }

function show(trace: Trace, raw: Array<Uint8Array | null>, run: LabRun | null, source: string | null): void {
  stop();
  const timeline = buildTimeline(trace, { absolute: absolute(), receiverOnly: receiverOnlyFor(run) });
  view = { trace, raw, run, source, timeline, cursor: timeline.steps.length - 1, selected: null };
  if (source) connView = view; else labView = view;
  if (source) {
    // A captured connection is not a lab run: it gets its own tab, without the lab's form beside it.
    $('tab-conn').hidden = false;
    selectTab('conn', false);
  }
  applyView();
}

/** Puts `view` on the screen: toolbar buttons, banner, state machine titles, ladder. */
function applyView(): void {
  if (!view) { $('ladder-wrap').innerHTML = '<p class="placeholder">Pick a scenario and press <b>Run</b>: two synack stacks run it in virtual time in this page.</p>'; return; }
  const { trace, run, source } = view;
  ($('btn-svg') as HTMLButtonElement).disabled = false;
  ($('btn-pcapng') as HTMLButtonElement).disabled = run === null;
  const banner = $('source-banner');
  if (source) {
    banner.hidden = false;
    banner.innerHTML = `${escXml(source)} <button id="back-to-capture">back to the capture</button>`;
    $('back-to-capture').onclick = () => selectTab('capture');
  } else banner.hidden = true;
  $('sm-a-title').textContent = trace.a.label;
  $('sm-b-title').textContent = trace.b.label;
  $('detail').hidden = view.selected === null;
  drawLadder();
  update(true);
}

function drawLadder(): void {
  if (!view) return;
  const wrap = $('ladder-wrap');
  const g = layoutLadder(view.timeline.model, { width: wrap.clientWidth - 4, maxRows: MAX_LADDER_ROWS });
  // Initial states the trace does not state but the opening implies (a capture: CLOSED client, LISTEN server).
  g.initialA ??= view.timeline.initial.a;
  g.initialB ??= view.timeline.initial.b;
  const hp = (ep: Trace['a']) => [ep.label, `${ep.addr.includes(':') ? `[${ep.addr}]` : ep.addr}:${ep.port}`] as [string, string];
  let html = renderLadderGeometry(g, { a: hp(view.trace.a), b: hp(view.trace.b) });
  if (view.timeline.model.rows.length > MAX_LADDER_ROWS) html += `<p class="more">Showing the first ${MAX_LADDER_ROWS} of ${view.timeline.model.rows.length} rows.</p>`;
  if (view.timeline.model.rows.length === 0) html = '<p class="placeholder">No segments in this trace.</p>';
  wrap.innerHTML = html;
  rowEls = Array.from(wrap.querySelectorAll<SVGGElement>('g.row'));
  bandEls = Array.from(wrap.querySelectorAll<SVGRectElement>('rect.band'));
  wrap.querySelector('svg')?.addEventListener('click', (ev) => {
    const hit = (ev.target as Element).closest('[data-row]');
    if (!hit || !view) return;
    const i = Number(hit.getAttribute('data-row'));
    stop();
    view.cursor = i;
    view.selected = rowEls[i]?.classList.contains('seg') ? i : null;
    update();
  });
}

/** Redraws the cursor's row, states and detail; `scroll` brings the current row into view (Run, End, ▶|, stepping). */
function update(scroll = false): void {
  if (!view) return;
  const { timeline, cursor } = view;
  if (scroll) {
    const wrap = $('ladder-wrap');
    const row = cursor >= 0 ? bandEls[cursor] : undefined;
    if (!row) wrap.scrollTop = 0;
    else {
      // By geometry, not scrollIntoView: that would also scroll the page and every ancestor.
      const r = row.getBoundingClientRect(), w = wrap.getBoundingClientRect();
      if (r.top < w.top) wrap.scrollTop += r.top - w.top - 8;
      else if (r.bottom > w.bottom) wrap.scrollTop += r.bottom - w.bottom + 8;
    }
  }
  const total = timeline.steps.length;
  rowEls.forEach((el, i) => {
    el.classList.toggle('future', i > cursor);
    el.classList.toggle('current', i === cursor);
    el.classList.toggle('selected', i === view!.selected);
  });
  bandEls.forEach((el, i) => {
    el.classList.toggle('current', i === cursor);
    el.classList.toggle('selected', i === view!.selected);
  });
  const st = stateAt(timeline, cursor);
  const row = cursor >= 0 ? timeline.model.rows[cursor] : undefined;
  $('step-label').textContent = `step ${cursor + 1} / ${total}${row ? ` · ${formatTime(row.time, timeDecimals(timeline.model.rows))} ms` : ''}`;
  const openedBefore = (side: 'a' | 'b'): boolean => {
    const init = side === 'a' ? timeline.initial.a : timeline.initial.b;
    if (init !== undefined && init !== 'CLOSED') return true;
    for (let i = 0; i <= cursor && i < total; i++) {
      const s = side === 'a' ? timeline.steps[i]!.a : timeline.steps[i]!.b;
      if (s !== undefined && s !== 'CLOSED') return true;
    }
    return false;
  };
  for (const side of ['a', 'b'] as const) {
    const state = side === 'a' ? st.a : st.b;
    const last = side === 'a' ? st.lastA : st.lastB;
    const ep = side === 'a' ? view.trace.a : view.trace.b;
    $(`sm-${side}`).innerHTML = renderStateDiagram({ state, hasBeenOpen: openedBefore(side), last, title: ep.label });
    $(`sm-${side}-title`).innerHTML = `${escXml(ep.label)}: <b class="current-state" data-side="${side}">${escXml(state ?? 'unknown')}</b>`;
  }
  // Drawn, not a character: U+23F8 (pause) is missing from common fonts and showed as an empty box.
  ($('btn-play') as HTMLButtonElement).innerHTML = playing ? `${PAUSE_ICON} Pause` : `${PLAY_ICON} Play`;
  renderDetail();
}

function renderDetail(): void {
  const pane = $('detail');
  if (!view || view.selected === null) { pane.hidden = true; return; }
  const row = view.timeline.model.rows[view.selected];
  if (!row || row.kind !== 'segment') { pane.hidden = true; return; }
  const e = row.entry;
  const idx = view.timeline.trace.entries.indexOf(e);
  const raw = idx >= 0 ? view.raw[idx] ?? null : null;
  const receiver = e.from === 'a' ? 'b' : 'a';
  const before = stateAt(view.timeline, view.selected - 1);
  const after = stateAt(view.timeline, view.selected);
  const rule = ruleFor(e.seg, receiver === 'a' ? before.a : before.b, receiver === 'a' ? after.a : after.b, { lost: e.lost, note: e.note });
  const recvLabel = (receiver === 'a' ? view.trace.a : view.trace.b).label;
  pane.hidden = false;
  $('detail-title').textContent = `${row.label}  (${(e.from === 'a' ? view.trace.a : view.trace.b).label} → ${recvLabel})`;
  $('detail-rule').innerHTML = `<div><span class="sec">RFC 9293 §${escXml(rule.section)}</span> — ${escXml(recvLabel)}: ${escXml(rule.title)}</div><ol>${rule.steps.map((s) => `<li>${escXml(s)}</li>`).join('')}</ol>`;
  $('detail-fields').innerHTML = segmentFields(view.trace, e, raw, { absolute: absolute() })
    .map((s) => `<section><h3>${escXml(s.title)}</h3><table>${s.fields.map(([k, v]) => `<tr><td>${escXml(k)}</td><td>${escXml(v)}</td></tr>`).join('')}</table></section>`).join('');
}

function step(delta: number): void {
  if (!view) return;
  view.cursor = moveCursor(view.timeline, view.cursor, delta);
  update(true);
}

function stop(): void {
  if (playing) { clearInterval(playing); playing = null; }
}

function togglePlay(): void {
  if (!view) return;
  if (playing) { stop(); update(); return; }
  if (view.cursor >= view.timeline.steps.length - 1) view.cursor = -1;
  const speed = Number(($('speed') as HTMLSelectElement).value) || 2;
  playing = setInterval(() => {
    if (!view || view.cursor >= view.timeline.steps.length - 1) { stop(); update(); return; }
    view.cursor++;
    if (view.cursor >= view.timeline.steps.length - 1) stop(); // the last row: stop at once, not a tick later
    update(true);
  }, 1000 / speed);
  update();
}

// ---------------------------------------------------------------------------------------------------
// Scenario lab
// ---------------------------------------------------------------------------------------------------

const CUSTOM = 'custom';
const DRILL = 'drill';
let drillFile = 'script.pkt';

/** Runs from the engine record every sender-side change as its own row (timeline.ts); a packetdrill run's trace is built with both sides' states on its segments. */
function receiverOnlyFor(run: LabRun | null): boolean { return run !== null && run.name !== DRILL; }

function setupLab(): void {
  const sel = $('scenario-select') as HTMLSelectElement;
  const lifecycles = document.createElement('optgroup');
  lifecycles.label = 'Lifecycles';
  const why = document.createElement('optgroup');
  why.label = 'Why? (the answers, happening)';
  for (const s of BROWSER_SCENARIOS) (s.why ? why : lifecycles).appendChild(new Option(s.title, s.name));
  sel.appendChild(lifecycles);
  sel.appendChild(why);
  sel.add(new Option('Build your own…', CUSTOM));
  sel.add(new Option('packetdrill script…', DRILL));
  ($('drill-text') as HTMLTextAreaElement).value = SAMPLE_SCRIPT;
  ($('drill-file') as HTMLInputElement).addEventListener('change', async (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    drillFile = f.name;
    ($('drill-text') as HTMLTextAreaElement).value = await f.text();
    (e.target as HTMLInputElement).value = '';
  });
  sel.value = 'four-way-close';
  const inv = $('b-invalid');
  for (const c of INVALID_COMBOS) {
    const l = document.createElement('label');
    l.innerHTML = `<input type="checkbox" value="${c.key}"> ${escXml(c.label)}`;
    inv.appendChild(l);
  }
  const onPick = () => {
    const custom = sel.value === CUSTOM;
    const drill = sel.value === DRILL;
    $('builder').hidden = !custom;
    $('drill-box').hidden = !drill;
    document.querySelectorAll<HTMLElement>('.seed-only').forEach((el) => { el.style.display = custom || drill ? 'none' : ''; });
    document.querySelectorAll<HTMLElement>('.toggles, .row-fields:first-of-type').forEach((el) => { el.style.display = drill ? 'none' : ''; });
    $('scenario-desc').textContent = custom
      ? 'Choose who closes and when, impair each direction, flood the listener or inject invalid segments.'
      : drill ? 'Paste or open a packetdrill script: it runs against a synack stack in virtual time in this page (no root, no Linux box). The script plays the peer.'
        : BROWSER_SCENARIOS.find((s) => s.name === sel.value)?.description ?? '';
  };
  sel.addEventListener('change', onPick);
  onPick();
  $('lab-form').addEventListener('submit', (ev) => { ev.preventDefault(); runLab(); });
}

function num(id: string): number { return Number(($(id) as HTMLInputElement).value); }

function readSpec(): LabSpec {
  const invalid = Array.from(document.querySelectorAll<HTMLInputElement>('#b-invalid input:checked')).map((i) => i.value);
  return {
    ...DEFAULT_SPEC,
    seed: num('opt-seed'),
    timestamps: ($('opt-ts') as HTMLInputElement).checked,
    sack: ($('opt-sack') as HTMLInputElement).checked,
    windowScaling: ($('opt-ws') as HTMLInputElement).checked,
    rfc793: ($('opt-793') as HTMLInputElement).checked,
    closer: ($('b-closer') as HTMLSelectElement).value as LabSpec['closer'],
    closeAtMs: num('b-close-at'),
    peerCloseDelayMs: num('b-peer-delay'),
    clientBytes: num('b-cbytes'),
    serverBytes: num('b-sbytes'),
    c2s: { loss: num('b-c2s-loss'), delayMs: num('b-c2s-delay'), reorder: num('b-c2s-reorder') },
    s2c: { loss: num('b-s2c-loss'), delayMs: num('b-s2c-delay'), reorder: num('b-s2c-reorder') },
    backlog: num('b-backlog'),
    synFlood: num('b-flood'),
    invalid,
  };
}

function showLabError(msg: string | null): void {
  const el = $('lab-error');
  el.hidden = msg === null;
  el.textContent = msg ?? '';
}

function runLab(): void {
  const name = ($('scenario-select') as HTMLSelectElement).value;
  const btn = $('run-btn') as HTMLButtonElement;
  showLabError(null);
  btn.disabled = true;
  btn.textContent = 'Running…';
  const t0 = performance.now();
  const done = (m: FromWorker) => {
    btn.disabled = false;
    btn.textContent = 'Run';
    if (m.type === 'error') { showLabError(m.message); return; }
    if (m.type !== 'run') return;
    const r = m.run;
    selectTab('lab', false);
    show(r.trace, r.raw, r, null);
    const t = view!.timeline;
    const verdict = r.drill ? `<p class="verdict ${r.drill.result}" id="drill-verdict">${escXml(r.notes[0] ?? '')}</p>` : '';
    $('notes').innerHTML = `<b>${escXml(r.title)}</b><p class="desc">${escXml(r.description)}</p>${verdict}<ul>${(r.drill ? r.notes.slice(1) : r.notes).map((n) => `<li>${escXml(n)}</li>`).join('')}</ul>`
      + `<div class="path">client: ${escXml(statePath(t, 'a').join(' → '))}</div><div class="path">server: ${escXml(statePath(t, 'b').join(' → '))}</div>`
      + `<p class="desc">${r.trace.entries.length} segments, ${(r.duration / 1000).toFixed(3)} s of virtual time, run in ${Math.round(performance.now() - t0)} ms.</p>`
      + (r.aside ? `<div class="aside" id="aside"><b>${escXml(r.aside.title)}</b>${renderLadderSvg(r.aside.trace, { showTime: false })}</div>` : '');
    if (r.drill) document.body.dataset.drill = r.drill.result;
    document.body.dataset.ran = r.name;
  };
  if (name === DRILL) {
    const personality = ($('drill-personality') as HTMLSelectElement).value as 'synack' | 'linux' | 'freebsd';
    send({ type: 'drill', id: nextId++, text: ($('drill-text') as HTMLTextAreaElement).value, file: drillFile, personality }, done);
  } else if (name === CUSTOM) {
    send({ type: 'custom', id: nextId++, spec: readSpec() }, done);
  } else {
    const lossText = ($('opt-loss') as HTMLInputElement).value;
    send({
      type: 'seed', id: nextId++, name, opts: {
        seed: num('opt-seed'), loss: lossText === '' ? undefined : Number(lossText), delayMs: num('opt-delay'),
        timestamps: ($('opt-ts') as HTMLInputElement).checked, sack: ($('opt-sack') as HTMLInputElement).checked, windowScaling: ($('opt-ws') as HTMLInputElement).checked,
        rfc793: ($('opt-793') as HTMLInputElement).checked,
      },
    }, done);
  }
}

// ---------------------------------------------------------------------------------------------------
// Capture view
// ---------------------------------------------------------------------------------------------------

let capRows: ConnectionReport[] = [];
let capName = '';
const query: TableQuery = { sortKey: 'first_frame', descending: false, filter: '' };
const MAX_TABLE_ROWS = 2000;
let tableTimer: ReturnType<typeof setTimeout> | null = null;

function setupCapture(): void {
  const dz = $('dropzone');
  const stopEv = (e: Event) => { e.preventDefault(); e.stopPropagation(); };
  // The whole page takes drops: a capture dropped anywhere opens the capture view.
  document.addEventListener('dragover', (e) => { stopEv(e); dz.classList.add('over'); });
  document.addEventListener('dragleave', (e) => { if (e.target === document.documentElement || e.target === dz) dz.classList.remove('over'); });
  document.addEventListener('drop', (e) => {
    stopEv(e);
    dz.classList.remove('over');
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length) analyzeFiles(files.map((f) => ({ name: f.name, blob: f, size: f.size })));
  });
  ($('file-input') as HTMLInputElement).addEventListener('change', (e) => {
    const files = Array.from((e.target as HTMLInputElement).files ?? []);
    if (files.length) analyzeFiles(files.map((f) => ({ name: f.name, blob: f, size: f.size })));
    (e.target as HTMLInputElement).value = '';
  });
  const thead = ($('conn-table') as HTMLTableElement).tHead!;
  thead.innerHTML = `<tr>${COLUMNS.map((c) => `<th data-key="${c.key}">${escXml(c.title)}</th>`).join('')}</tr>`;
  thead.addEventListener('click', (e) => {
    const th = (e.target as HTMLElement).closest('th');
    if (!th) return;
    const key = th.dataset.key!;
    if (query.sortKey === key) query.descending = !query.descending; else { query.sortKey = key; query.descending = COLUMNS.find((c) => c.key === key)?.numeric === true && key !== 'first_frame'; }
    renderTable();
  });
  ($('cap-filter') as HTMLInputElement).addEventListener('input', (e) => { query.filter = (e.target as HTMLInputElement).value; renderTable(); });
  ($('conn-table') as HTMLTableElement).tBodies[0]!.addEventListener('click', (e) => {
    const tr = (e.target as HTMLElement).closest('tr');
    if (tr?.dataset.uid) openConnection(tr.dataset.uid);
  });
  $('summary').addEventListener('click', (e) => {
    const chip = (e.target as HTMLElement).closest<HTMLElement>('.chip');
    if (!chip || !chip.dataset.filter) return;
    const f = $('cap-filter') as HTMLInputElement;
    f.value = chip.dataset.filter;
    query.filter = f.value;
    renderTable();
  });
}

type FileArg = { name: string; blob?: Blob; url?: string; size?: number };

function analyzeFiles(files: FileArg[]): void {
  selectTab('capture');
  capRows = [];
  capName = files.map((f) => f.name).join(', ');
  $('summary').innerHTML = '';
  const err = $('cap-error');
  err.hidden = true;
  const wrap = $('cap-progress-wrap');
  wrap.hidden = false;
  const bar = $('cap-progress') as HTMLProgressElement;
  bar.value = 0;
  $('cap-progress-text').textContent = `reading ${capName}…`;
  document.body.dataset.analyzed = '';
  renderTable();
  const t0 = performance.now();
  send({ type: 'analyze', id: nextId++, files }, (m) => {
    if (m.type === 'progress') {
      const p = m.progress;
      bar.value = p.total ? p.bytes / p.total : 0;
      $('cap-progress-text').textContent = `${p.file}: ${(p.bytes / 1048576).toFixed(1)} / ${(p.total / 1048576).toFixed(1)} MiB · ${p.packets.toLocaleString()} packets · ${p.connections.toLocaleString()} connections`;
    } else if (m.type === 'connections') {
      for (const r of m.rows) capRows.push(r);
      if (!tableTimer) tableTimer = setTimeout(() => { tableTimer = null; renderTable(); }, 150);
    } else if (m.type === 'analyzed') {
      // A refused file read nothing: no bar claiming it was read through.
      if (m.error && m.summary.packets === 0) wrap.hidden = true; else bar.value = m.error ? bar.value : 1;
      $('cap-progress-text').textContent = `${capName}: ${m.summary.packets.toLocaleString()} packets, ${m.summary.connections.toLocaleString()} connections, analyzed in ${((performance.now() - t0) / 1000).toFixed(2)} s`;
      if (m.error) { err.hidden = false; err.textContent = `${m.error}`; }
      else if (m.malformed.length) { err.hidden = false; err.textContent = `${m.summary.malformed_packets} malformed packet(s) skipped (first: frame ${m.malformed[0]!.frame}: ${m.malformed[0]!.message})`; }
      renderSummary(m.summary, m.anomalies);
      // The last batch's deferred render would replace the rows again 150 ms later, under a click already aimed at
      // one (seen as a detached row in the Firefox page test on a loaded machine): render once, now.
      if (tableTimer) { clearTimeout(tableTimer); tableTimer = null; }
      renderTable();
      document.body.dataset.analyzed = m.error ? 'error' : 'ok';
      document.body.dataset.analyzeMs = String(Math.round(m.ms));
    } else if (m.type === 'error') {
      wrap.hidden = true;
      err.hidden = false;
      err.textContent = m.message;
      document.body.dataset.analyzed = 'error';
    }
  });
}

function renderSummary(s: SummaryReport, anomalies: AnomalyReport[]): void {
  const items = summaryItems(s);
  $('summary').innerHTML = items.map((it) => {
    const filter = it.kind === 'close' ? `close == ${it.label}` : it.kind === 'anomaly' && it.label !== 'malformed packets' ? 'anomalous' : '';
    return `<span class="chip ${it.kind}" data-kind="${it.kind}" data-label="${escXml(it.label)}"${filter ? ` data-filter="${escXml(filter)}" title="filter: ${escXml(filter)}"` : ''}>${escXml(it.label)} <b>${it.value.toLocaleString()}</b></span>`;
  }).join('') + (anomalies.length ? `<span class="chip anomaly" title="${escXml(anomalies.map((a) => `${a.kind}: ${a.count}`).join('\n'))}">cross-connection anomalies <b>${anomalies.length}</b></span>` : '');
}

function renderTable(): void {
  const { rows, error } = queryRows(capRows, query);
  $('cap-filter-error').textContent = error ?? '';
  const tbody = ($('conn-table') as HTMLTableElement).tBodies[0]!;
  const shown = rows.slice(0, MAX_TABLE_ROWS);
  tbody.innerHTML = shown.map((r) => `<tr data-uid="${r.uid}" data-close="${r.close}">${COLUMNS.map((c) => `<td class="${c.key}${c.numeric ? ' num' : ''}">${escXml(c.text(r))}</td>`).join('')}</tr>`).join('')
    + (rows.length > MAX_TABLE_ROWS ? `<tr><td class="more" colspan="${COLUMNS.length}">${(rows.length - MAX_TABLE_ROWS).toLocaleString()} more — filter or sort to see them</td></tr>` : '');
  $('cap-count').textContent = capRows.length ? `${rows.length.toLocaleString()} of ${capRows.length.toLocaleString()} connections` : '';
  document.querySelectorAll('#conn-table th').forEach((th) => {
    const h = th as HTMLElement;
    h.classList.toggle('sorted', h.dataset.key === query.sortKey);
    h.classList.toggle('desc', h.dataset.key === query.sortKey && query.descending);
  });
}

function openConnection(uid: string): void {
  const rep = capRows.find((r) => r.uid === uid);
  send({ type: 'trace', id: nextId++, uid }, (m) => {
    if (m.type !== 'trace') return;
    if (!m.trace) { const err = $('cap-error'); err.hidden = false; err.textContent = `connection ${uid}: its packets were not kept (capture too large to keep every ladder)`; return; }
    const source = `Connection ${uid} from ${capName}${rep ? `: ${rep.handshake} handshake, ${rep.close} close, ${rep.conn_state} ${rep.history}` : ''}`;
    show(m.trace, m.raw, null, source);
    const offloaded = m.trace.entries.filter((e) => e.note?.includes('checksum offloaded')).length;
    $('conn-info').innerHTML = `<b>${escXml(source)}</b>`
      + (offloaded ? `<p class="desc">${offloaded} packet(s) marked <i>checksum offloaded</i>: captured on the sending host before the NIC or kernel filled in the TCP checksum (only the pseudo-header sum is there). Not corruption; Wireshark does not check TCP checksums by default for this reason.</p>` : '')
      + '<p><button id="conn-back">back to the capture</button></p>';
    $('conn-back').onclick = () => selectTab('capture');
  });
}

async function loadServerFiles(): Promise<void> {
  let list: { files: Array<{ name: string; size: number; url: string }> };
  try {
    const res = await fetch('api/files');
    if (!res.ok) return; // served as a static site: no files to offer
    list = await res.json();
  } catch { return; }
  if (!Array.isArray(list.files) || list.files.length === 0) return;
  $('server-files').textContent = `Files given to synack ui: ${list.files.map((f) => f.name).join(', ')}`;
  // Absolute URLs: the worker resolves relative ones against its own script's location.
  analyzeFiles(list.files.map((f) => ({ name: f.name, url: new URL(f.url, location.href).href, size: f.size })));
}

// ---------------------------------------------------------------------------------------------------
// Tabs, toolbar, keyboard
// ---------------------------------------------------------------------------------------------------

type Tab = 'lab' | 'conn' | 'capture';

/** Switches tabs; the lab and the connection tab share the viewer, each with its own trace and sidebar. */
function selectTab(tab: Tab, redraw = true): void {
  for (const t of ['lab', 'conn', 'capture'] as const) {
    $(`tab-${t}`).classList.toggle('active', t === tab);
    $(`tab-${t}`).setAttribute('aria-selected', String(t === tab));
  }
  $('panel-lab').classList.toggle('active', tab !== 'capture');
  $('panel-capture').classList.toggle('active', tab === 'capture');
  $('lab-form').hidden = tab !== 'lab';
  $('notes').hidden = tab !== 'lab';
  $('conn-info').hidden = tab !== 'conn';
  document.body.dataset.tab = tab;
  if (tab === 'capture') return;
  const next = tab === 'lab' ? labView : connView;
  if (next !== view) { stop(); view = next; if (redraw) requestAnimationFrame(() => applyView()); }
  else if (redraw && view) requestAnimationFrame(() => { drawLadder(); update(); });
}

function setupToolbar(): void {
  document.querySelectorAll<HTMLElement>('.tab').forEach((b) => b.addEventListener('click', () => selectTab(b.dataset.tab as Tab)));
  $('btn-first').onclick = () => { stop(); if (view) { view.cursor = -1; update(true); } };
  $('btn-back').onclick = () => { stop(); step(-1); };
  $('btn-fwd').onclick = () => { stop(); step(1); };
  $('btn-last').onclick = () => { stop(); if (view) { view.cursor = view.timeline.steps.length - 1; update(true); } };
  $('btn-play').onclick = () => togglePlay();
  $('speed').onchange = () => {
    ($('speed') as HTMLSelectElement).blur(); // so that space and the arrows go back to the player
    if (playing) { stop(); togglePlay(); }
  };
  $('opt-absolute').onchange = () => {
    if (!view) return;
    view.timeline = buildTimeline(view.trace, { absolute: absolute(), receiverOnly: receiverOnlyFor(view.run) });
    drawLadder();
    update();
  };
  $('detail-close').onclick = () => { if (view) { view.selected = null; update(); } };
  $('btn-svg').onclick = () => {
    if (!view) return;
    download(`${(view.run?.name ?? 'connection')}-ladder.svg`, renderLadderSvg(view.timeline.trace, { absolute: absolute() }), 'image/svg+xml');
  };
  $('btn-pcapng').onclick = () => {
    if (!view?.run) return;
    download(`${view.run.name}.pcapng`, scenarioPcapng(view.run), 'application/octet-stream');
  };
  document.addEventListener('keydown', (e) => {
    const t = e.target as HTMLElement;
    // Keys belong to fields that edit text or choose values; buttons and checkboxes leave them to the player.
    const editing = t.closest('select, textarea') || (t instanceof HTMLInputElement && t.type !== 'checkbox' && t.type !== 'button');
    if (editing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (!$('panel-lab').classList.contains('active')) return;
    switch (e.key) {
      case 'ArrowRight': case 'ArrowDown': e.preventDefault(); stop(); step(1); break;
      case 'ArrowLeft': case 'ArrowUp': e.preventDefault(); stop(); step(-1); break;
      case ' ': e.preventDefault(); togglePlay(); break;
      case 'Home': e.preventDefault(); stop(); if (view) { view.cursor = -1; update(true); } break;
      case 'End': e.preventDefault(); stop(); if (view) { view.cursor = view.timeline.steps.length - 1; update(true); } break;
      case 'Escape': if (view) { view.selected = null; update(); } break;
    }
  });
  let resizeTimer: ReturnType<typeof setTimeout> | null = null;
  window.addEventListener('resize', () => {
    if (resizeTimer) clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { drawLadder(); update(); }, 120);
  });
}

setupLab();
setupCapture();
setupToolbar();
void loadServerFiles();
// Run the default scenario so the page opens on a live ladder.
runLab();
document.body.dataset.ready = '1';
