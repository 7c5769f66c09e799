/**
 * The page's Web Worker: the engine (two synack stacks in virtual time) and the capture analyzer run
 * here, so the page stays responsive while a scenario runs or a large capture is read.
 */
import { runCustomScenario, runSeedScenario, LabSpecError } from './lab-run.js';
import { CaptureSession, blobSource, type CaptureSource } from './capture-session.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { runDrill } from './drill-run.js';

const scope = self as unknown as { postMessage(m: FromWorker): void; onmessage: ((ev: MessageEvent<ToWorker>) => void) | null };
let session: CaptureSession | null = null;

function urlSource(name: string, url: string, size: number): CaptureSource {
  return {
    name, size,
    async *chunks() {
      const res = await fetch(url);
      if (!res.ok || !res.body) throw new Error(`cannot fetch ${name}: HTTP ${res.status}`);
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value) yield value;
      }
    },
  };
}

scope.onmessage = async (ev) => {
  const m = ev.data;
  try {
    switch (m.type) {
      case 'seed': scope.postMessage({ type: 'run', id: m.id, run: await runSeedScenario(m.name, m.opts) }); break;
      case 'custom': scope.postMessage({ type: 'run', id: m.id, run: runCustomScenario(m.spec) }); break;
      case 'drill': scope.postMessage({ type: 'run', id: m.id, run: runDrill(m.text, m.file, m.personality) }); break;
      case 'analyze': {
        const t0 = performance.now();
        session = new CaptureSession();
        const sources = m.files.map((f) => (f.blob ? blobSource(f.name, f.blob) : urlSource(f.name, f.url!, f.size ?? 0)));
        const out = await session.run(sources, {
          onConnections: (rows) => scope.postMessage({ type: 'connections', id: m.id, rows }),
          onProgress: (progress) => scope.postMessage({ type: 'progress', id: m.id, progress }),
        }, 512 * 1024);
        scope.postMessage({ type: 'analyzed', id: m.id, summary: out.summary, anomalies: out.anomalies, error: out.error, malformed: out.malformed, droppedTraces: session.droppedTraces, ms: performance.now() - t0 });
        break;
      }
      case 'trace': {
        const t = session?.traceWithRaw(m.uid) ?? null;
        scope.postMessage({ type: 'trace', id: m.id, uid: m.uid, trace: t?.trace ?? null, raw: t?.raw ?? [] });
        break;
      }
    }
  } catch (e) {
    scope.postMessage({ type: 'error', id: m.id, message: e instanceof Error ? e.message : String(e), field: e instanceof LabSpecError ? e.field : undefined });
  }
};
