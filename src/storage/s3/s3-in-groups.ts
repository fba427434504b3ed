/**
 * Runs `work` on every item, `size` at a time, and returns the results in order: how the S3 code
 * bounds the requests it has in flight (the AWS SDK's agent queues the rest, but a read of a
 * whole history must not hold thousands of responses at once).
 */
export async function inGroups<T, R>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = []
  for (let i = 0; i < items.length; i += size) {
    results.push(...(await Promise.all(items.slice(i, i + size).map(work))))
  }
  return results
}
