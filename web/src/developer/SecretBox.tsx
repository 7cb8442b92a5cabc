// A secret shown once (a new API key, a webhook's signing secret): the warning, the value in a
// read-only field that takes the focus as soon as the box appears, Copy, and Done to hide it for
// good (the secret is not kept anywhere else on the page).
import { type ReactNode, useEffect, useId, useRef, useState } from 'react';

export function SecretBox(props: {
  title: string;
  /** The field's label ("API key secret"). */
  label: string;
  secret: string;
  /** More to say under the warning: what the secret is for, how to use it. */
  children?: ReactNode;
  testId?: string;
  onDone: () => void;
}) {
  const ids = { title: useId(), field: useId(), warn: useId() };
  const field = useRef<HTMLInputElement>(null);
  const [copy, setCopy] = useState<'copied' | 'failed' | null>(null);

  // Keyboard and screen-reader users land on the secret (selected, ready to copy).
  useEffect(() => {
    setCopy(null);
    field.current?.focus();
    field.current?.select();
  }, [props.secret]);

  async function copyIt() {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(props.secret);
      setCopy('copied');
    } catch {
      setCopy('failed');
      field.current?.focus();
      field.current?.select();
    }
  }

  return (
    <section className="secret-box alert alert-warn" aria-labelledby={ids.title} data-testid={props.testId}>
      <h3 id={ids.title}>{props.title}</h3>
      <p id={ids.warn} className="secret-warn">
        <strong>Copy it now: you will not see it again.</strong>
      </p>
      {props.children}
      <div className="field">
        <label htmlFor={ids.field}>{props.label}</label>
        <div className="row secret-row">
          <input
            id={ids.field}
            ref={field}
            type="text"
            readOnly
            className="mono"
            spellCheck={false}
            autoComplete="off"
            autoCapitalize="off"
            aria-describedby={ids.warn}
            value={props.secret}
            onFocus={(e) => e.currentTarget.select()}
            data-testid={props.testId ? `${props.testId}-value` : undefined}
          />
          <button type="button" className="btn btn-primary" onClick={() => void copyIt()}>
            Copy<span className="visually-hidden"> the {props.label.toLowerCase()}</span>
          </button>
        </div>
        {copy === 'copied' && (
          <span className="hint" role="status">
            Copied. Keep it somewhere safe, such as your server's secret store.
          </span>
        )}
        {copy === 'failed' && (
          <span className="hint" role="status">
            This browser did not let the page copy it: it is selected above, copy it yourself (Ctrl+C or ⌘C).
          </span>
        )}
      </div>
      <button type="button" className="btn btn-small" onClick={props.onDone}>
        Done
      </button>
    </section>
  );
}
