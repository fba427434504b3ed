import type { S3ClientConfig } from '@aws-sdk/client-s3'
import { afterAll, beforeAll } from 'vitest'
import { cephSkipNote, cephUnavailable, useCephCluster } from './ceph-cluster.ts'
import type { S3Credentials, WorkerStore } from './run-session-worker.ts'
import { type S3Proxy, startS3Proxy } from './s3-proxy.ts'
import { S3RVER_CREDENTIALS, startS3Server } from './s3-server.ts'

/** One S3-compatible store the S3 suites run against, started for a test file. */
export interface S3TestTarget {
  endpoint: string
  port: number
  /** For worker processes, which build their own client. */
  credentials: S3Credentials
  clientConfig(endpoint?: string): S3ClientConfig
  createBucket(name?: string): Promise<string>
  stop(): Promise<void>
}

export interface S3TargetKind {
  /** Said in the suite name: which store, and whether it honours conditional writes. */
  name: string
  /** Whether the store refuses `If-None-Match: *` on an existing key (412). */
  conditionalWrites: boolean
  /** Why this target cannot run here (printed in the suite name), or undefined. */
  unavailable: string | undefined
  start(): Promise<S3TestTarget>
}

/**
 * s3rver (ignores conditional writes: the fallback protocol) and a one-node Ceph RGW (enforces
 * them, like AWS S3, R2 and MinIO). Ceph is shared by the whole run; s3rver is one per file.
 */
export const S3_TARGETS: readonly S3TargetKind[] = [
  {
    name: 's3rver',
    conditionalWrites: false,
    unavailable: undefined,
    start: async () => ({ ...(await startS3Server()), credentials: S3RVER_CREDENTIALS }),
  },
  {
    name: `Ceph RGW${cephSkipNote()}`,
    conditionalWrites: true,
    unavailable: cephUnavailable(),
    async start() {
      const cluster = await useCephCluster()
      return {
        endpoint: cluster.endpoint,
        port: Number(new URL(cluster.endpoint).port),
        credentials: cluster.credentials,
        clientConfig: cluster.clientConfig,
        createBucket: cluster.createBucket,
        // The run's shared cluster stops at the end of the run (tests/support/ceph-global-setup.ts).
        stop: async () => undefined,
      }
    },
  },
]

/** What a worker process (a fresh process restoring a session) opens to reach `prefix` of `bucket`. */
export const workerStoreAt = (
  server: Pick<S3TestTarget, 'endpoint' | 'credentials'>,
  bucket: string,
  prefix: string,
): WorkerStore => ({ kind: 's3', endpoint: server.endpoint, bucket, prefix, credentials: server.credentials })

/** Ceph needs ~15 s to start once per run; hooks that may start it get this long. */
export const TARGET_START_TIMEOUT = 150_000

/**
 * Starts `target` before the suite's tests (a fresh bucket each suite) and stops it after; the
 * returned object reads the running server and bucket once started. With `proxy`, a counting and
 * fault-injecting proxy (tests/support/s3-proxy.ts) runs in front of it too.
 */
export function useS3Target(
  target: S3TargetKind,
  options: { proxy?: boolean } = {},
): {
  readonly server: S3TestTarget
  readonly bucket: string
  readonly proxy: S3Proxy
} {
  let server: S3TestTarget | undefined
  let bucket: string | undefined
  let proxy: S3Proxy | undefined
  beforeAll(async () => {
    server = await target.start()
    if (options.proxy) proxy = await startS3Proxy(server.port)
    bucket = await server.createBucket()
  }, TARGET_START_TIMEOUT)
  afterAll(async () => {
    await proxy?.stop()
    await server?.stop()
  })
  return {
    get server() {
      if (server === undefined) throw new Error(`${target.name} has not started`)
      return server
    },
    get bucket() {
      if (bucket === undefined) throw new Error(`${target.name} has no bucket yet`)
      return bucket
    },
    get proxy() {
      if (proxy === undefined) throw new Error(`no proxy in front of ${target.name} (pass { proxy: true })`)
      return proxy
    },
  }
}

/** The `tether` flags and environment that open `s3://bucket/prefix` on a running target. */
export function cliS3Store(server: S3TestTarget, bucket: string, prefix: string) {
  return {
    flags: ['--store', `s3://${bucket}/${prefix}`, '--endpoint', server.endpoint],
    env: {
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    },
  }
}
