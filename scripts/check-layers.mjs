// Enforces the architecture: imports point only toward src/wire, the floor.
// wire <- tcp <- stack <- link/analyze/drill/view (siblings may not import each other) <- cli, api.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname, resolve, relative, sep } from 'node:path';

const allowed = {
  wire: [],
  tcp: ['wire'],
  stack: ['wire', 'tcp'],
  link: ['wire', 'tcp', 'stack'],
  analyze: ['wire', 'tcp'],
  view: ['wire', 'tcp'],
  drill: ['wire', 'tcp', 'stack', 'link'],
  cli: ['wire', 'tcp', 'stack', 'link', 'analyze', 'drill', 'view'],
  // The package's public entries (package.json "exports"): they re-export the layers, never the CLI.
  api: ['wire', 'tcp', 'stack', 'link', 'analyze', 'drill', 'view'],
};
function walk(dir, out) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith('.ts')) out.push(p);
  }
  return out;
}
let bad = 0;
for (const file of walk('src', [])) {
  const layer = relative('src', file).split(sep)[0];
  if (!(layer in allowed)) continue;
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(/(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2];
    const target = relative('src', resolve(dirname(file), spec)).split(sep)[0];
    if (target === layer || target.startsWith('..')) continue;
    if (file.endsWith('.test.ts') && layer !== 'wire' && layer !== 'tcp') continue; // tests may build fixtures from any lower or sibling layer
    if (!allowed[layer].includes(target)) {
      console.error(`${file}: layer '${layer}' may not import '${target}' (${spec})`);
      bad++;
    }
  }
}
if (bad) process.exit(1);
console.log('layers ok');
