import { z } from 'zod'
import { defineCommand } from '../cli-command.ts'
import { sessionId, storeFlags } from '../cli-schemas.ts'
import { requireSession } from '../session-reading.ts'
import { openStoreFlag } from '../store.ts'

export const command = defineCommand({
  input: z.object({ id: sessionId, ...storeFlags }),

  async run(input, context) {
    const store = await openStoreFlag(input, context, { mustExist: true })
    // Deleting an absent session is a no-op for the repository; for a person it is likely a typo.
    await requireSession(store, input.id)
    await store.repository.deleteSession({ sessionId: input.id })
    return { data: { sessionId: input.id, store: store.label, deleted: true } }
  },

  render: ({ sessionId, store }) => [`deleted session ${sessionId} from ${store}`],
})
