interface Props {
  title: string;
  message: string;
  action?: { label: string; href: string };
  onRetry?: () => void;
}

/** A full-page, plain-language error with a way forward. */
export function ErrorScreen({ title, message, action, onRetry }: Props) {
  return (
    <main className="center-page">
      <section className="card error-card" role="alert" aria-labelledby="error-title">
        <h1 id="error-title">{title}</h1>
        <p>{message}</p>
        <div className="row">
          {onRetry && (
            <button type="button" className="btn btn-primary" onClick={onRetry}>
              Try again
            </button>
          )}
          {action && (
            <a className={onRetry ? 'btn' : 'btn btn-primary'} href={action.href}>
              {action.label}
            </a>
          )}
        </div>
      </section>
    </main>
  );
}
