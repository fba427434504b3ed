import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { text } from 'node:stream/consumers'
import { z } from 'zod'
import { defineCommand } from '../cli-command.ts'
import { NotFoundError, UsageError } from '../cli-errors.ts'
import { storeFlags } from '../cli-schemas.ts'
import { startProgress } from '../progress.ts'
import { parseSessionExport } from '../session-export.ts'
import { openStoreFlag } from '../store.ts'
import { writeSessionExport } from '../transfer-session.ts'

export const command = defineCommand({
  input: z.object({ file: z.string().min(1).optional(), ...storeFlags, replace: z.boolean().default(false) }),

  async run(input, context) {
    const fromStdin = input.file === undefined || input.file === '-'
    if (fromStdin && context.stdin.isTTY) {
      throw new UsageError(
        'import reads an export from a file or from piped stdin: tether sessions import FILE',
      )
    }
    const source = fromStdin ? 'stdin' : resolve(context.cwd, input.file ?? '')
    const content = fromStdin ? await text(context.stdin) : await readSource(source)
    const document = parseSessionExport(content, source)
    const store = await openStoreFlag(input, context)
    const total = document.agents.reduce((sum, agent) => sum + agent.messages.length, 0)
    const progress = await startProgress(context, 'Importing messages', total)
    try {
      const written = await writeSessionExport(store.repository, document, {
        replace: input.replace,
        storeLabel: store.label,
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

async function readSource(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`No file ${path} to import.`)
    throw error
  }
}
