// One confirmation for consequential actions on someone (remove from stage, kick, ban, hand over
// the host role): a sentence, an optional reason shown to them, a confirm button that takes the
// focus, and Cancel — also on Escape.
import { type KeyboardEvent, type ReactNode, useId } from 'react';

export function ConfirmDialog(props: {
  text: ReactNode;
  confirmLabel: string;
  busyLabel: string;
  cancelLabel?: string;
  danger?: boolean;
  /** Given, the dialog asks for an optional reason (at most 200 characters). */
  reason?: { value: string; onChange: (r: string) => void };
  busy: boolean;
  /** A data-testid for the confirm button. */
  confirmTestId?: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ids = { text: useId(), reason: useId() };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      props.onCancel();
    }
  };
  return (
    <div className="alert alert-warn stage-confirm" role="alertdialog" aria-labelledby={ids.text} onKeyDown={onKeyDown}>
      <p id={ids.text}>{props.text}</p>
      {props.reason && (
        <div className="field">
          <label htmlFor={ids.reason}>Reason (optional, shown to them)</label>
          <input
            id={ids.reason}
            type="text"
            maxLength={200}
            value={props.reason.value}
            onChange={(e) => props.reason?.onChange(e.target.value)}
          />
        </div>
      )}
      <div className="row">
        <button
          type="button"
          className={`btn ${props.danger === false ? 'btn-primary' : 'btn-danger'}`}
          disabled={props.busy}
          onClick={props.onConfirm}
          data-testid={props.confirmTestId}
          autoFocus
        >
          {props.busy ? props.busyLabel : props.confirmLabel}
        </button>
        <button type="button" className="btn" disabled={props.busy} onClick={props.onCancel}>
          {props.cancelLabel ?? 'Cancel'}
        </button>
      </div>
    </div>
  );
}
