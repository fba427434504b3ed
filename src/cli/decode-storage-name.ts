import { encodeStorageName } from '../storage/storage-name.ts'

/**
 * The ID a storage name was made from (`encodeStorageName` reversed), or undefined when the name
 * cannot be reversed (a long ID, stored as a prefix plus a hash) or was not made by it. This is
 * how a record whose own bytes are damaged is still known by its session or agent ID: from where
 * it lives.
 */
export function decodeStorageName(name: string): string | undefined {
  if (!/^(?:[a-z0-9-]|_[0-9a-f]{2})+$/.test(name)) return undefined
  const bytes: number[] = []
  for (let at = 0; at < name.length; ) {
    if (name[at] === '_') {
      bytes.push(Number.parseInt(name.slice(at + 1, at + 3), 16))
      at += 3
    } else {
      bytes.push(name.charCodeAt(at))
      at += 1
    }
  }
  const id = new TextDecoder('utf-8', { fatal: false }).decode(new Uint8Array(bytes))
  try {
    return encodeStorageName(id) === name ? id : undefined
  } catch {
    return undefined
  }
}

/** The ID from a record's path or key: the folder just above `<file>` (`…/<name>/session.json`). */
export function idFromLocation(location: string, file: string): string | undefined {
  const parts = location.split(/[\\/]/)
  if (parts.at(-1) !== file) return undefined
  const name = parts.at(-2)
  return name === undefined ? undefined : decodeStorageName(name)
}

/**
 * The session ID from where a damaged record lives: `…/<name>/session.db` (file format 2, also
 * with an ` (agent …)` suffix), `…/<name>/session.json` (format 1 and S3 keys).
 */
export function sessionIdFromLocation(location: string): string | undefined {
  const path = location.replace(/ \(agent .*$/s, '')
  return idFromLocation(path, 'session.db') ?? idFromLocation(path, 'session.json')
}

/**
 * The agent ID from where a damaged agent record lives: `…/session.db (agent "<id>")` (file format
 * 2: the ID is written as JSON) or `…/<name>/agent.json` (format 1 and S3 keys).
 */
export function agentIdFromLocation(location: string): string | undefined {
  const quoted = /[\\/]session\.db \(agent ("(?:[^"\\]|\\.)*")/.exec(location)?.[1]
  if (quoted !== undefined) {
    try {
      const id: unknown = JSON.parse(quoted)
      return typeof id === 'string' ? id : undefined
    } catch {
      return undefined
    }
  }
  return idFromLocation(location, 'agent.json')
}
