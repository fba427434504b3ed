import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { StorageError } from '../../session/session-errors.ts'
import { type RetryPolicy, withRetries } from './s3-retry-policy.ts'

export interface ListPage {
  keys: string[]
  /** Common prefixes, when listed with a delimiter. */
  folders: string[]
  truncated: boolean
}

export interface StoredText {
  text: string
  etag: string | undefined
}

/** The five S3 calls the repository makes, each with retries, 404 as null, failures as StorageError. */
export class S3ObjectStore {
  readonly client: S3Client
  readonly bucket: string
  readonly policy: RetryPolicy
  /** Send `If-None-Match` / `If-Match` where a guard is useful (see S3SessionRepositoryOptions). */
  readonly conditionalWrites: boolean

  constructor(client: S3Client, bucket: string, policy: RetryPolicy, conditionalWrites: boolean) {
    this.client = client
    this.bucket = bucket
    this.policy = policy
    this.conditionalWrites = conditionalWrites
  }

  where(key: string): string {
    return `s3://${this.bucket}/${key}`
  }

  async get(key: string): Promise<StoredText | null> {
    return withRetries(this.policy, 'read', this.where(key), async (abortSignal) => {
      try {
        const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
          abortSignal,
        })
        const text = (await response.Body?.transformToString('utf-8')) ?? ''
        return { text, etag: response.ETag }
      } catch (error) {
        // Only a definite "no such key" is absence; every other failure stays a failure.
        if (isNotFound(error)) return null
        throw error
      }
    })
  }

  /**
   * Writes `text` at `key`. With `ifNoneMatch`/`ifMatch` (and `conditionalWrites` on) the store
   * may refuse with 412; that returns false. Stores that ignore the headers always return true.
   */
  async put(key: string, text: string, condition: { ifNoneMatch?: boolean; ifMatch?: string } = {}) {
    const guard = this.conditionalWrites
      ? {
          ...(condition.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
          ...(condition.ifMatch === undefined ? {} : { IfMatch: condition.ifMatch }),
        }
      : {}
    return withRetries(this.policy, 'write', this.where(key), async (abortSignal) => {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: text,
            ContentType: 'application/json',
            ...guard,
          }),
          { abortSignal },
        )
        return true
      } catch (error) {
        if (statusOf(error) === 412) return false
        // A retried guarded PUT whose first attempt landed meets its own object: 409/412 both mean taken.
        if (statusOf(error) === 409 && condition.ifNoneMatch) return false
        throw error
      }
    })
  }

  /** One page of keys under `prefix`, in key order, after `startAfter`. */
  async list(
    prefix: string,
    options: { startAfter?: string; maxKeys?: number; delimiter?: string } = {},
  ): Promise<ListPage> {
    return withRetries(this.policy, 'list', this.where(prefix), async (abortSignal) => {
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
      return {
        keys: (response.Contents ?? []).flatMap((item) => (item.Key === undefined ? [] : [item.Key])),
        folders: (response.CommonPrefixes ?? []).flatMap((item) => (item.Prefix ? [item.Prefix] : [])),
        truncated: response.IsTruncated === true,
      }
    })
  }

  /** Every key under `prefix`, page by page (pages follow the last key, never a server token). */
  async *listAll(prefix: string, startAfter?: string): AsyncGenerator<string[]> {
    let after = startAfter
    for (;;) {
      const page = await this.list(prefix, after === undefined ? {} : { startAfter: after })
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
      const response = await withRetries(this.policy, 'delete', this.where(first), (abortSignal) =>
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
