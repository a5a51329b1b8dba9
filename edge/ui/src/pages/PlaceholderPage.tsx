/** A path that names no page. */
import { EmptyState } from '../ui.tsx';

export function PlaceholderPage({ page }: { page: string }) {
  return (
    <EmptyState icon="?" title="Page not found">
      There is no page called “{page}”.
    </EmptyState>
  );
}
