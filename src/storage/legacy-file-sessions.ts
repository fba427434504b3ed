import * as fs from 'node:fs/promises'
import { join } from 'node:path'
import { DamagedRecordError, RecordNotFoundError, StorageError } from '../session/session-errors.ts'
import {
  type AgentRecord,
  agentRecordSchema,
  type MessageRecord,
  messageRecordSchema,
  parseRecord,
  type SessionRecord,
  sessionRecordSchema,
} from '../session/session-records.ts'
import { isErrno } from './durable-files.ts'
import { findHead } from './find-head.ts'

/**
 * Reads sessions in the first file format (tether-agents 0.1: one JSON file per record, see
 * docs/storage-format.md "Format 1"). Read-only: the first write to such a session migrates it
 * (`migrateLegacySession`), so nothing here ever writes. No cache: every call looks at the files.
 *
 *   <session>/session.json
 *   <session>/agents/<agent>/agent.json
 *   <session>/agents/<agent>/messages/000000000000.json
 */
export class LegacyFileSessions {
  /** `sessionDir` is the session's directory; `agentName` the encoded agent ID. */
  async readSession(sessionDir: string): Promise<SessionRecord | null> {
    const path = join(sessionDir, 'session.json')
    const text = await readText(path)
    return text === null ? null : parseRecord(sessionRecordSchema, text, path)
  }

  async readAgent(agentDir: string): Promise<AgentRecord | null> {
    const path = join(agentDir, 'agent.json')
    const text = await readText(path)
    return text === null ? null : (parseRecord(agentRecordSchema, text, path) as AgentRecord)
  }

  /** The encoded names of the agent directories (never dot-named leftovers). */
  async agentNames(sessionDir: string): Promise<string[]> {
    const dir = join(sessionDir, 'agents')
    try {
      return (await fs.readdir(dir)).filter((name) => !name.startsWith('.')).sort()
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return []
      throw new StorageError('list agents in', dir, { cause: error })
    }
  }

  async countMessages(agentDir: string): Promise<number> {
    const dir = join(agentDir, 'messages')
    try {
      // Message files are gap-free, so a galloping search finds the head in O(log n) probes.
      return await findHead(0, (index) => exists(messagePath(agentDir, index)))
    } catch (error) {
      throw new StorageError('count messages in', dir, { cause: error })
    }
  }

  async readMessage(agentDir: string, index: number): Promise<MessageRecord> {
    const path = messagePath(agentDir, index)
    const text = await readText(path)
    if (text === null) throw new RecordNotFoundError(path)
    const record = parseRecord(messageRecordSchema, text, path, index) as MessageRecord
    if (record.index !== index) {
      throw new DamagedRecordError(path, `holds index ${record.index}, not ${index}`, index)
    }
    return record
  }

  /** The raw bytes of a message file, for migration: damage is carried over as it is, never repaired. */
  async messageBytes(agentDir: string, index: number): Promise<Buffer> {
    return fs.readFile(messagePath(agentDir, index))
  }

  /** Raw bytes of `session.json` or `agent.json`, or null when absent. */
  async recordBytes(path: string): Promise<Buffer | null> {
    try {
      return await fs.readFile(path)
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return null
      throw new StorageError('read', path, { cause: error })
    }
  }
}

export function messagePath(agentDir: string, index: number): string {
  return join(agentDir, 'messages', `${String(index).padStart(12, '0')}.json`)
}

async function readText(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8')
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return null
    throw new StorageError('read', path, { cause: error })
  }
}

/** Whether a path exists; any failure but "not there" propagates. */
export async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path)
    return true
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return false
    throw error
  }
}
