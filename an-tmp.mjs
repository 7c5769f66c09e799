const { Analyzer } = await import(process.cwd() + '/src/analyze/analyzer.ts');
const { CaptureReader } = await import(process.cwd() + '/src/wire/capture.ts');
const { readFileSync } = await import('node:fs');
const buf = new Uint8Array(readFileSync('/tmp/mixed.pcap'));
const opts = JSON.parse(process.argv[2] ?? '{}');
const times = [];
for (let k = 0; k < 7; k++) {
  const c0 = process.cpuUsage();
  const an = new Analyzer({ recycle: true, onConnection: () => {}, ...opts });
  const rd = new CaptureReader(); rd.pushNoCopy(buf); rd.end();
  for (let rec = rd.next(); rec; rec = rd.next()) an.packet(rec);
  an.finish();
  const c = process.cpuUsage(c0);
  times.push((c.user + c.system) / 1e6);
}
console.log(process.cwd(), 'first', times[0].toFixed(3), 'min', Math.min(...times.slice(1)).toFixed(3), 'median', times.slice(1).sort()[3].toFixed(3));
