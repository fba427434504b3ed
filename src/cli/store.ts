import { isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SessionRepository } from '../session/session-repository.ts'
import { defaultSessionsDirectory } from '../storage/default-sessions-directory.ts'
import { FileSessionRepository } from '../storage/file-session-repository.ts'
import type { CommandContext } from './cli-command.ts'
import { UsageError } from './cli-errors.ts'

export type StoreSpec =
  | { kind: 'file'; directory: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string }

export interface OpenStore {
  spec: StoreSpec
  /** How messages name the store: `file:/home/me/sessions` or `s3://bucket/prefix`. */
  label: string
  repository: SessionRepository
}

/**
 * Reads a `--store` value: `file:DIR`, `file:///abs/dir`, `s3://BUCKET/PREFIX`, or a plain path.
 * Relative paths are relative to the command's `cwd`. No value: `$TETHER_STORE`, else the per-user
 * data directory (the same default as `FileSessionRepository`).
 */
export function parseStore(
  text: string | undefined,
  context: Pick<CommandContext, 'cwd' | 'env'>,
  endpoint?: string,
): StoreSpec {
  const value = text ?? context.env.TETHER_STORE
  if (value === undefined || value === '') {
    if (endpoint !== undefined)
      throw new UsageError('--endpoint applies to s3:// stores; pass --store s3://BUCKET/PREFIX too.')
    return { kind: 'file', directory: defaultSessionsDirectory(context.env) }
  }
  if (value.startsWith('s3://')) {
    const [bucket = '', ...rest] = value.slice('s3://'.length).split('/')
    if (bucket === '')
      throw new UsageError(`The store "${value}" names no bucket; use s3://BUCKET or s3://BUCKET/PREFIX.`)
    const prefix = rest.filter((part) => part !== '').join('/')
    return { kind: 's3', bucket, prefix, ...(endpoint === undefined ? {} : { endpoint }) }
  }
  if (endpoint !== undefined) throw new UsageError(`--endpoint applies to s3:// stores, not to "${value}".`)
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('file://')) {
    throw new UsageError(`The store "${value}" is not one tether knows; use file:DIR or s3://BUCKET/PREFIX.`)
  }
  const path = value.startsWith('file://') ? fileURLToPath(value) : value.replace(/^file:/, '')
  if (path === '') throw new UsageError('The store "file:" names no directory; use file:DIR.')
  return { kind: 'file', directory: isAbsolute(path) ? path : resolve(context.cwd, path) }
}

export function storeLabel(spec: StoreSpec): string {
  if (spec.kind === 'file') return `file:${spec.directory}`
  return `s3://${spec.bucket}${spec.prefix === '' ? '' : `/${spec.prefix}`}`
}

/** Opens the store. The S3 repository (and the AWS SDK under it) is loaded only for s3:// stores. */
export async function openStore(spec: StoreSpec): Promise<OpenStore> {
  const label = storeLabel(spec)
  if (spec.kind === 'file') {
    return { spec, label, repository: new FileSessionRepository({ directory: spec.directory }) }
  }
  const { openS3Repository } = await import('./s3-store.ts')
  return { spec, label, repository: await openS3Repository(spec) }
}

/** The common case: the `--store` and `--endpoint` flags of a command, opened. */
export function openStoreFlag(
  flags: { store?: string | undefined; endpoint?: string | undefined },
  context: Pick<CommandContext, 'cwd' | 'env'>,
): Promise<OpenStore> {
  return openStore(parseStore(flags.store, context, flags.endpoint))
}
