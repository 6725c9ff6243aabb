import { useEffect, useId, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { FileEntry } from '../api/workspace';
import { useSession } from '../core/SessionContext';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { Spinner } from '../ui/Spinner';
import { baseName, dirName, fileType, formatBytes, isWithin, pathProblem } from './fileTypes';
import { buildTree, isNoisy, visibleRows, type TreeRow } from './tree';
import type { Viewer } from './usePresence';

interface Props {
  entries: FileEntry[] | null;
  error: string | null;
  refresh: () => Promise<void>;
  activePath: string | null;
  /** Other people and the file they have open. */
  viewers: Map<string, Viewer[]>;
  readOnly: boolean;
  onOpen: (path: string) => void;
  onRenamed: (from: string, to: string) => void;
  onDeleted: (path: string) => void;
}

type Form = { mode: 'file' | 'dir'; folder: string; value: string } | { mode: 'rename'; from: string; value: string };

/** The workspace's files as a tree (Explorer): open, create, rename and delete, by mouse or keyboard. */
export function FileTree({ entries, error, refresh, activePath, viewers, readOnly, onOpen, onRenamed, onDeleted }: Props) {
  const { api } = useSession();
  const tree = useMemo(() => buildTree(entries ?? []), [entries]);
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const seenDirs = useRef(new Set<string>());
  const [focused, setFocused] = useState<string | null>(null);
  const [form, setForm] = useState<Form | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [toDelete, setToDelete] = useState<{ path: string; type: 'file' | 'dir' } | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const rowRefs = useRef(new Map<string, HTMLDivElement>());
  const inputRef = useRef<HTMLInputElement>(null);
  const inputId = useId();
  const hintId = useId();

  // Caches and environments start collapsed the first time they show up.
  useEffect(() => {
    const fresh: string[] = [];
    for (const e of entries ?? []) {
      if (e.type === 'dir' && !seenDirs.current.has(e.path)) {
        seenDirs.current.add(e.path);
        if (isNoisy(e.path)) fresh.push(e.path);
      }
    }
    if (fresh.length) setCollapsed((c) => new Set([...c, ...fresh]));
  }, [entries]);

  const rows = useMemo(() => visibleRows(tree, collapsed), [tree, collapsed]);
  const byPath = useMemo(() => new Map(rows.map((r) => [r.node.path, r])), [rows]);
  const current = focused && byPath.has(focused) ? focused : activePath && byPath.has(activePath) ? activePath : (rows[0]?.node.path ?? null);

  // Focus the name field when the form opens (not on every keystroke).
  const formKey = form ? (form.mode === 'rename' ? `rename:${form.from}` : `${form.mode}:${form.folder}`) : null;
  useEffect(() => {
    const input = inputRef.current;
    if (!formKey || !input) return;
    input.focus();
    if (formKey.startsWith('rename:')) {
      // Select the name without its extension, as VS Code does.
      const value = input.value;
      const start = value.lastIndexOf('/') + 1;
      const dot = value.lastIndexOf('.');
      input.setSelectionRange(start, dot > start ? dot : value.length);
    }
  }, [formKey]);

  const focusRow = (path: string) => {
    setFocused(path);
    rowRefs.current.get(path)?.focus();
  };

  const toggle = (path: string, open?: boolean) =>
    setCollapsed((c) => {
      const next = new Set(c);
      const isOpen = !next.has(path);
      if (open ?? !isOpen) next.delete(path);
      else next.add(path);
      return next;
    });

  /** The folder new items go into: the focused folder, or the folder of the focused file. */
  const targetFolder = (): string => {
    const row = current ? byPath.get(current) : undefined;
    if (!row) return '';
    return row.node.type === 'dir' ? row.node.path : dirName(row.node.path);
  };

  const startNew = (mode: 'file' | 'dir') => {
    setFormError(null);
    const folder = targetFolder();
    if (folder) toggle(folder, true);
    setForm({ mode, folder, value: '' });
  };

  const startRename = (path: string) => {
    setFormError(null);
    setForm({ mode: 'rename', from: path, value: path });
  };

  const closeForm = (refocus: string | null = current) => {
    setForm(null);
    setFormError(null);
    if (refocus) window.setTimeout(() => rowRefs.current.get(refocus)?.focus(), 0);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!form || busy) return;
    const value = form.value.trim().replace(/\/+$/, '');
    const path = form.mode === 'rename' ? value : form.folder ? `${form.folder}/${value}` : value;
    const problem = pathProblem(value) ?? pathProblem(path);
    if (problem) {
      setFormError(problem);
      return;
    }
    if (form.mode === 'rename' && path === form.from) {
      closeForm(path);
      return;
    }
    setBusy(true);
    setFormError(null);
    try {
      if (form.mode === 'rename') {
        await api.workspace.rename(form.from, path);
        onRenamed(form.from, path);
      } else {
        await api.workspace.create(path, form.mode, form.mode === 'file' ? '' : undefined);
      }
      await refresh();
      if (form.mode === 'file') onOpen(path);
      if (form.mode === 'dir') toggle(path, true);
      setFocused(path);
      closeForm(form.mode === 'file' ? null : path);
    } catch (err) {
      setFormError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const confirmDelete = async () => {
    if (!toDelete) return;
    setBusy(true);
    setDeleteError(null);
    try {
      await api.workspace.remove(toDelete.path);
      onDeleted(toDelete.path);
      setToDelete(null);
      await refresh();
      const parent = dirName(toDelete.path);
      if (parent) focusRow(parent);
    } catch (err) {
      setDeleteError(`Could not delete ${toDelete.path}: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  const activate = (row: TreeRow) => {
    if (row.node.type === 'dir') toggle(row.node.path);
    else onOpen(row.node.path);
  };

  // Arrow keys, Home/End, Enter, F2 and Delete (WAI-ARIA tree view pattern).
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (!current || e.target !== rowRefs.current.get(current)) return;
    const i = rows.findIndex((r) => r.node.path === current);
    const row = rows[i];
    if (!row) return;
    let handled = true;
    switch (e.key) {
      case 'ArrowDown':
        if (i < rows.length - 1) focusRow(rows[i + 1].node.path);
        break;
      case 'ArrowUp':
        if (i > 0) focusRow(rows[i - 1].node.path);
        break;
      case 'Home':
        focusRow(rows[0].node.path);
        break;
      case 'End':
        focusRow(rows[rows.length - 1].node.path);
        break;
      case 'ArrowRight':
        if (row.node.type === 'dir') {
          if (collapsed.has(row.node.path)) toggle(row.node.path, true);
          else if (row.node.children[0]) focusRow(row.node.children[0].path);
        }
        break;
      case 'ArrowLeft':
        if (row.node.type === 'dir' && !collapsed.has(row.node.path)) toggle(row.node.path, false);
        else if (row.parent !== null) focusRow(row.parent);
        break;
      case 'Enter':
      case ' ':
        activate(row);
        break;
      case 'F2':
        if (!readOnly) startRename(row.node.path);
        break;
      case 'Delete':
        if (!readOnly) {
          setDeleteError(null);
          setToDelete({ path: row.node.path, type: row.node.type });
        }
        break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  };

  const formLabel =
    form?.mode === 'rename'
      ? `Rename ${baseName(form.from)} to`
      : form
        ? `New ${form.mode === 'file' ? 'file' : 'folder'} in ${form.folder ? `${form.folder}/` : 'the workspace root'}`
        : '';

  return (
    <nav className="file-explorer" aria-label="Files">
      <div className="explorer-header">
        <h2 className="explorer-title">Explorer</h2>
        <div className="explorer-tools">
          {!readOnly && (
            <>
              <button type="button" className="icon-btn" onClick={() => startNew('file')} aria-label="New file" title="New file" data-testid="new-file">
                <Icon d="M9 1.5H4a1 1 0 0 0-1 1v11a1 1 0 0 0 1 1h8a1 1 0 0 0 1-1V5.5L9 1.5Zm0 0v4h4M8 8v4M6 10h4" />
              </button>
              <button type="button" className="icon-btn" onClick={() => startNew('dir')} aria-label="New folder" title="New folder" data-testid="new-folder">
                <Icon d="M1.5 4V12.5a1 1 0 0 0 1 1h11a1 1 0 0 0 1-1V5.5a1 1 0 0 0-1-1H7.5L6 2.5H2.5a1 1 0 0 0-1 1ZM8 7v4.5M5.75 9.25h4.5" />
              </button>
            </>
          )}
          <button type="button" className="icon-btn" onClick={() => void refresh()} aria-label="Refresh the file list" title="Refresh">
            <Icon d="M13.5 8a5.5 5.5 0 1 1-1.6-3.9M13.5 2v3h-3" />
          </button>
          <button
            type="button"
            className="icon-btn"
            onClick={() => setCollapsed(new Set(rows.filter((r) => r.node.type === 'dir').map((r) => r.node.path)))}
            aria-label="Collapse all folders"
            title="Collapse all folders"
          >
            <Icon d="M4 6l4-3.5L12 6M4 13.5 8 10l4 3.5" />
          </button>
        </div>
      </div>

      {form && (
        <form className="explorer-form" onSubmit={(e) => void submit(e)} data-testid="file-form">
          <label htmlFor={inputId}>{formLabel}</label>
          <input
            id={inputId}
            ref={inputRef}
            type="text"
            value={form.value}
            spellCheck={false}
            autoComplete="off"
            placeholder={form.mode === 'dir' ? 'folder-name' : form.mode === 'file' ? 'name.py' : ''}
            onChange={(e) => setForm({ ...form, value: e.target.value })}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                e.preventDefault();
                closeForm();
              }
            }}
            aria-invalid={formError !== null}
            aria-describedby={formError ? `${inputId}-err` : undefined}
            data-testid="file-name-input"
            disabled={busy}
          />
          <div className="explorer-form-actions">
            <button type="submit" className="btn btn-small btn-primary" disabled={busy} data-testid="file-name-submit">
              {busy && <Spinner size={10} />}
              {form.mode === 'rename' ? 'Rename' : 'Create'}
            </button>
            <button type="button" className="btn btn-small" onClick={() => closeForm()} disabled={busy}>
              Cancel
            </button>
          </div>
          {formError && (
            <p className="explorer-error" id={`${inputId}-err`} role="alert">
              {formError}
            </p>
          )}
        </form>
      )}

      {error && (
        <p className="explorer-error" role="alert">
          {error}
        </p>
      )}

      <div
        className="file-tree"
        role="tree"
        aria-label="Workspace files"
        aria-describedby={hintId}
        data-testid="file-tree"
        onKeyDown={onKeyDown}
      >
        {entries === null && !error && (
          <div className="explorer-empty" role="status">
            <Spinner size={14} /> Loading files…
          </div>
        )}
        {entries !== null && rows.length === 0 && <div className="explorer-empty">No files yet.</div>}
        {rows.map((row) => {
          const { node } = row;
          const isDir = node.type === 'dir';
          const open = isDir && !collapsed.has(node.path);
          const here = viewers.get(node.path) ?? [];
          const label = isDir ? node.name : `${node.name}${node.editable ? '' : `, read-only, ${formatBytes(node.size)}`}`;
          return (
            <div
              key={node.path}
              ref={(el) => {
                if (el) rowRefs.current.set(node.path, el);
                else rowRefs.current.delete(node.path);
              }}
              role="treeitem"
              aria-level={row.depth + 1}
              aria-expanded={isDir ? open : undefined}
              aria-selected={!isDir && node.path === activePath}
              aria-label={here.length ? `${label} (open by ${here.map((v) => v.name).join(', ')})` : label}
              tabIndex={node.path === current ? 0 : -1}
              className={`tree-row${node.path === activePath ? ' active' : ''}${node.path === current ? ' current' : ''}`}
              style={{ paddingLeft: 8 + row.depth * 12 }}
              data-testid={`file-${node.path}`}
              data-type={node.type}
              title={node.path}
              onClick={() => {
                setFocused(node.path);
                activate(row);
              }}
              onFocus={() => setFocused(node.path)}
            >
              {isDir ? (
                <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true" className={open ? 'chev open' : 'chev'}>
                  <path d="M6 3.5 10.5 8 6 12.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
                </svg>
              ) : (
                <span className={`file-icon lang-${fileType(node.path).language}`} aria-hidden="true" />
              )}
              <span className={`tree-name${node.editable || isDir ? '' : ' binary'}`}>{node.name}</span>
              {here.length > 0 && (
                <span className="tree-viewers" aria-hidden="true">
                  {here.slice(0, 3).map((v) => (
                    <span key={v.clientId} className="tree-viewer" style={{ background: v.color }} title={`${v.name} has this file open`} />
                  ))}
                </span>
              )}
              {!readOnly && (
                <span className="tree-actions">
                  <button
                    type="button"
                    tabIndex={-1}
                    className="icon-btn tree-action"
                    aria-label={`Rename ${node.path} (F2)`}
                    title="Rename (F2)"
                    data-testid={`rename-${node.path}`}
                    onClick={(e) => {
                      e.stopPropagation();
                      setFocused(node.path);
                      startRename(node.path);
                    }}
                  >
                    <Icon d="M2.5 13.5h3l8-8-3-3-8 8v3ZM9 4l3 3" />
                  </button>
                  <button
                    type="button"
                    tabIndex={-1}
                    className="icon-btn tree-action"
                    aria-label={`Delete ${node.path} (Delete)`}
                    title="Delete (Delete)"
                    data-testid={`delete-${node.path}`}
                    onClick={(e) => {
                      e.stopPropagation();
                      setFocused(node.path);
                      setDeleteError(null);
                      setToDelete({ path: node.path, type: node.type });
                    }}
                  >
                    <Icon d="M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.7 9h5.6l.7-9" />
                  </button>
                </span>
              )}
            </div>
          );
        })}
      </div>
      <p className="sr-only" id={hintId}>
        Arrow keys move, Enter opens a file or folder{readOnly ? '' : ', F2 renames, Delete deletes'}.
      </p>

      <ConfirmDialog
        open={toDelete !== null}
        title={toDelete ? `Delete ${toDelete.type === 'dir' ? 'folder' : 'file'} ${baseName(toDelete.path)}?` : ''}
        confirmLabel="Delete"
        busy={busy}
        error={deleteError}
        onConfirm={() => void confirmDelete()}
        onCancel={() => {
          const path = toDelete?.path ?? null;
          setToDelete(null);
          if (path) window.setTimeout(() => rowRefs.current.get(path)?.focus(), 0);
        }}
        testId="delete-dialog"
      >
        <p>
          <code>{toDelete?.path}</code>
          {toDelete?.type === 'dir' ? ' and everything in it will be deleted' : ' will be deleted'} for everyone. This cannot be
          undone.
        </p>
      </ConfirmDialog>
    </nav>
  );
}

/** A 16x16 stroked icon. */
export function Icon({ d, size = 16 }: { d: string; size?: number }) {
  return (
    <svg viewBox="0 0 16 16" width={size} height={size} aria-hidden="true">
      <path d={d} fill="none" stroke="currentColor" strokeWidth="1.2" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

/** Paths of open tabs that a rename of `from` to `to` moves (the path itself or anything inside it). */
export function renamedPath(path: string, from: string, to: string): string | null {
  if (!isWithin(path, from)) return null;
  return to + path.slice(from.length);
}
