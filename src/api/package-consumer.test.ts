/**
 * synack as a stranger gets it: `npm pack`, the tarball installed offline into a scratch project, a program that
 * imports only public entries type-checked under strict, exactOptionalPropertyTypes and noUncheckedIndexedAccess
 * and run (node:http, express, ws, undici, TLS, stream.pipeline — src/api/consumer/app.ts), every code example of
 * the README's library section compiled and run with its printed output checked, and `npx synack`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The third-party packages the scratch project installs (synack's devDependencies, so the npm cache has them). */
const THIRD_PARTY = ['express', 'ws', 'undici', 'typescript', '@types/node', '@types/express', '@types/ws'];

/** The README's library examples: each ```ts block of the "## Library" section, with the lines it must print. */
export function readmeExamples(readme: string): Array<{ code: string; expected: string[] }> {
  const start = readme.indexOf('\n## Library');
  const end = readme.indexOf('\n## ', start + 5);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => ({
    code: m[1]!,
    expected: [...m[1]!.matchAll(/\/\/ → (.*)$/gm)].map((x) => x[1]!.trim()),
  }));
}

type LockEntry = Record<string, unknown> & { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }> };

/**
 * A lockfile for the scratch project made from synack's own: the tarball's entry plus every package reachable
 * from the roots, at the same paths. `npm ci --offline` then installs from the npm cache `npm ci` filled.
 */
function scratchLock(tarball: string, tarballRel: string, deps: Record<string, string>): unknown {
  const ours = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const synackPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown> & { dependencies: Record<string, string> };
  const integrity = 'sha512-' + createHash('sha512').update(readFileSync(tarball)).digest('base64');
  const packages: Record<string, LockEntry> = {
    '': { name: 'synack-consumer', version: '1.0.0', dependencies: deps },
    'node_modules/synack': {
      version: synackPkg.version, resolved: `file:${tarballRel}`, integrity, license: synackPkg.license,
      dependencies: synackPkg.dependencies, bin: synackPkg.bin, engines: synackPkg.engines, hasInstallScript: true,
    },
  };
  const find = (from: string, name: string): string | null => {
    let base = from;
    for (;;) {
      const p = `${base ? base + '/' : ''}node_modules/${name}`;
      if (ours.packages[p]) return p;
      if (!base) return null;
      const i = base.lastIndexOf('/node_modules/');
      base = i < 0 ? '' : base.slice(0, i);
    }
  };
  const queue: string[] = [];
  const add = (from: string, name: string, optional: boolean) => {
    const p = find(from === 'node_modules/synack' ? '' : from, name);
    if (p === null) { if (optional) return; throw new Error(`package-lock.json has no ${name} (needed by ${from || 'the scratch project'})`); }
    if (packages[p]) return;
    const e: LockEntry = { ...ours.packages[p]! };
    for (const k of ['dev', 'devOptional', 'peer', 'optional']) delete e[k];
    // synack's lock leaves out registry addresses; npm then asks for the packument, which --offline cannot.
    // The tarball's address is the registry's fixed layout; the cache finds it by its integrity.
    if (e.resolved === undefined && typeof e.version === 'string') {
      const full = p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length);
      e.resolved = `https://registry.npmjs.org/${full}/-/${full.split('/').at(-1)}-${e.version}.tgz`;
    }
    packages[p] = e;
    queue.push(p);
  };
  for (const name of Object.keys(deps)) if (name !== 'synack') add('', name, false);
  for (const name of Object.keys(synackPkg.dependencies)) add('node_modules/synack', name, false);
  while (queue.length) {
    const p = queue.shift()!;
    const e = packages[p]!;
    for (const name of Object.keys(e.dependencies ?? {})) add(p, name, false);
    for (const name of Object.keys(e.optionalDependencies ?? {})) add(p, name, true);
    for (const name of Object.keys(e.peerDependencies ?? {})) add(p, name, e.peerDependenciesMeta?.[name]?.optional === true);
  }
  return { name: 'synack-consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}) in ${cwd}:\n${r.stdout}\n${r.stderr}`.slice(0, 8000));
  return r.stdout;
}

/** A self-signed certificate for the TLS check, when openssl is here. */
function makeCert(dir: string): { cert: string; key: string } | null {
  const cert = join(dir, 'cert.pem'), key = join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=synack.test', '-addext', 'subjectAltName=DNS:synack.test', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  return r.status === 0 && existsSync(cert) ? { cert, key } : null;
}

test('the packed tarball installs offline; a strict consumer type-checks and runs it; the README examples print what they say', { timeout: 900_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'synack-consumer-'));
  try {
    // 1. npm pack, from a copy of the checkout (its build must not rewrite this checkout's dist/ and ui/dist
    //    while other tests read them).
    const src = join(work, 'synack');
    mkdirSync(src);
    for (const f of ['package.json', 'package-lock.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json', 'binding.gyp', 'src', 'ui', 'bin', 'native', 'scripts', 'docs']) {
      if (existsSync(join(root, f))) cpSync(join(root, f), join(src, f), { recursive: true, filter: (p) => !p.includes('/ui/dist') && !p.includes('/node_modules') });
    }
    symlinkSync(join(root, 'node_modules'), join(src, 'node_modules'), 'dir');
    const packDir = join(work, 'pack');
    mkdirSync(packDir);
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', packDir], src)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed[0]!.files.map((f) => f.path);
    assert.ok(files.includes('dist/src/api/index.js') && files.includes('dist/src/api/index.d.ts'), 'built JS and types are in the tarball');
    assert.ok(files.includes('dist/src/api/browser.js') && files.includes('ui/dist/index.html'), 'browser entry and the page are in the tarball');
    assert.ok(!files.some((f) => f.endsWith('.test.ts') || f.endsWith('.test.js') || (f.startsWith('src/') && f.endsWith('.ts'))), 'no sources or tests in the tarball');
    const tarball = join(packDir, packed[0]!.filename);

    // 2. A scratch project installs it (and the libraries the consumer uses) offline.
    const app = join(work, 'consumer');
    mkdirSync(join(app, 'src'), { recursive: true });
    const ourPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const deps: Record<string, string> = { synack: `file:../pack/${packed[0]!.filename}` };
    for (const n of THIRD_PARTY) deps[n] = ourPkg.devDependencies[n]!;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'synack-consumer', version: '1.0.0', type: 'module', private: true, dependencies: deps }, null, 2));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(scratchLock(tarball, `../pack/${packed[0]!.filename}`, deps), null, 2));
    run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app);

    // 3. Type-check the consumer and the README's examples, as strict as a consumer may be.
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', lib: ['ES2022'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
        exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false, outDir: 'dist', types: ['node'],
      },
      include: ['src'],
    }, null, 2));
    cpSync(join(root, 'src/api/consumer/app.ts'), join(app, 'src/app.ts'));
    const examples = readmeExamples(readFileSync(join(root, 'README.md'), 'utf8'));
    assert.ok(examples.length >= 4, `README library examples: ${examples.length}`);
    examples.forEach((ex, i) => writeFileSync(join(app, 'src', `readme-${i}.ts`), ex.code));
    run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', app], app);

    await t.test('README examples print what their comments say', () => {
      examples.forEach((ex, i) => {
        const printed = run(process.execPath, [join(app, 'dist', `readme-${i}.js`)], app).trim().split('\n').map((l) => l.trim());
        assert.deepEqual(printed, ex.expected, `README example ${i + 1}:\n${ex.code}`);
      });
    });

    await t.test('the consumer program: node:http, express, undici, ws, TLS, pipeline, every entry', () => {
      const cert = makeCert(work);
      const stdout = run(process.execPath, [join(app, 'dist/app.js')], app, cert ? { SYNACK_TEST_CERT: cert.cert, SYNACK_TEST_KEY: cert.key } : {});
      const o = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, Record<string, unknown> & unknown[]>;
      assert.equal(o.http!.uploadIntact, true);
      assert.equal(o.http!.downloadIntact, true);
      assert.equal(o.http!.downloadLength, 10_000_000);
      assert.equal(o.http!.secondIntact, true);
      assert.equal(o.http!.connections, 1, 'both requests on one keep-alive connection');
      assert.ok((o.http!.lost as number) > 100, `the wire lost ${String(o.http!.lost)} packets`);
      assert.deepEqual(o.express, { sum: 42 });
      assert.deepEqual(o.undici, [1, 2, 3, 4, 5].map((s) => ({ sum: s })));
      assert.deepEqual(o.ws, { received: 1000, inOrder: true });
      if (cert) assert.deepEqual(o.tls, { text: 'hello TLSv1.3', authorized: true });
      else t.diagnostic('TLS part skipped: openssl is not installed');
      assert.equal(o.pipeline!.received, 100 * 1024 * 1024);
      assert.ok((o.pipeline!.peakRssGrowthMiB as number) < 64, `RSS grew ${String(o.pipeline!.peakRssGrowthMiB)} MiB while 100 MiB went through`);
      assert.deepEqual(o.engine, { state: 'SYN-SENT', synFlags: 2 });
      assert.equal(o.wire, 'function');
      assert.equal(o.analyze, 0);
      assert.equal(o.drill, 'pass');
    });

    await t.test('npx synack runs from the installed package', () => {
      const list = run('npx', ['--no-install', 'synack', 'demo', '--list'], app);
      assert.match(list, /handshake/);
      assert.ok(readdirSync(join(app, 'node_modules/synack/dist/src/api')).includes('index.d.ts'));
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
