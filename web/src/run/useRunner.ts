// Runs the pad's code in this browser and shares the run live through the `runs` document.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type * as Y from 'yjs';
import type { Policy } from '../api/sessions';
import { useSession } from '../core/SessionContext';
import type { Execution, Phase } from './engines';
import type { Chunk } from './protocol';
import { cannotRunReason, engineFor } from './registry';
import { addRun, closeOrphanRuns, readOutput, readRun, RunWriter, type RunInfo, type RunMap, type RunsDoc } from './runsDoc';

const NO_RUNS: RunMap[] = [];

export interface ActiveRun {
  id: string;
  phase: Phase;
}

export interface Runner {
  runs: RunInfo[];
  /** Output of a run by id, chunk by chunk as written; a new function whenever the runs change. */
  outputOf: (id: string) => Chunk[];
  /** This browser's run in progress. */
  active: ActiveRun | null;
  canRun: boolean;
  /** Why Run is disabled, when it is. */
  blocked: string | null;
  run: () => void;
  stop: () => void;
  input: (line: string) => void;
  endInput: () => void;
  /** The language's input is given before the run, in a stdin box (server-side languages). */
  stdinUpfront: boolean;
  stdin: string;
  setStdin: (text: string) => void;
}

interface Options {
  language: string;
  languageName: string;
  code: Y.Text | null;
  policy: Policy;
  runsDoc: RunsDoc | null;
  synced: boolean;
  /** The session ended: nothing runs any more (the final runs stay visible). */
  ended: boolean;
}

function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function useRunner({ language, languageName, code, policy, runsDoc, synced, ended }: Options): Runner {
  const { api, participant } = useSession();
  /** The runs as of the last change of the document (a new array on every change). */
  const [snapshot, setSnapshot] = useState<RunMap[]>([]);
  const [active, setActive] = useState<ActiveRun | null>(null);
  const [stdin, setStdin] = useState('');
  const exec = useRef<Execution | null>(null);
  const activeId = useRef<string | null>(null);
  const writerRef = useRef<RunWriter | null>(null);

  // Re-render on document changes, at most once per frame.
  useEffect(() => {
    if (!runsDoc) return;
    let frame = 0;
    const bump = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setSnapshot(runsDoc.runs.toArray());
      });
    };
    runsDoc.runs.observeDeep(bump);
    bump();
    return () => {
      runsDoc.runs.unobserveDeep(bump);
      cancelAnimationFrame(frame);
    };
  }, [runsDoc]);

  useEffect(() => {
    if (runsDoc && synced) closeOrphanRuns(runsDoc, participant.id, activeId.current);
  }, [runsDoc, synced, participant.id]);

  // Engines that start cheaply (the JavaScript sandbox) get ready before the first run.
  useEffect(() => {
    engineFor(language)?.warm?.();
  }, [language]);

  const current = runsDoc ? snapshot : NO_RUNS;
  const runs = current.map(readRun);
  // A new function whenever the document changes, so that what it returned may be memoized.
  const outputOf = useCallback(
    (id: string) => {
      const m = current.find((r) => r.get('id') === id);
      return m ? readOutput(m, false) : [];
    },
    [current],
  );

  const executionOff = participant.role === 'candidate' && !policy.execution_enabled;
  const blocked = ended
    ? 'The session has ended.'
    : executionOff
      ? 'Code execution is turned off by the interviewer.'
      : (cannotRunReason(language, languageName) ?? (!runsDoc ? 'Connecting…' : null));
  const canRun = blocked === null && active === null;

  // What run() reads when pressed: the values of the last render (run keeps one identity).
  const state = useRef({ canRun, language, code, policy, runsDoc, participant, api, stdin });
  useLayoutEffect(() => {
    state.current = { canRun, language, code, policy, runsDoc, participant, api, stdin };
  });

  const run = useCallback(() => {
    const s = state.current;
    const engine = engineFor(s.language);
    if (!s.canRun || !s.runsDoc || !s.code || !engine || exec.current) return;
    const id = newRunId();
    const language = s.language;
    const source = s.code.toString();
    const limitMs = s.policy.time_limit_seconds * 1000;
    const map = addRun(s.runsDoc, { id, participant: s.participant, language });
    const writer = new RunWriter(s.runsDoc.doc, map);
    writerRef.current = writer;
    activeId.current = id;
    setActive({ id, phase: 'running' });

    let phase: Phase = 'running';
    const hooks = {
      onPhase: (p: Phase) => {
        if (p === phase) return;
        phase = p;
        setActive({ id, phase: p });
        writer.set({ phase: p });
      },
      onOutput: (chunks: Chunk[]) => writer.append(chunks),
    };
    const execution = engine.execute(id, source, language, limitMs, hooks, { api: s.api, stdin: s.stdin });
    exec.current = execution;

    void execution.done.then((result) => {
      if (result.truncated) writer.markTruncated();
      if (result.message) writer.system(result.message);
      writer.finish(result.status, result.durationMs);
      exec.current = null;
      activeId.current = null;
      writerRef.current = null;
      setActive(null);
      if (engine.recordsOnServer) return;
      // The server refuses (409) a candidate's run while execution is off: nothing to record.
      const now = state.current;
      if (now.participant.role === 'candidate' && !now.policy.execution_enabled) return;
      s.api.session
        .recordRun({
          run_id: id,
          language,
          status: result.status,
          duration_ms: Math.round(result.durationMs),
          output_bytes: writer.outputBytes,
        })
        .catch(() => {
          /* the timeline is best effort: 409 (execution off) or an older server */
        });
    });
  }, []);

  const stop = useCallback(() => exec.current?.stop(), []);

  const input = useCallback((line: string) => {
    if (!exec.current) return;
    writerRef.current?.append([{ stream: 'stdin', text: `${line}\n` }]);
    exec.current.input(line);
  }, []);

  /** End of input (Ctrl+D): a program reading all of stdin gets what was typed so far. */
  const endInput = useCallback(() => {
    if (!exec.current) return;
    writerRef.current?.system('End of input.');
    exec.current.eof();
  }, []);

  // Turning execution off stops a candidate's program that is running.
  useEffect(() => {
    if (executionOff && exec.current) {
      writerRef.current?.system('Code execution was turned off by the interviewer.');
      exec.current.stop();
    }
  }, [executionOff]);

  // Ending the session stops whatever still runs.
  useEffect(() => {
    if (ended && exec.current) {
      writerRef.current?.system('The session ended.');
      exec.current.stop();
    }
  }, [ended]);

  // Ctrl/Cmd+Enter runs, from the editor, the run panel, or nowhere in particular (not from the side
  // panel's own text fields).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target instanceof Element ? e.target : null;
      const here = !target || target === document.body || target.closest('.editor-area') !== null;
      if (here && (e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey && e.key === 'Enter') {
        e.preventDefault();
        e.stopPropagation();
        run();
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [run]);

  // A page that goes away mid-run leaves a finished record behind, not a run that never ends.
  useEffect(() => {
    const onHide = () => {
      if (!exec.current || !writerRef.current) return;
      writerRef.current.system('The page was closed during this run.');
      writerRef.current.finish('stopped', 0);
    };
    window.addEventListener('pagehide', onHide);
    return () => window.removeEventListener('pagehide', onHide);
  }, []);

  const stdinUpfront = engineFor(language)?.wantsStdinUpfront === true;
  return { runs, outputOf, active, canRun, blocked, run, stop, input, endInput, stdinUpfront, stdin, setStdin };
}
