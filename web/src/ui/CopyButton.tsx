import { useEffect, useRef, useState } from 'react';
import { copyText } from './clipboard';

/** A compact button that copies a value and says so. */
export function CopyButton({ value, label, title }: { value: string; label: string; title?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const copy = async () => {
    setState((await copyText(value)) ? 'copied' : 'failed');
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setState('idle'), 2500);
  };

  return (
    <button type="button" className="btn btn-small" onClick={() => void copy()} title={title}>
      <span aria-live="polite">{state === 'copied' ? '✓ Copied' : state === 'failed' ? 'Copy failed' : label}</span>
    </button>
  );
}
