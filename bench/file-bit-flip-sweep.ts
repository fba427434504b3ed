import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FileSessionRepository, type Message, TetherError } from '../src/index.ts'

export interface SweepResult {
  /** Flips tried (one bit each). */
  flips: number
  /** Reads returned exactly what was stored (the bit was in unused space, or SQLite ignores it). */
  unchanged: number
  /** A typed error reported the damage. */
  reported: number
  /** Reads succeeded but returned something else: the failure this format must never have. */
  silent: number
  /** What the silent changes were, for the first few. */
  examples: string[]
}

const ref = { sessionId: 'swept', agentId: 'default' }

/**
 * A small session with every kind of record: session (with title), agent, messages. Closed (the
 * default), everything is in `session.db`; left open, as a process killed with SIGKILL leaves it,
 * the commits are in `session.db-wal` too.
 */
export async function writeSweptSession(
  directory: string,
  leaveOpen = false,
): Promise<FileSessionRepository> {
  const repository = new FileSessionRepository({ directory })
  await repository.createSession(ref)
  for (let i = 0; i < 8; i++) {
    const message: Message = {
      role: i % 2 === 0 ? 'user' : 'assistant',
      content: [{ type: 'text', text: `message ${i}: the quick brown fox` }],
    }
    await repository.appendMessage({ ...ref, message })
  }
  await repository.writeAgent({
    ...ref,
    state: { plan: 'pro' },
    conversationManagerState: null,
    windowStart: 2,
  })
  await repository.updateSession({ ...ref, title: 'Swept' })
  // Closing the last connection checkpoints the WAL into session.db and removes the WAL.
  if (!leaveOpen) repository.close()
  return repository
}

/** Everything a restore or a listing could see of the session, as one string. */
async function view(directory: string): Promise<string> {
  const repository = new FileSessionRepository({ directory })
  try {
    return JSON.stringify({
      session: await repository.readSession(ref),
      listed: (await repository.listSessions()).sessions,
      agent: await repository.readAgent(ref),
      agents: await repository.listAgents(ref),
      count: await repository.countMessages(ref),
      messages: await repository.readMessages(ref),
      window: await repository.readMessages({ ...ref, offset: 5, limit: 3 }),
    })
  } finally {
    repository.close()
  }
}

/**
 * Flips one bit at a time in every stored file of a session, at every `stride`-th byte (bit
 * `byte % 8`), and reads the whole session back through a fresh repository each time.
 */
export async function bitFlipSweep(root: string, stride: number, leaveOpen = false): Promise<SweepResult> {
  const original = join(root, 'original')
  const writer = await writeSweptSession(original, leaveOpen)
  const sessionDir = join(original, 'swept')
  const files = (await readdir(sessionDir, { withFileTypes: true })).filter((entry) => entry.isFile())
  const expected = await view(original)
  const result: SweepResult = { flips: 0, unchanged: 0, reported: 0, silent: 0, examples: [] }
  const trial = join(root, 'trial')
  for (const file of files) {
    const bytes = await readFile(join(sessionDir, file.name))
    for (let offset = 0; offset < bytes.length; offset += stride) {
      await rm(trial, { recursive: true, force: true })
      await mkdir(join(trial, 'swept'), { recursive: true, mode: 0o700 })
      for (const other of files)
        await copyFile(join(sessionDir, other.name), join(trial, 'swept', other.name))
      const flipped = Buffer.from(bytes)
      flipped[offset] = (flipped[offset] as number) ^ (1 << (offset % 8))
      await writeFile(join(trial, 'swept', file.name), flipped)
      result.flips++
      try {
        const seen = await view(trial)
        if (seen === expected) result.unchanged++
        else {
          result.silent++
          if (result.examples.length < 5) result.examples.push(`${file.name} byte ${offset}`)
        }
      } catch (error) {
        if (!TetherError.isInstance(error)) throw error
        result.reported++
      }
    }
  }
  await rm(trial, { recursive: true, force: true })
  writer.close()
  return result
}
