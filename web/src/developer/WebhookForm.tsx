// The fields of a webhook endpoint, for adding one and for editing one: its URL, a description,
// and which events it gets ("All events", families, or single types typed in).
import { type FormEvent, type ReactNode, useId } from 'react';
import { ErrorMessage } from '../components/ui';
import {
  DESCRIPTION_MAX,
  EVENT_FAMILIES,
  type WebhookField,
  type WebhookForm as Form,
  toggleAll,
  toggleFamily,
} from '../lib/developer';

export function WebhookForm(props: {
  form: Form;
  onChange: (form: Form) => void;
  errors: Partial<Record<WebhookField, string>>;
  /** An error about the whole form. */
  error: string | null;
  busy: boolean;
  submitLabel: string;
  busyLabel: string;
  /** The form's accessible name. */
  label: string;
  testId?: string;
  onSubmit: (e: FormEvent, focus: (field: WebhookField) => void) => void;
  /** More buttons beside submit (Cancel). */
  extra?: ReactNode;
  /** Focus the URL field when the form appears (the edit form). */
  autoFocus?: boolean;
}) {
  const base = useId();
  const ids = { url: `${base}-url`, description: `${base}-description`, filters: `${base}-filters`, all: `${base}-all`, types: `${base}-types` };
  const { form, errors } = props;
  const sel = form.filters;

  const focus = (field: WebhookField) => {
    document.getElementById(field === 'filters' ? ids.all : ids[field])?.focus();
  };
  const describe = (field: WebhookField, hint?: string) => [errors[field] ? `${ids[field]}-error` : '', hint ?? ''].filter(Boolean).join(' ') || undefined;
  const fieldError = (field: WebhookField) =>
    errors[field] ? (
      <span className="field-error" id={`${ids[field]}-error`} data-testid={`webhook-${field}-error`}>
        {errors[field]}
      </span>
    ) : null;

  return (
    <form className="dev-form" aria-label={props.label} data-testid={props.testId} noValidate onSubmit={(e) => props.onSubmit(e, focus)}>
      {props.error && <ErrorMessage message={props.error} />}
      <div className="field">
        <label htmlFor={ids.url}>Endpoint URL</label>
        <input
          id={ids.url}
          type="url"
          inputMode="url"
          autoComplete="off"
          autoCapitalize="off"
          spellCheck={false}
          className="mono"
          required
          placeholder="https://example.com/stagecast-hook"
          autoFocus={props.autoFocus}
          value={form.url}
          aria-invalid={errors.url ? true : undefined}
          aria-describedby={describe('url', `${ids.url}-hint`)}
          onChange={(e) => props.onChange({ ...form, url: e.target.value })}
        />
        {fieldError('url')}
        <span className="hint" id={`${ids.url}-hint`}>
          Where stagecast POSTs each event, signed. An address reachable from the internet: private and loopback addresses are refused.
        </span>
      </div>
      <div className="field">
        <label htmlFor={ids.description}>Description (optional)</label>
        <input
          id={ids.description}
          type="text"
          maxLength={DESCRIPTION_MAX}
          value={form.description}
          aria-invalid={errors.description ? true : undefined}
          aria-describedby={describe('description')}
          onChange={(e) => props.onChange({ ...form, description: e.target.value })}
        />
        {fieldError('description')}
      </div>
      <fieldset className="field dev-fieldset" aria-describedby={describe('filters', `${ids.filters}-hint`)}>
        <legend>Events to send</legend>
        <span className="hint" id={`${ids.filters}-hint`}>
          What happens in the events you host. Choose all of it, or whole families.
        </span>
        {fieldError('filters')}
        <ul className="check-list">
          <li className="check">
            <input id={ids.all} type="checkbox" checked={sel.all} onChange={(e) => props.onChange({ ...form, filters: toggleAll(sel, e.target.checked) })} />
            <span className="check-text">
              <label htmlFor={ids.all}>All events</label>
              <span className="hint">Including types added later.</span>
            </span>
          </li>
          {EVENT_FAMILIES.map((f, i) => {
            const id = `${ids.filters}-${i}`;
            return (
              <li key={f.value} className="check">
                <input
                  id={id}
                  type="checkbox"
                  value={f.value}
                  checked={!sel.all && sel.families.includes(f.value)}
                  aria-describedby={`${id}-help`}
                  onChange={(e) => props.onChange({ ...form, filters: toggleFamily(sel, f.value, e.target.checked) })}
                />
                <span className="check-text">
                  <label htmlFor={id}>
                    {f.label} <span className="mono">{f.value}</span>
                  </label>
                  <span className="hint" id={`${id}-help`}>
                    {f.help}
                  </span>
                </span>
              </li>
            );
          })}
        </ul>
        <div className="field dev-types">
          <label htmlFor={ids.types}>Single event types (optional)</label>
          <input
            id={ids.types}
            type="text"
            autoComplete="off"
            autoCapitalize="off"
            spellCheck={false}
            className="mono"
            placeholder="event.live, recording.ready"
            value={sel.all ? '' : sel.types}
            aria-describedby={`${ids.types}-hint`}
            onChange={(e) => {
              const types = e.target.value;
              props.onChange({ ...form, filters: { ...sel, types, all: sel.all && !types.trim() } });
            }}
          />
          <span className="hint" id={`${ids.types}-hint`}>
            Besides the families above, separated by commas, such as event.live, event.ended, stage.banned, recording.ready or broadcast.failed.
          </span>
        </div>
      </fieldset>
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={props.busy}>
          {props.busy ? props.busyLabel : props.submitLabel}
        </button>
        {props.extra}
      </div>
    </form>
  );
}
