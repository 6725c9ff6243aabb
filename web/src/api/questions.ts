// The question library (docs/API.md, "Questions"): the list, the team's own questions, a session's
// question, running its tests.
import { request, type SessionClient } from './client';

/** The server's read-only library, or the caller's team's own question. */
export type QuestionOwner = 'library' | 'team';

export interface QuestionSummary {
  id: string;
  title: string;
  tests: number;
  hidden_tests: number;
  owner: QuestionOwner;
  updated_at: number;
}

export interface QuestionTest {
  name: string;
  input: string;
  expected: string;
  hidden: boolean;
}

/** A session's question; the candidate's copy has the visible tests only. */
export interface Question {
  id: string;
  title: string;
  description: string;
  starters: Record<string, string>;
  tests: QuestionTest[];
  hidden_tests: number;
}

export interface TestResult {
  name: string;
  hidden: boolean;
  passed: boolean;
  status: string;
  time_ms: number;
  input: string;
  expected: string;
  actual: string;
  stderr: string;
  message: string | null;
}

export interface TestReport {
  language: string;
  passed: number;
  failed: number;
  results: TestResult[];
}

/** What a question is made of, as saved: starters only for the languages that have their own. */
export interface QuestionInput {
  title: string;
  description: string;
  starters: Record<string, string>;
  tests: QuestionTest[];
}

/** A question whole, for an interviewer of a team that may use it (hidden tests included). */
export interface QuestionFull extends QuestionInput {
  id: string;
  owner: QuestionOwner;
  updated_at: number;
}

/** The library and the team's own questions (the team's last). */
export const listQuestions = () => request<QuestionSummary[]>('GET', '/api/questions');
const one = (id: string) => `/api/questions/${encodeURIComponent(id)}`;
export const getQuestion = (id: string) => request<QuestionFull>('GET', one(id));
export const createQuestion = (q: QuestionInput) => request<{ id: string }>('POST', '/api/questions', { json: q });
export const updateQuestion = (id: string, q: QuestionInput) => request<{ id: string }>('PUT', one(id), { json: q });
export const deleteQuestion = (id: string) => request<void>('DELETE', one(id));

export function questionsApi(c: SessionClient) {
  return {
    /** The session's question; null when it was not made from one. */
    get: () => c.request<Question | null>('GET', '/question'),
    /** Runs the tests on the server: the visible ones for the candidate, all for the interviewer. */
    async runTests(language: string, code: string): Promise<TestReport> {
      // Compiling and running every test can take a while on a busy server.
      const res = await c.sendOk('POST', '/tests', { json: { language, code }, timeoutMs: 300_000 });
      return (await res.json()) as TestReport;
    },
  };
}
