import * as fs from 'node:fs/promises'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileSessionRepository, StorageError } from '../../src/index.ts'
import { DurableFiles, type FileOperations, nodeFileOperations } from '../../src/storage/durable-files.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

type Step = 'open' | 'write' | 'sync' | 'close' | 'link' | 'directory sync'

/** File operations that fail at one step of the next message write (after `armed` is set). */
function failingAt(step: Step) {
  const state = { armed: false }
  const boom = () => Object.assign(new Error(`injected failure at ${step}`), { code: 'EIO' })
  const ops: FileOperations = {
    ...nodeFileOperations,
    open: (async (path: string, flags: string, mode?: number) => {
      const isTemp = String(path).endsWith('.tmp')
      const isDirectory = flags === 'r'
      if (state.armed && step === 'open' && isTemp) throw boom()
      if (state.armed && step === 'directory sync' && isDirectory) throw boom()
      const handle = await fs.open(path, flags, mode)
      if (!state.armed || !isTemp) return handle
      return new Proxy(handle, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver)
          const fail =
            (step === 'write' && property === 'writeFile') ||
            (step === 'sync' && property === 'sync') ||
            (step === 'close' && property === 'close')
          if (!fail) return typeof value === 'function' ? value.bind(target) : value
          return async (...args: unknown[]) => {
            if (property === 'close') await target.close()
            else await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
            throw boom()
          }
        },
      })
    }) as FileOperations['open'],
    link: (async (existing: string, target: string) => {
      if (state.armed && step === 'link') throw boom()
      return fs.link(existing, target)
    }) as FileOperations['link'],
  }
  return { ops, state }
}

const ref = { sessionId: 's', agentId: 'default' }
const message = { role: 'user' as const, content: [{ type: 'text' as const, text: 'hello' }] }

// DurableFiles writes what is not a database row: a session's new database file (its name made
// durable), damaged bytes kept aside, and a migration's published copy.
describe('a durable write that fails at any step', () => {
  const tempDirectory = useTempDirectories()

  for (const step of ['open', 'write', 'sync', 'close', 'link'] as const) {
    it(`fails at ${step}: the error propagates, nothing is published, and no temporary file is left`, async () => {
      const directory = await tempDirectory()
      const { ops, state } = failingAt(step)
      const files = new DurableFiles(ops)
      const target = join(directory, 'record.json')
      state.armed = true
      await expect(files.writeExclusive(target, 'data')).rejects.toThrow(`injected failure at ${step}`)
      state.armed = false
      expect(await readdir(directory)).toEqual([])
      // Nothing is in the way: the same write succeeds now.
      expect(await files.writeExclusive(target, 'data')).toBe(true)
      expect(await readdir(directory)).toEqual(['record.json'])
    })
  }

  it('fails at the directory sync when a session file is created: a StorageError, and the session still works', async () => {
    const directory = await tempDirectory()
    const { ops, state } = failingAt('directory sync')
    const repository = new FileSessionRepository({ directory, fileOperations: ops })
    state.armed = true
    await expect(repository.appendMessage({ ...ref, message })).rejects.toBeInstanceOf(StorageError)
    state.armed = false
    // Nothing was acknowledged; the next append creates what is missing and lands at index 0.
    expect((await repository.appendMessage({ ...ref, message })).index).toBe(0)
    const records = await new FileSessionRepository({ directory }).readMessages(ref)
    expect(records.map((record) => record.message)).toEqual([message])
    const names = await readdir(join(directory, 's'))
    expect(names.filter((name) => name.endsWith('.tmp'))).toEqual([])
  })
})
