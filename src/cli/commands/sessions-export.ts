import { lstat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { z } from 'zod'
import { defineCommand } from '../cli-command.ts'
import { sessionId, storeFlags } from '../cli-schemas.ts'
import { startProgress } from '../progress.ts'
import { exportAsJson, exportAsJsonLines, type SessionExport } from '../session-export.ts'
import { requireSession } from '../session-reading.ts'
import { openStoreFlag } from '../store.ts'
import { countSessionMessages, readSessionExport } from '../transfer-session.ts'
import { outputExists, writeOutputFile } from '../write-output-file.ts'

type ExportResult = { document: SessionExport; written?: { path: string; messages: number } }

export const command = defineCommand({
  input: z.object({
    id: sessionId,
    ...storeFlags,
    format: z.enum(['json', 'jsonl'], { error: 'expected json or jsonl' }).default('json'),
    output: z.string().min(1).optional(),
    force: z.boolean().default(false),
  }),

  async run(input, context): Promise<{ data: ExportResult }> {
    const store = await openStoreFlag(input, context, { mustExist: true })
    // Checked again, race-free, when the file is linked into place; here to fail before the work.
    if (input.output !== undefined && !input.force) await refuseExisting(resolve(context.cwd, input.output))
    const session = await requireSession(store, input.id)
    const total = await countSessionMessages(store.repository, input.id)
    const progress = await startProgress(context, 'Exporting messages', total)
    let document: SessionExport
    try {
      document = await readSessionExport(store.repository, session, progress)
    } finally {
      progress.stop()
    }
    if (input.output === undefined) return { data: { document } }
    const path = resolve(context.cwd, input.output)
    const lines = input.format === 'jsonl' ? [...exportAsJsonLines(document)] : exportAsJson(document)
    await writeOutputFile(path, `${lines.join('\n')}\n`, input.force)
    return { data: { document, written: { path, messages: total } } }
  },

  render({ document, written }, input) {
    if (written)
      return [
        `exported session ${document.session.sessionId} (${written.messages} messages) to ${written.path}`,
      ]
    return input.format === 'jsonl' ? exportAsJsonLines(document) : exportAsJson(document)
  },

  // The export is JSON already; with --output, --json reports what was written as JSON instead of a sentence.
  renderJson({ document, written }, input) {
    if (written) {
      const report = { sessionId: document.session.sessionId, format: input.format, ...written }
      return [JSON.stringify({ exported: report }, null, 2)]
    }
    return input.format === 'jsonl' ? exportAsJsonLines(document) : exportAsJson(document)
  },
})

async function refuseExisting(path: string): Promise<void> {
  const found = await lstat(path).then(
    () => true,
    () => false,
  )
  if (found) throw outputExists(path)
}
