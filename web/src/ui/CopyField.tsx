import { useEffect, useId, useRef, useState } from 'react';
import { copyText } from './clipboard';

interface Props {
  label: string;
  value: string;
  testId: string;
  hint?: string;
}

/** A read-only text field with a Copy button and a visible, announced confirmation. */
export function CopyField({ label, value, testId, hint }: Props) {
  const id = useId();
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<number | undefined>(undefined);

  useEffect(() => () => window.clearTimeout(timer.current), []);

  const copy = async () => {
    const ok = await copyText(value);
    setState(ok ? 'copied' : 'failed');
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setState('idle'), 2500);
  };

  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <div className="copy-row">
        <input
          id={id}
          type="text"
          readOnly
          value={value}
          data-testid={testId}
          aria-describedby={hint ? `${id}-hint` : undefined}
          onFocus={(e) => e.currentTarget.select()}
          spellCheck={false}
        />
        <button type="button" className="btn" onClick={() => void copy()}>
          {state === 'copied' ? '✓ Copied' : 'Copy'}
          <span className="sr-only"> {label.toLowerCase()}</span>
        </button>
      </div>
      <p className={`copy-status ${state}`} aria-live="polite">
        {state === 'copied' && 'Copied to the clipboard.'}
        {state === 'failed' && 'Could not copy: select the link and press Ctrl+C.'}
      </p>
    </div>
  );
}
