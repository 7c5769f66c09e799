/** Downloads: the scenario's packets as pcapng (src/wire's writer), the ladder as SVG (src/view's renderer). */
import { EPB_INBOUND, EPB_OUTBOUND, PcapngWriter } from '../../src/wire/pcapng-writer.js';
import type { LabRun } from './lab-run.js';

/** Virtual time 0 is placed at this instant so captures show plausible dates (as `synack demo --pcap` does). */
export const EPOCH_MS = Date.UTC(2026, 0, 1);

/** The run's packets (lost ones included, commented) as a pcapng file, LINKTYPE_RAW. */
export function scenarioPcapng(run: LabRun): Uint8Array {
  const w = new PcapngWriter({ application: 'synack ui' });
  const iface = w.addInterface({ name: 'synack0', description: 'synack page: in-memory wire 10.0.0.1 <-> 10.0.0.2' });
  w.comment(`${run.title}: ${run.description}`);
  run.packets.forEach((p, i) => {
    const comment = i === 0 ? `scenario ${run.name}: ${run.title}` : p.fate === 'lost' ? 'lost on the wire' : p.fate === 'injected' ? 'injected' : undefined;
    w.writePacket(iface, EPOCH_MS + p.time, p.bytes, comment, p.from === 'a' ? EPB_OUTBOUND : EPB_INBOUND);
  });
  return w.take();
}

export function download(name: string, data: Uint8Array | string, type: string): void {
  const blob = new Blob([typeof data === 'string' ? data : data.slice().buffer], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
