// The web app's layers (docs/web-layers.md), kept by this test: every import of src/ points to a
// lower layer or stays inside its own unit, and no chain of imports comes back to where it started.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * Lowest first. A unit is a folder of src/ (pages/ is one unit: its pages link each other);
 * the files at the top of src/ (App.tsx, main.tsx) are the unit `app`.
 */
export const LAYERS: Record<string, number> = {
  api: 0,
  ui: 1,
  core: 2,
  editor: 3,
  // Features: each is a vertical slice; none imports another.
  run: 4,
  assistant: 4,
  cockpit: 4,
  chaos: 4,
  questions: 4,
  workspace: 4,
  pages: 5,
  app: 6,
};

const SOURCE = /\.(ts|tsx)$/;
const RESOLVE = ['', '.ts', '.tsx', '/index.ts', '/index.tsx'];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

function unitOf(file: string): string {
  const rel = relative(SRC, file).split(/[\\/]/);
  return rel.length === 1 ? 'app' : rel[0];
}

/** The files of src/ that `file` imports (static, dynamic, type-only, CSS, workers). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const out: string[] = [];
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const base = resolve(dirname(file), fileName.split('?')[0]);
    const target = RESOLVE.map((ext) => base + ext).find((p) => statSync(p, { throwIfNoEntry: false })?.isFile());
    if (!target) throw new Error(`${relative(SRC, file)}: cannot resolve '${fileName}'`);
    out.push(target);
  }
  return out;
}

export interface Graph {
  files: string[];
  edges: Map<string, string[]>;
}

export function graphOf(files: string[], read: (file: string) => string[] = importsOf): Graph {
  return { files, edges: new Map(files.map((f) => [f, read(f)])) };
}

/** Imports that go up a layer or sideways into another unit of the same layer. */
export function layerViolations({ edges }: Graph): string[] {
  const bad: string[] = [];
  for (const [from, targets] of edges) {
    const a = unitOf(from);
    for (const to of targets) {
      const b = unitOf(to);
      if (a === b) continue;
      if (LAYERS[b] >= LAYERS[a]) bad.push(`${relative(SRC, from)} (${a}) imports ${relative(SRC, to)} (${b})`);
    }
  }
  return bad;
}

/** Every import cycle, as the files on it (Tarjan's strongly connected components). */
export function cycles({ files, edges }: Graph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(relative(SRC, w));
      } while (w !== v);
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  return found;
}

const graph = graphOf(walk(SRC).filter((f) => SOURCE.test(f)));

describe('layers of src/', () => {
  test('every folder of src/ has a layer', () => {
    const units = new Set(graph.files.map(unitOf));
    expect([...units].filter((u) => !(u in LAYERS))).toEqual([]);
  });

  test('imports point down a layer, or stay inside their unit', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  test('no import cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const f = (p: string) => join(SRC, p);
  test('an upward or sideways import is reported', () => {
    const g = graphOf([f('api/a.ts'), f('run/b.ts'), f('chaos/c.ts')], (file) =>
      file === f('api/a.ts') ? [f('run/b.ts')] : file === f('run/b.ts') ? [f('chaos/c.ts')] : [],
    );
    expect(layerViolations(g)).toEqual(['api/a.ts (api) imports run/b.ts (run)', 'run/b.ts (run) imports chaos/c.ts (chaos)']);
  });

  test('a cycle is reported, also inside one folder', () => {
    const g = graphOf([f('chaos/a.ts'), f('chaos/b.ts'), f('chaos/c.ts')], (file) =>
      file === f('chaos/a.ts') ? [f('chaos/b.ts')] : file === f('chaos/b.ts') ? [f('chaos/a.ts')] : [],
    );
    expect(cycles(g)).toEqual([['chaos/a.ts', 'chaos/b.ts']]);
  });
});
