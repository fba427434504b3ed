import { open } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { z } from 'zod'
import { defineCommand } from '../cli-command.ts'
import { NotFoundError, UsageError } from '../cli-errors.ts'
import { storeFlags } from '../cli-schemas.ts'
import { startProgress } from '../progress.ts'
import { parseSessionExport } from '../session-export.ts'
import { openStoreFlag } from '../store.ts'
import { writeSessionExport } from '../transfer-session.ts'

/**
 * An export is read whole (it is one JSON document, or JSONL validated as a whole before anything
 * is written). Past this size Node cannot hold it as one string ("Invalid string length"), so a
 * bigger input is refused up front with what to do instead, never half-read.
 */
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024

export const command = defineCommand({
  input: z.object({ file: z.string().min(1).optional(), ...storeFlags, replace: z.boolean().default(false) }),

  async run(input, context) {
    const fromStdin = input.file === undefined || input.file === '-'
    if (fromStdin && context.stdin.isTTY) {
      throw new UsageError(
        'import reads an export from a file or from piped stdin: tether sessions import FILE',
      )
    }
    // The store first: a wrong --store is reported before a large input is read.
    const store = await openStoreFlag(input, context)
    const source = fromStdin ? 'stdin' : resolve(context.cwd, input.file ?? '')
    const content = fromStdin ? await readLimited(context.stdin, source) : await readSource(source)
    const document = parseSessionExport(content, source)
    const total = document.agents.reduce((sum, agent) => sum + agent.messages.length, 0)
    const progress = await startProgress(context, 'Importing messages', total)
    try {
      const written = await writeSessionExport(store, document, {
        replace: input.replace,
        progress,
      })
      return { data: { sessionId: document.session.sessionId, store: store.label, ...written } }
    } finally {
      progress.stop()
    }
  },

  render: ({ sessionId, store, messages, agents }) => [
    `imported session ${sessionId} (${messages} messages, ${agents} agent${agents === 1 ? '' : 's'}) into ${store}`,
  ],
})

function tooLarge(source: string, bytes: number | undefined): UsageError {
  const size = bytes === undefined ? 'more than' : `${Math.ceil(bytes / 2 ** 20)} MiB;`
  return new UsageError(
    `The export from ${source} is ${size} ${MAX_IMPORT_BYTES / 2 ** 20} MiB, the most import reads; nothing was written. Move a session this large between stores with \`tether sessions copy ID --to STORE\` instead.`,
  )
}

async function readSource(path: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`No file ${path} to import.`)
    throw error
  }
  try {
    const { size } = await handle.stat()
    if (size > MAX_IMPORT_BYTES) throw tooLarge(path, size)
    return await readLimited(handle.createReadStream({ autoClose: false }), path)
  } finally {
    await handle.close()
  }
}

/** Reads a stream whole, stopping as soon as it passes MAX_IMPORT_BYTES (a pipe has no size). */
async function readLimited(stream: Readable, source: string): Promise<string> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    bytes += buffer.byteLength
    if (bytes > MAX_IMPORT_BYTES) {
      stream.destroy()
      throw tooLarge(source, undefined)
    }
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
