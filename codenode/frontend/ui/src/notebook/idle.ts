// Work done in the browser's idle moments, a slice at a time, so the page stays fluid.

interface Deadline {
  timeRemaining(): number;
}

const later: (callback: (deadline: Deadline) => void) => void =
  "requestIdleCallback" in window
    ? (callback) => window.requestIdleCallback(callback, { timeout: 200 })
    : (callback) => window.setTimeout(() => callback({ timeRemaining: () => 8 }), 16);

/** Call *step* on each item in idle slices (at least one item a slice); *done* at the end. */
export function eachWhenIdle<T>(items: () => T[], step: (item: T) => void, done: () => void): void {
  let index = 0;
  const slice = (deadline: Deadline) => {
    const list = items(); // read afresh: the list may change between slices
    if (index >= list.length) return done();
    do step(list[index++]);
    while (index < list.length && deadline.timeRemaining() > 2);
    if (index < list.length) later(slice);
    else done();
  };
  if (items().length) later(slice);
  else done();
}
