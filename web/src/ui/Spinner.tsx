export function Spinner({ size = 16 }: { size?: number }) {
  return <span className="spinner" style={{ width: size, height: size }} aria-hidden="true" />;
}

/** A whole-page loading state: IDE-shaped skeleton so the page does not jump when it arrives. */
export function PageLoading({ label }: { label: string }) {
  return (
    <div className="ide ide-skeleton">
      <header className="ide-header">
        <span className="skeleton-bar" style={{ width: 180 }} />
        <span className="skeleton-bar" style={{ width: 90 }} />
      </header>
      <div className="ide-body">
        <div className="page-loading" role="status" aria-live="polite">
          <Spinner size={28} />
          <span>{label}</span>
        </div>
      </div>
      <footer className="status-bar" />
    </div>
  );
}
