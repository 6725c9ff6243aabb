import type { FileEntry } from '../api/workspace';
import { baseName } from './fileTypes';

export interface TreeNode {
  path: string;
  name: string;
  type: 'file' | 'dir';
  size: number;
  editable: boolean;
  children: TreeNode[];
}

/** A row of the tree as shown: a node and its depth (0 at the root). */
export interface TreeRow {
  node: TreeNode;
  depth: number;
  parent: string | null;
}

/** Folders that start collapsed: tool caches and environments nobody needs open. */
const NOISY = new Set(['__pycache__', '.git', '.venv', 'venv', 'node_modules', '.pytest_cache', '.mypy_cache', '.ruff_cache']);

export function isNoisy(path: string): boolean {
  return NOISY.has(baseName(path));
}

/** Builds the tree from the flat list; folders first, then files, each by name (as VS Code does). */
export function buildTree(entries: FileEntry[]): TreeNode[] {
  const root: TreeNode = { path: '', name: '', type: 'dir', size: 0, editable: false, children: [] };
  const dirs = new Map<string, TreeNode>([['', root]]);

  const dirFor = (path: string): TreeNode => {
    const found = dirs.get(path);
    if (found) return found;
    const i = path.lastIndexOf('/');
    const parent = dirFor(i < 0 ? '' : path.slice(0, i));
    const node: TreeNode = { path, name: baseName(path), type: 'dir', size: 0, editable: false, children: [] };
    parent.children.push(node);
    dirs.set(path, node);
    return node;
  };

  for (const e of entries) {
    if (!e || typeof e.path !== 'string' || !e.path) continue;
    if (e.type === 'dir') {
      dirFor(e.path);
      continue;
    }
    const i = e.path.lastIndexOf('/');
    const parent = dirFor(i < 0 ? '' : e.path.slice(0, i));
    parent.children.push({
      path: e.path,
      name: baseName(e.path),
      type: 'file',
      size: e.size ?? 0,
      editable: e.editable !== false,
      children: [],
    });
  }

  const sort = (n: TreeNode) => {
    n.children.sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === 'dir' ? -1 : 1));
    n.children.forEach(sort);
  };
  sort(root);
  return root.children;
}

/** The rows to show, depth first, skipping the insides of collapsed folders. */
export function visibleRows(nodes: TreeNode[], collapsed: ReadonlySet<string>): TreeRow[] {
  const out: TreeRow[] = [];
  const walk = (list: TreeNode[], depth: number, parent: string | null) => {
    for (const node of list) {
      out.push({ node, depth, parent });
      if (node.type === 'dir' && !collapsed.has(node.path)) walk(node.children, depth + 1, node.path);
    }
  };
  walk(nodes, 0, null);
  return out;
}
