import { useEffect, useId, useRef, type ReactNode } from 'react';
import { Spinner } from './Spinner';

interface Props {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  busy?: boolean;
  error?: string | null;
  onConfirm: () => void;
  onCancel: () => void;
  testId?: string;
  /** data-testid of the confirm button (default `confirm`). */
  confirmTestId?: string;
}

/** A modal confirmation (native <dialog>: focus stays inside, Escape cancels). Cancel has the focus. */
export function ConfirmDialog({ open, title, children, confirmLabel, busy, error, onConfirm, onCancel, testId, confirmTestId = 'confirm' }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const bodyId = useId();

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    else if (!open && d.open) d.close();
  }, [open]);

  return (
    <dialog
      ref={ref}
      className="confirm-dialog"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      data-testid={testId}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onCancel();
      }}
    >
      {open && (
        <>
          <h2 id={titleId}>{title}</h2>
          <div id={bodyId} className="confirm-body">
            {children}
          </div>
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <div className="confirm-actions">
            <button type="button" className="btn" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
            <button type="button" className="btn btn-danger" onClick={onConfirm} disabled={busy} data-testid={confirmTestId}>
              {busy && <Spinner size={14} />}
              {confirmLabel}
            </button>
          </div>
        </>
      )}
    </dialog>
  );
}
