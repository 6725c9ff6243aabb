// The question library (docs/API.md, "Questions"): the list, a session's question, running its tests.
import { request, type SessionClient } from './client';

export interface QuestionSummary {
  id: string;
  title: string;
  tests: number;
  hidden_tests: number;
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

export const listQuestions = () => request<QuestionSummary[]>('GET', '/api/questions');

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
