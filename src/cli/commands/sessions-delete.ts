import { z } from 'zod'
import { defineCommand } from '../cli-command.ts'
import { NotFoundError } from '../cli-errors.ts'
import { sessionId, storeFlags } from '../cli-schemas.ts'
import { hasLeftovers, readSessionTolerant } from '../recover-records.ts'
import { openStoreFlag } from '../store.ts'

export const command = defineCommand({
  input: z.object({ id: sessionId, ...storeFlags, force: z.boolean().default(false) }),

  async run(input, context) {
    const store = await openStoreFlag(input, context, { mustExist: true })
    // A damaged (or newer) session record is still a session: deleting never needs to read it.
    const found = await readSessionTolerant(store, input.id)
    let note: string | undefined
    if (found.problem) note = 'its session record was unreadable'
    else if (found.record === null) {
      // No record: a typo, or leftovers of a creation cut short or a delete that raced a writer.
      // Deleting an absent session is a no-op for the repository; for a person it is likely a typo.
      if (!input.force && !(await hasLeftovers(store, input.id))) {
        throw new NotFoundError(
          `No session "${input.id}" in ${store.label}; \`tether sessions list --store ${store.label}\` shows the sessions there. If a delete was interrupted, \`tether sessions delete ${input.id} --force\` removes whatever is left under this ID.`,
        )
      }
      note = 'it had no session record; removed what was stored under the ID'
    }
    await store.repository.deleteSession({ sessionId: input.id })
    return { data: { sessionId: input.id, store: store.label, deleted: true, ...(note ? { note } : {}) } }
  },

  render: ({ sessionId, store, note }) => [
    `deleted session ${sessionId} from ${store}${note === undefined ? '' : ` (${note})`}`,
  ],
})
