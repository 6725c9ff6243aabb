// The interviewer's timeline: how each recorded event reads, which filter it falls under, its tone.
import { describe, expect, test } from 'vitest';
import type { TimelineEvent } from '../src/api/cockpit';
import { categoryOf, describeEvent, toneOf } from '../src/cockpit/events';

const LANGUAGES: Record<string, string> = { python: 'Python', javascript: 'JavaScript' };
const name = (id: string) => LANGUAGES[id] ?? id;
const ev = (kind: string, data: Record<string, unknown> | null = null, actor: string | null = null): TimelineEvent => ({ at: '', at_ms: 0, kind, actor, data });
const say = (e: TimelineEvent) => describeEvent(e, name);

describe('timeline wording', () => {
  test('people are named, or their role stands in', () => {
    expect(say(ev('joined', { name: 'Ada' }, 'candidate'))).toBe('Ada joined as candidate');
    expect(say(ev('joined', null, 'interviewer'))).toBe('The interviewer joined as interviewer');
    expect(say(ev('disconnected', null, 'candidate'))).toBe('The candidate left the pad');
    expect(say(ev('connected', { name: '' }, null))).toBe('Someone opened the pad');
  });

  test('languages by their display name', () => {
    expect(say(ev('session_created', { language: 'python' }))).toBe('Session created (Python)');
    expect(say(ev('language_changed', { to: 'javascript' }))).toBe('Language changed to JavaScript');
    expect(say(ev('language_changed', { to: 42 }))).toBe('Language changed');
  });

  test('code runs with their outcome and duration', () => {
    expect(say(ev('code_run', { status: 'timeout', duration_ms: 5000 }))).toBe('Code run: timed out, 5.00 s');
    expect(say(ev('code_run', { status: 'ok', duration_ms: 12 }))).toBe('Code run: ok, 12 ms');
    expect(say(ev('code_run', {}))).toBe('Code run');
  });

  test('test runs count passes and failures, and mark hidden tests', () => {
    const e = ev('tests_run', { language: 'python', passed: 1, failed: 1, results: [{ name: 'basic', passed: true }, { name: 'edge', passed: false, hidden: true }] });
    expect(say(e)).toBe('Tests in Python: 1 passed, 1 failed — ✓ basic, ✗ edge (hidden)');
  });

  test('run settings, pastes, focus and a moved workspace', () => {
    expect(say(ev('policy_changed', { execution_enabled: false, time_limit_seconds: 10 }))).toBe('Run settings: candidate runs off, 10 s limit');
    expect(say(ev('policy_changed', {}))).toBe('Run settings changed');
    expect(say(ev('large_paste', { chars: 1200 }))).toBe('Large paste into the editor (1200 characters)');
    expect(say(ev('focus_lost', { name: 'Ada', duration_ms: 2500 }, 'candidate'))).toBe("Ada's window lost focus for 2.50 s");
    expect(say(ev('workspace_moved', { from: 'a', to: 'b', files_restored: 1 }))).toBe('Workspace moved from node a to node b (its node stopped answering): app restarted, 1 edited file restored');
    expect(say(ev('chaos_checks', { passed: 2, failed: 1 }))).toBe('Recovery checks: 2 of 3 passed');
  });

  test('an event this version does not know still reads as words', () => {
    expect(say(ev('app_restarted'))).toBe('App restarted');
  });
});

describe('timeline filters and tones', () => {
  test('each kind falls under its filter; unknown kinds under Other', () => {
    expect(categoryOf('joined')).toBe('people');
    expect(categoryOf('paste')).toBe('code');
    expect(categoryOf('policy_changed')).toBe('settings');
    expect(categoryOf('session_ended')).toBe('session');
    expect(categoryOf('something_new')).toBe('other');
  });

  test('problems stand out: failed runs and tests are bad, passing ones ok', () => {
    expect(toneOf(ev('code_run', { status: 'ok' }))).toBe('ok');
    expect(toneOf(ev('code_run', { status: 'error' }))).toBe('bad');
    expect(toneOf(ev('code_run', { status: 'stopped' }))).toBe('warn');
    expect(toneOf(ev('tests_run', { failed: 0 }))).toBe('ok');
    expect(toneOf(ev('tests_run', { failed: 2 }))).toBe('bad');
    expect(toneOf(ev('chaos_checks', { failed: 1 }))).toBe('bad');
    expect(toneOf(ev('session_ended'))).toBe('warn');
    expect(toneOf(ev('paste'))).toBe('warn');
    expect(toneOf(ev('joined'))).toBe('plain');
  });
});
