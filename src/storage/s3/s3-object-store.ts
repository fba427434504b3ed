import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import type { Logger } from '../../logging/logger.ts'
import { StorageError } from '../../session/session-errors.ts'
import { type RetryPolicy, withRetries } from './s3-retry-policy.ts'

export interface ListPage {
  keys: string[]
  /** ETag of each key in `keys` (without quotes), in the same order. */
  etags: string[]
  /** When the store last wrote each key in `keys` (its own clock, to the second on most stores). */
  modified: Date[]
  /** Common prefixes, when listed with a delimiter. */
  folders: string[]
  truncated: boolean
}

export interface StoredText {
  text: string
  etag: string | undefined
}

export interface Condition {
  /** Only if no object has the key (`If-None-Match: *`). */
  ifNoneMatch?: boolean
  /** Only if the object still has this ETag (`If-Match`). */
  ifMatch?: string
}

/** An ETag without its quotes: how LIST, GET and PUT answers are compared and sent. */
export const bareEtag = (etag: string): string => etag.replaceAll('"', '')

/** The S3 calls the repository makes, each with retries, 404 as null, failures as StorageError. */
export class S3ObjectStore {
  readonly client: S3Client
  readonly bucket: string
  readonly policy: RetryPolicy
  /** Send `If-None-Match` / `If-Match` on `put` (set once the store is known to honour them). */
  conditionalWrites: boolean

  /** Where retries are said (`tether:storage`). */
  readonly logger: Logger | undefined

  constructor(
    client: S3Client,
    bucket: string,
    policy: RetryPolicy,
    conditionalWrites: boolean,
    logger?: Logger,
  ) {
    this.client = client
    this.bucket = bucket
    this.policy = policy
    this.conditionalWrites = conditionalWrites
    this.logger = logger
  }

  where(key: string): string {
    return `s3://${this.bucket}/${key}`
  }

  #retrying<T>(
    operation: string,
    location: string,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return withRetries(this.policy, operation, location, attempt, this.logger)
  }

  async get(key: string): Promise<StoredText | null> {
    return this.#retrying('read', this.where(key), async (abortSignal) => {
      try {
        const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
          abortSignal,
        })
        const text = (await response.Body?.transformToString('utf-8')) ?? ''
        return { text, etag: response.ETag === undefined ? undefined : bareEtag(response.ETag) }
      } catch (error) {
        // Only a definite "no such key" is absence; every other failure stays a failure.
        if (isNotFound(error)) return null
        throw error
      }
    })
  }

  /** When the store last wrote `key` (a HEAD request), or null if there is no such object. */
  async lastModified(key: string): Promise<Date | null> {
    return this.#retrying('read', this.where(key), async (abortSignal) => {
      try {
        const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), {
          abortSignal,
        })
        return response.LastModified ?? new Date(0)
      } catch (error) {
        if (isNotFound(error)) return null
        throw error
      }
    })
  }

  /**
   * Writes `text` at `key`. With `ifNoneMatch`/`ifMatch` (and `conditionalWrites` on) the store
   * may refuse with 412; that returns false. Stores that ignore the headers always return true.
   */
  async put(key: string, text: string, condition: Condition = {}): Promise<boolean> {
    return (await this.write(key, text, this.conditionalWrites ? condition : {})) !== null
  }

  /**
   * Writes `text` at `key`, sending `condition` whatever `conditionalWrites` says (the
   * conditional-write log, on a store known to honour it). Returns the new ETag (without quotes),
   * or null when the store refused with 412 (or 409 for `ifNoneMatch`: a retried PUT whose first
   * attempt landed meets its own object, which the caller tells apart by reading it).
   */
  async write(
    key: string,
    text: string,
    condition: Condition = {},
    /** Counts the attempts made: a 412 on the first one cannot be our own earlier PUT. */
    attempts: { count: number } = { count: 0 },
  ): Promise<string | null> {
    const guard = {
      ...(condition.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
      // Without quotes: Ceph 16 compares the bare ETag; AWS S3 accepts both forms.
      ...(condition.ifMatch === undefined ? {} : { IfMatch: bareEtag(condition.ifMatch) }),
    }
    return this.#retrying('write', this.where(key), async (abortSignal) => {
      attempts.count++
      try {
        const response = await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: text,
            ContentType: 'application/json',
            ...guard,
          }),
          { abortSignal },
        )
        return bareEtag(response.ETag ?? '')
      } catch (error) {
        if (statusOf(error) === 412) return null
        if (statusOf(error) === 409 && condition.ifNoneMatch) return null
        throw error
      }
    })
  }

  /**
   * Copies `source` to `target` inside the bucket, on the store's side (nothing is uploaded).
   * False if there is no `source` (the caller then writes the bytes it has).
   */
  async copy(source: string, target: string): Promise<boolean> {
    return this.#retrying('write', this.where(target), async (abortSignal) => {
      try {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: target,
            // bucket/key, each path segment URL-encoded (s3rver reads an encoded '/' as part of
            // the bucket name; AWS and Ceph accept either).
            CopySource: [this.bucket, ...source.split('/')].map(encodeURIComponent).join('/'),
          }),
          { abortSignal },
        )
        return true
      } catch (error) {
        if (isNotFound(error)) return false
        throw error
      }
    })
  }

  /** One page of keys under `prefix`, in key order, after `startAfter`. */
  async list(
    prefix: string,
    options: { startAfter?: string; maxKeys?: number; delimiter?: string } = {},
  ): Promise<ListPage> {
    return this.#retrying('list', this.where(prefix), async (abortSignal) => {
      const response = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(options.startAfter === undefined ? {} : { StartAfter: options.startAfter }),
          ...(options.maxKeys === undefined ? {} : { MaxKeys: options.maxKeys }),
          ...(options.delimiter === undefined ? {} : { Delimiter: options.delimiter }),
        }),
        { abortSignal },
      )
      const contents = (response.Contents ?? []).filter((item) => item.Key !== undefined)
      return {
        keys: contents.map((item) => item.Key as string),
        etags: contents.map((item) => bareEtag(item.ETag ?? '')),
        modified: contents.map((item) => item.LastModified ?? new Date(0)),
        folders: (response.CommonPrefixes ?? []).flatMap((item) => (item.Prefix ? [item.Prefix] : [])),
        truncated: response.IsTruncated === true,
      }
    })
  }

  /** Every key under `prefix`, page by page (pages follow the last key, never a server token). */
  async *listAll(prefix: string, startAfter?: string, maxKeys?: number): AsyncGenerator<string[]> {
    let after = startAfter
    for (;;) {
      const page = await this.list(prefix, {
        ...(after === undefined ? {} : { startAfter: after }),
        ...(maxKeys === undefined ? {} : { maxKeys }),
      })
      if (page.keys.length > 0) yield page.keys
      const last = page.keys.at(-1)
      if (!page.truncated || last === undefined) return
      after = last
    }
  }

  /** Deletes keys in batches of 1,000 (the DeleteObjects limit); deleting an absent key succeeds. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000)
      const first = batch[0] ?? ''
      const response = await this.#retrying('delete', this.where(first), (abortSignal) =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
          { abortSignal },
        ),
      )
      const failed = response.Errors?.[0]
      if (failed) {
        throw new StorageError('delete', this.where(failed.Key ?? first), {
          cause: new Error(`${failed.Code ?? 'error'}: ${failed.Message ?? ''}`),
        })
      }
    }
  }
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode
  return typeof status === 'number' ? status : undefined
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name
  // A missing bucket is a misconfiguration, never an empty session.
  if (name === 'NoSuchBucket') return false
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404
}
