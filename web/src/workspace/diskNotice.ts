import type { WorkspaceStatus } from '../api/workspace';

/** The status bar's warning when the workspace's disk is (nearly) full, else null. */
export function diskNotice(status: WorkspaceStatus | null): string | null {
  const used = status?.sandbox?.disk_used_bytes;
  const limit = status?.sandbox?.disk_limit_bytes;
  if (used == null || !limit) return null;
  const mb = (b: number) => `${Math.round(b / 1048576)} MB`;
  if (used >= limit * 0.99) return `Disk limit reached: the workspace uses all of its ${mb(limit)}. Delete files to go on.`;
  if (used >= limit * 0.9) return `The workspace's disk is nearly full: ${mb(used)} of ${mb(limit)}.`;
  return null;
}
