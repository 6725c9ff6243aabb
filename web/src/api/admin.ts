// The operator's endpoints (docs/API.md, "Admin"), authenticated with the server's admin token.
import { download, request } from './client';

/** A row of the operator's list (`GET /api/admin/sessions`). */
export interface AdminSession {
  id: string;
  title: string;
  language: string;
  kind?: string;
  created_at: string;
  ended_at: string | null;
  status: 'open' | 'ended';
  participants: number;
  report_url: string;
}

const adminSessionPath = (id: string) => `/api/admin/sessions/${encodeURIComponent(id)}`;

export function adminApi(adminToken: string) {
  return {
    sessions: () => request<AdminSession[]>('GET', '/api/admin/sessions', { token: adminToken }),

    remove: (id: string) => request<unknown>('DELETE', adminSessionPath(id), { token: adminToken }),

    report: (id: string) => download(`${adminSessionPath(id)}/report`, adminToken),
  };
}
