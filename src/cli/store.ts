import { stat } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SessionRepository } from '../session/session-repository.ts'
import { defaultSessionsDirectory } from '../storage/default-sessions-directory.ts'
import { FileSessionRepository } from '../storage/file-session-repository.ts'
import type { CommandContext } from './cli-command.ts'
import { UsageError } from './cli-errors.ts'
import { readKeyFile } from './key-file.ts'

export type StoreSpec =
  | { kind: 'file'; directory: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string }

export interface OpenStore {
  spec: StoreSpec
  /** How messages name the store: `file:/home/me/sessions` or `s3://bucket/prefix`. */
  label: string
  repository: SessionRepository
  /** Opened with `--key-file`: records are sealed and opened with the keys in this file. */
  keyFile?: string
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

export interface OpenStoreOptions {
  /**
   * A command that only reads or changes what is there (list, show, verify, delete…) on a store that
   * does not exist is a mistyped path: it fails with the usage code instead of reporting "0 ok".
   */
  mustExist?: boolean
  /** Seal and open records with these keys (`--key-file`): see docs/encryption.md. */
  keyFile?: string | undefined
}

/** Opens the store. The S3 repository (and the AWS SDK under it) is loaded only for s3:// stores. */
export async function openStore(spec: StoreSpec, options: OpenStoreOptions = {}): Promise<OpenStore> {
  const label = storeLabel(spec)
  let repository: SessionRepository
  if (spec.kind === 'file') {
    await checkDirectory(spec.directory, label, options.mustExist ?? false)
    repository = new FileSessionRepository({ directory: spec.directory })
  } else {
    const { openS3Repository } = await import('./s3-store.ts')
    repository = await openS3Repository(spec)
  }
  if (options.keyFile === undefined) return { spec, label, repository }
  const keys = await readKeyFile(options.keyFile)
  const { EncryptedSessionRepository } = await import('../storage/encrypted-session-repository.ts')
  const encrypted = new EncryptedSessionRepository({ repository, keys })
  return { spec, label, repository: encrypted, keyFile: options.keyFile }
}

async function checkDirectory(directory: string, label: string, mustExist: boolean): Promise<void> {
  try {
    if (!(await stat(directory)).isDirectory()) {
      throw new UsageError(`The store ${label} is a file, not a sessions directory; check --store.`)
    }
  } catch (error) {
    if (error instanceof UsageError) throw error
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && !mustExist) return
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UsageError(
        `No store at ${label}: the directory does not exist. Check --store (or $TETHER_STORE); \`tether chat\` and \`tether sessions import\` create a store.`,
      )
    }
    throw error
  }
}

/** The common case: the `--store`, `--endpoint` and `--key-file` flags of a command, opened. */
export function openStoreFlag(
  flags: { store?: string | undefined; endpoint?: string | undefined; keyFile?: string | undefined },
  context: Pick<CommandContext, 'cwd' | 'env'>,
  options: Pick<OpenStoreOptions, 'mustExist'> = {},
): Promise<OpenStore> {
  const keyFile = flags.keyFile ?? emptyToUndefined(context.env.TETHER_KEY_FILE)
  return openStore(parseStore(flags.store, context, flags.endpoint), {
    ...options,
    ...(keyFile === undefined
      ? {}
      : { keyFile: isAbsolute(keyFile) ? keyFile : resolve(context.cwd, keyFile) }),
  })
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
