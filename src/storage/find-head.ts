/**
 * Finds the first free index of a gap-free sequence (indexes [0, head) exist, none after), given
 * `from`, an index known to be at or below the head. Galloping then bisection: O(log n) probes,
 * so restoring a long session never lists its whole directory or prefix.
 */
export async function findHead(from: number, exists: (index: number) => Promise<boolean>): Promise<number> {
  if (!(await exists(from))) {
    // The hint may be stale-high only if messages vanished, which the format never does; but a
    // deleted and re-created session reuses paths, so walk down when `from` is not taken.
    if (from === 0 || (await exists(from - 1))) return from
    return findHead(0, exists)
  }
  let low = from // exists
  let step = 1
  let high = from + 1
  while (await exists(high)) {
    low = high
    step *= 2
    high = low + step
  }
  // exists(low) and !exists(high): bisect.
  while (high - low > 1) {
    const middle = low + Math.floor((high - low) / 2)
    if (await exists(middle)) low = middle
    else high = middle
  }
  return high
}
