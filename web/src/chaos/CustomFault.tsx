import { useId, useState, type FormEvent } from 'react';
import type { FaultKind, FaultSpec } from '../api/chaos';
import { Spinner } from '../ui/Spinner';

const KINDS: { id: FaultKind; label: string }[] = [
  { id: 'latency', label: 'Latency' },
  { id: 'error', label: 'Error status' },
  { id: 'reset', label: 'Connection reset' },
  { id: 'timeout', label: 'Timeout' },
  { id: 'bandwidth', label: 'Bandwidth limit' },
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

interface Props {
  disabled: boolean;
  busy: boolean;
  error: string | null;
  /** Resolves true when the fault was added. */
  onAdd: (fault: FaultSpec) => Promise<boolean>;
}

/** Builds a network fault by hand (`POST /chaos/faults`): kind, its parameters, which requests, how often. */
export function CustomFault({ disabled, busy, error, onAdd }: Props) {
  const [open, setOpen] = useState(true);
  const [kind, setKind] = useState<FaultKind>('latency');
  const [latency, setLatency] = useState('800');
  const [jitter, setJitter] = useState('200');
  const [status, setStatus] = useState('500');
  const [timeout, setTimeoutMs] = useState('5000');
  const [bps, setBps] = useState('1024');
  const [methods, setMethods] = useState<string[]>([]);
  const [path, setPath] = useState('*');
  const [probability, setProbability] = useState('1');
  const [problem, setProblem] = useState<string | null>(null);
  const id = useId();
  const f = (name: string) => `${id}-${name}`;

  const num = (v: string, name: string, min: number, max: number): number | string => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) return `${name} must be between ${min} and ${max}.`;
    return n;
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const fault: FaultSpec = { kind, methods, path: path.trim() || '*', probability: 1 };
    const checks: [keyof FaultSpec, string, string, number, number][] = [['probability', probability, 'Probability', 0, 1]];
    if (kind === 'latency') checks.push(['latency_ms', latency, 'Latency', 0, 600_000], ['jitter_ms', jitter, 'Jitter', 0, 600_000]);
    if (kind === 'error') checks.push(['status', status, 'Status', 100, 599]);
    if (kind === 'timeout') checks.push(['timeout_ms', timeout, 'Timeout', 0, 600_000]);
    if (kind === 'bandwidth') checks.push(['bytes_per_second', bps, 'Bytes per second', 1, 1e12]);
    for (const [key, v, name, min, max] of checks) {
      const n = num(v, name, min, max);
      if (typeof n === 'string') {
        setProblem(n);
        return;
      }
      (fault as unknown as Record<string, number>)[key] = key === 'probability' ? n : Math.round(n);
    }
    setProblem(null);
    await onAdd(fault);
  };

  const toggleMethod = (m: string) => setMethods((list) => (list.includes(m) ? list.filter((x) => x !== m) : [...list, m]));
  const shown = problem ?? error;

  return (
    <section className="chaos-custom" data-testid="chaos-custom" aria-labelledby={f('h')}>
      <h3 id={f('h')}>
        <button type="button" className="chaos-custom-toggle" aria-expanded={open} aria-controls={f('form')} onClick={() => setOpen((o) => !o)}>
          <svg viewBox="0 0 16 16" width="10" height="10" aria-hidden="true" className={open ? 'chev open' : 'chev'}>
            <path d="M5 3l5 5-5 5" fill="none" stroke="currentColor" strokeWidth="1.8" />
          </svg>
          Custom fault
        </button>
      </h3>
      <form id={f('form')} className="chaos-form" onSubmit={(e) => void submit(e)} hidden={!open}>
        <div className="chaos-field">
          <label htmlFor={f('kind')}>Kind</label>
          <select id={f('kind')} value={kind} onChange={(e) => setKind(e.target.value as FaultKind)} data-testid="chaos-custom-kind">
            {KINDS.map((k) => (
              <option key={k.id} value={k.id}>
                {k.label}
              </option>
            ))}
          </select>
        </div>
        {kind === 'latency' && (
          <div className="chaos-row">
            <NumberField id={f('latency')} label="Latency (ms)" value={latency} onChange={setLatency} testId="chaos-custom-latency" />
            <NumberField id={f('jitter')} label="Jitter (ms)" value={jitter} onChange={setJitter} testId="chaos-custom-jitter" />
          </div>
        )}
        {kind === 'error' && <NumberField id={f('status')} label="HTTP status" value={status} onChange={setStatus} testId="chaos-custom-status" />}
        {kind === 'timeout' && (
          <NumberField id={f('timeout')} label="Hang for (ms), then drop" value={timeout} onChange={setTimeoutMs} testId="chaos-custom-timeout" />
        )}
        {kind === 'bandwidth' && <NumberField id={f('bps')} label="Bytes per second" value={bps} onChange={setBps} testId="chaos-custom-bps" />}
        {kind === 'reset' && <p className="chaos-note">The connection is dropped without an answer.</p>}
        <fieldset className="chaos-methods">
          <legend>Methods (none = any)</legend>
          {METHODS.map((m) => (
            <label key={m} className="chaos-check">
              <input type="checkbox" checked={methods.includes(m)} onChange={() => toggleMethod(m)} data-testid={`chaos-custom-method-${m}`} />
              {m}
            </label>
          ))}
        </fieldset>
        <div className="chaos-row">
          <div className="chaos-field grow">
            <label htmlFor={f('path')}>Path pattern</label>
            <input
              id={f('path')}
              type="text"
              value={path}
              onChange={(e) => setPath(e.target.value)}
              placeholder="/orders*"
              spellCheck={false}
              autoComplete="off"
              data-testid="chaos-custom-path"
              aria-describedby={f('path-hint')}
            />
          </div>
          <NumberField id={f('prob')} label="Probability" value={probability} onChange={setProbability} step="0.05" min="0" max="1" testId="chaos-custom-probability" />
        </div>
        <p className="chaos-hint" id={f('path-hint')}>
          <code>*</code> matches any characters, e.g. <code>/orders*</code>. Probability 0 to 1.
        </p>
        {shown && (
          <p className="chaos-error" role="alert" data-testid="chaos-error">
            {shown}
          </p>
        )}
        <button type="submit" className="btn btn-small btn-primary" disabled={disabled} data-testid="chaos-custom-add">
          {busy && <Spinner size={10} />}
          Add fault
        </button>
      </form>
    </section>
  );
}

function NumberField(props: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  testId: string;
  step?: string;
  min?: string;
  max?: string;
}) {
  return (
    <div className="chaos-field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="number"
        inputMode="decimal"
        value={props.value}
        step={props.step ?? '1'}
        min={props.min ?? '0'}
        max={props.max}
        onChange={(e) => props.onChange(e.target.value)}
        data-testid={props.testId}
      />
    </div>
  );
}
