import * as fs from 'node:fs/promises'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileSessionRepository, StorageError } from '../../src/index.ts'
import { type FileOperations, nodeFileOperations } from '../../src/storage/durable-files.ts'
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

describe('a durable write that fails at any step', () => {
  const tempDirectory = useTempDirectories()

  for (const step of ['open', 'write', 'sync', 'close', 'link'] as const) {
    it(`fails at ${step}: a StorageError, no record, and no temporary file left behind`, async () => {
      const directory = await tempDirectory()
      const { ops, state } = failingAt(step)
      const repository = new FileSessionRepository({ directory, fileOperations: ops })
      await repository.appendMessage({ ...ref, message })
      state.armed = true
      const error = await repository.appendMessage({ ...ref, message }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StorageError)
      expect((error as StorageError).message).toContain(`injected failure at ${step}`)
      state.armed = false

      const files = await readdir(join(directory, 's', 'agents', 'default', 'messages'))
      expect(files).toEqual(['000000000000.json'])
      // The session is still usable: the next append takes the free index.
      expect((await repository.appendMessage({ ...ref, message })).index).toBe(1)
    })
  }

  it('fails at the directory sync after publishing: a StorageError, and the record is complete', async () => {
    const directory = await tempDirectory()
    const { ops, state } = failingAt('directory sync')
    const repository = new FileSessionRepository({ directory, fileOperations: ops })
    await repository.appendMessage({ ...ref, message })
    state.armed = true
    await expect(repository.appendMessage({ ...ref, message })).rejects.toBeInstanceOf(StorageError)
    state.armed = false
    // The entry may or may not survive a power loss here, so the caller is told; what is on disk is whole.
    const records = await new FileSessionRepository({ directory }).readMessages(ref)
    expect(records.map((record) => record.message)).toEqual([message, message])
    const files = await readdir(join(directory, 's', 'agents', 'default', 'messages'))
    expect(files.filter((name) => name.endsWith('.tmp'))).toEqual([])
  })
})
