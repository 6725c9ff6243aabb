import { useSession } from '../core/SessionContext';
import { Markdown } from '../editor/markdown';
import { Spinner } from '../ui/Spinner';
import { useLoad } from '../ui/useLoad';

/** The exercise's notes for the interviewer: what to look for, the planted weaknesses, questions. */
export function ExerciseNotes() {
  const { api } = useSession();
  const { data: notes, error } = useLoad('exercise', () => api.workspace.exercise(), {
    errorText: (e) => (e instanceof Error && e.message) || 'Could not load the exercise notes.',
  });
  if (error) return <p className="muted" role="alert">{error}</p>;
  if (!notes)
    return (
      <p className="muted" role="status">
        <Spinner /> Loading the exercise notes
      </p>
    );
  return (
    <div className="exercise-notes" data-testid="exercise-notes">
      <p className="exercise-notes-title">{notes.title}</p>
      {notes.interviewer_notes ? <Markdown text={notes.interviewer_notes} highlight={false} /> : <p className="muted">This exercise has no notes.</p>}
    </div>
  );
}
