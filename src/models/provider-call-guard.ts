/**
 * Runs an SDK call and reads an SDK stream, translating whatever the SDK throws with `mapError`.
 * Only the SDK's own failures pass through the mapper: errors raised while Tether translates the
 * events happen outside these wrappers and keep their own type.
 */
export async function guardCall<T>(
  mapError: (error: unknown) => unknown,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw mapError(error)
  }
}

export async function* guardIteration<T>(
  mapError: (error: unknown) => unknown,
  source: AsyncIterable<T>,
): AsyncGenerator<T> {
  try {
    for await (const item of source) yield item
  } catch (error) {
    throw mapError(error)
  }
}
