import { randomBytes } from 'node:crypto'
import type { S3Client } from '@aws-sdk/client-s3'
import { StorageError } from '../../session/session-errors.ts'
import type { S3ObjectStore } from './s3-object-store.ts'

/** Probe results per client, bucket and prefix: one probe per process for each store location. */
const remembered = new WeakMap<S3Client, Map<string, Promise<boolean>>>()

/**
 * Whether the store refuses `If-None-Match: *` on a key that exists (AWS S3 since August 2024,
 * R2, MinIO, Ceph RGW do; s3rver and older stores ignore it). Four requests at most, made once per
 * client, bucket and prefix, under the prefix (so prefix isolation holds): create a probe key
 * with the condition, try again, read it back where that was refused, delete it. A store that rejects the header outright counts as
 * not enforcing; a network failure is thrown (the probe is retried by the next caller).
 */
export function storeEnforcesConditionalWrites(store: S3ObjectStore, prefix: string): Promise<boolean> {
  let byLocation = remembered.get(store.client)
  if (byLocation === undefined) {
    byLocation = new Map()
    remembered.set(store.client, byLocation)
  }
  const location = `${store.bucket}\n${prefix}`
  let probe = byLocation.get(location)
  if (probe === undefined) {
    probe = runProbe(store, prefix)
    byLocation.set(location, probe)
    probe.catch(() => byLocation.delete(location))
  }
  return probe
}

async function runProbe(store: S3ObjectStore, prefix: string): Promise<boolean> {
  const key = `${prefix}probes/conditional-write-${randomBytes(8).toString('hex')}`
  try {
    // The first PUT makes the key exist (its answer does not matter: a 412 there can only meet our
    // own retried attempt). The second must be refused by a store that enforces the header.
    await store.write(key, 'probe\n', { ifNoneMatch: true })
    if ((await store.write(key, 'probe again\n', { ifNoneMatch: true })) !== null) return false
    // A refusal is believed only if the object really kept the first bytes: a 409 or a 412 that a
    // proxy or a store's quirk produced, while the PUT was applied, must never put a log that
    // relies on refusals onto a store that does not make them (one GET, once per process).
    return (await store.get(key))?.text === 'probe\n'
  } catch (error) {
    // 400/501 "not implemented" and the like: the header is not supported, so not enforced.
    const cause = error instanceof StorageError ? error.cause : error
    const status = (cause as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode
    if (status === 400 || status === 501) return false
    throw error
  } finally {
    await store.deleteMany([key])
  }
}
