// Packs a package of this repository and installs the tarball into an empty project, the way a service would install
// it, pinned to the versions this repository's lockfile tested (so npm needs no registry metadata, only tarballs).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface LockEntry {
  readonly version: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly [field: string]: unknown;
}

interface PackedPackage {
  readonly name: string;
  readonly version: string;
  readonly filename: string;
  readonly integrity: string;
  readonly files: readonly { readonly path: string }[];
}

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Record<string, string>;
}

/** Where Node would find `name` from the package at `from` ('' is the project), in a lockfile's path layout. */
function resolveInLock(packages: Readonly<Record<string, LockEntry>>, from: string, name: string): string {
  for (let base = from; ; base = base.slice(0, Math.max(0, base.lastIndexOf('/node_modules/')))) {
    const path = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (packages[path] !== undefined) return path;
    if (base === '') throw new Error(`${name} (needed from ${from || 'the project'}) is not in the repository's package-lock.json`);
  }
}

/** The lockfile entries of `names` and everything they depend on, at the paths the repository installed them. */
function lockClosure(repoRoot: string, names: readonly string[]): Record<string, LockEntry> {
  const { packages } = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const closure: Record<string, LockEntry> = {};
  const queue = names.map((name) => resolveInLock(packages, '', name));
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    if (closure[path] !== undefined) continue;
    // The repository's dev flags mean nothing to a project that installs the package for production.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = packages[path] as LockEntry;
    closure[path] = entry as LockEntry;
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) queue.push(resolveInLock(packages, path, name));
  }
  return closure;
}

/** `npm pack` in `packageDir` (its prepack script builds it) into `destination`. */
export async function packPackage(packageDir: string, destination: string): Promise<PackedPackage> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], { cwd: packageDir, maxBuffer: 16 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as PackedPackage[];
  if (packed === undefined) throw new Error(`npm pack in ${packageDir} reported nothing`);
  return packed;
}

/**
 * Installs the packed tarball (already in `projectDir`) as the only dependency of an empty project, with `npm ci`
 * from a lockfile holding the tarball and its declared dependencies' trees: a dependency the package needs but does
 * not declare is simply absent, and one it declares beyond the repository's tree fails the install.
 */
export async function installPacked(repoRoot: string, projectDir: string, packed: PackedPackage, manifest: Manifest): Promise<void> {
  const tarball = `file:${packed.filename}`;
  const project = { name: 'empty-project', private: true, dependencies: { [manifest.name]: tarball } };
  const lock = {
    name: project.name,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: project.name, dependencies: project.dependencies },
      [`node_modules/${manifest.name}`]: { version: manifest.version, resolved: tarball, integrity: packed.integrity, dependencies: manifest.dependencies ?? {} },
      ...lockClosure(repoRoot, Object.keys(manifest.dependencies ?? {})),
    },
  };
  writeFileSync(join(projectDir, 'package.json'), JSON.stringify(project, null, 2));
  writeFileSync(join(projectDir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  // Tarballs come from npm's cache (filled by the repository's own install); the registry only if the cache lacks one.
  await run('npm', ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: projectDir });
}

/** Every package installed under `projectDir`, as `name@version`. */
export function installedPackages(projectDir: string): string[] {
  const found: string[] = [];
  const walk = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const folders = entry.name.startsWith('@') ? readdirSync(join(modules, entry.name)).map((name) => join(entry.name, name)) : [entry.name];
      for (const folder of folders) {
        const { name, version } = JSON.parse(readFileSync(join(modules, folder, 'package.json'), 'utf8')) as Manifest;
        found.push(`${name}@${version}`);
        walk(join(modules, folder, 'node_modules'));
      }
    }
  };
  walk(join(projectDir, 'node_modules'));
  return found.sort();
}

/** `name@version` of `names` and everything they depend on, as the repository's lockfile has them. */
export function dependencyTree(repoRoot: string, names: readonly string[]): string[] {
  return Object.entries(lockClosure(repoRoot, names))
    .map(([path, entry]) => `${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${entry.version}`)
    .sort();
}
