// Heading folds: a folded heading hides the cells below it up to the next heading of the same
// or a shallower level (or the end); a heading inside a folded section is hidden with it.

export interface Foldable {
  readonly isHeading: boolean;
  readonly level: number;
  readonly folded: boolean;
}

/** Which cells are hidden, and how many each folded heading hides. */
export function folds<T extends Foldable>(cells: T[]): { hidden: Set<T>; counts: Map<T, number> } {
  const hidden = new Set<T>();
  const counts = new Map<T, number>();
  let owner: T | null = null;
  for (const cell of cells) {
    if (owner && cell.isHeading && cell.level <= owner.level) owner = null;
    if (owner) {
      hidden.add(cell);
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    } else if (cell.isHeading && cell.folded) owner = cell;
  }
  return { hidden, counts };
}
