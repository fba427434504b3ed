/**
 * Whether two JSON values are equal as stored: object key order and keys whose value is
 * `undefined` do not matter (a message built in memory and the same message parsed back from
 * storage compare equal). Hand-written because the core stays free of Node built-ins.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b)
}

/** JSON with object keys sorted: a store may hand fields back in another order than written. */
export function canonicalJson(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner
    return Object.fromEntries(Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
  })
}
