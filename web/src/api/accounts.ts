// Accounts (docs/API.md, "Accounts"): sign-in with the HttpOnly cookie, first-run setup, invites,
// the team's sessions, API keys, and the admin's users, teams and audit log.
import { request } from './client';

export type AccountRole = 'admin' | 'interviewer';

export interface User {
  id: string;
  email: string;
  name: string;
  role: AccountRole;
  team_id: string;
}

export interface Me {
  user: User;
  team: { id: string; name: string } | null;
}

export interface AuthConfig {
  setup_needed: boolean;
  /** The SSO provider's name when OpenID Connect is configured. */
  sso: string | null;
  min_password_chars: number;
}

export interface NewAccount {
  email: string;
  name: string;
  password: string;
}

export const authConfig = () => request<AuthConfig>('GET', '/api/auth/config');
export const me = () => request<Me>('GET', '/api/auth/me');
export const login = (email: string, password: string) => request<{ user: User }>('POST', '/api/auth/login', { json: { email, password } });
export const logout = () => request<void>('POST', '/api/auth/logout');
export const setup = (code: string, a: NewAccount) => request<{ user: User }>('POST', '/api/auth/setup', { json: { code, ...a } });
export const inviteInfo = (code: string) => request<{ team: string; role: AccountRole }>('GET', `/api/auth/invites/${encodeURIComponent(code)}`);
export const acceptInvite = (code: string, a: NewAccount) =>
  request<{ user: User }>('POST', `/api/auth/invites/${encodeURIComponent(code)}`, { json: a });

/** A row of the team's list (`GET /api/sessions`). */
export interface TeamSession {
  id: string;
  title: string;
  kind: 'pad' | 'workspace';
  language: string;
  exercise: string | null;
  status: 'open' | 'ended';
  created_by: string | null;
  mine: boolean;
  created_at: string;
  ended_at: string | null;
  participants: { name: string; role: string }[];
}

export interface SessionQuery {
  q?: string;
  status?: '' | 'open' | 'ended';
  mine?: boolean;
  limit?: number;
  offset?: number;
}

export function teamSessions(query: SessionQuery) {
  const p = new URLSearchParams();
  if (query.q) p.set('q', query.q);
  if (query.status) p.set('status', query.status);
  if (query.mine) p.set('mine', '1');
  if (query.limit) p.set('limit', String(query.limit));
  if (query.offset) p.set('offset', String(query.offset));
  return request<{ sessions: TeamSession[]; total: number; limit: number; offset: number }>('GET', `/api/sessions?${p}`);
}

export const rotateInterviewerLink = (id: string) =>
  request<{ interviewer_token: string; interviewer_url: string }>('POST', `/api/sessions/${encodeURIComponent(id)}/interviewer-link`);

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  user_id: string;
  created_at: string;
  revoked_at: string | null;
  scopes: KeyScope[];
  expires_at: string | null;
  last_used_at: string | null;
}

/** What a key may do: read sessions, create and change them, the admin routes. */
export type KeyScope = 'sessions:read' | 'sessions:write' | 'admin';

export const listKeys = (all: boolean) => request<ApiKey[]>('GET', `/api/keys${all ? '?all=1' : ''}`);
export const createKey = (name: string, scopes: KeyScope[], expiresInDays: number | null) =>
  request<{ key: ApiKey; secret: string }>('POST', '/api/keys', {
    json: expiresInDays ? { name, scopes, expires_in_days: expiresInDays } : { name, scopes },
  });
export const revokeKey = (id: string) => request<void>('DELETE', `/api/keys/${encodeURIComponent(id)}`);

export interface AdminUser {
  id: string;
  email: string;
  name: string;
  role: AccountRole;
  team_id: string;
  created_at: string;
  disabled: boolean;
}

export interface Team {
  id: string;
  name: string;
  created_at: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  detail: Record<string, unknown> | null;
}

export const listUsers = () => request<AdminUser[]>('GET', '/api/admin/users');
export const setUserDisabled = (id: string, disabled: boolean) =>
  request<void>('POST', `/api/admin/users/${encodeURIComponent(id)}/${disabled ? 'disable' : 'enable'}`);
export const listTeams = () => request<Team[]>('GET', '/api/admin/teams');
export const createTeam = (name: string) => request<Team>('POST', '/api/admin/teams', { json: { name } });
export const createInvite = (role: AccountRole, teamId: string) =>
  request<{ code: string; url: string }>('POST', '/api/admin/invites', { json: { role, team_id: teamId } });
export const auditLog = (before?: number) => request<AuditEntry[]>('GET', `/api/admin/audit?limit=100${before ? `&before=${before}` : ''}`);
