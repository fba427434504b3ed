import { z } from 'zod'
import type { EncryptSessionReport } from '../../storage/encrypted-session-repository.ts'
import { EncryptedSessionRepository } from '../../storage/encrypted-session-repository.ts'
import { defineCommand } from '../cli-command.ts'
import { UsageError } from '../cli-errors.ts'
import { sessionId, storeFlags } from '../cli-schemas.ts'
import { listAllSessions, requireSession } from '../session-reading.ts'
import { openStoreFlag } from '../store.ts'

/**
 * Adopts encryption for sessions stored in plaintext: the explicit step docs/encryption.md
 * describes. An encrypted store refuses plaintext records, so this is the only way they become
 * readable under `--key-file`, and it is done on purpose, by someone who looked at the store.
 */
export const command = defineCommand({
  input: z.object({ id: sessionId.optional(), all: z.boolean().default(false), ...storeFlags }),

  async run(input, context) {
    if ((input.id === undefined) === !input.all) {
      throw new UsageError(
        'Name one session to encrypt, or pass --all: tether sessions encrypt ID --key-file FILE',
      )
    }
    const store = await openStoreFlag(input, context, { mustExist: true })
    if (!(store.repository instanceof EncryptedSessionRepository)) {
      throw new UsageError('sessions encrypt needs the keys: pass --key-file FILE (or set $TETHER_KEY_FILE).')
    }
    const ids =
      input.id === undefined
        ? (await listAllSessions(store.repository)).sessions.map((session) => session.sessionId)
        : [(await requireSession(store, input.id)).sessionId]
    const sessions: EncryptSessionReport[] = []
    for (const id of ids) sessions.push(await store.repository.encryptSession({ sessionId: id }))
    return { data: { store: store.label, sessions } }
  },

  *render({ store, sessions }) {
    for (const { sessionId, agents } of sessions) {
      const sealed = agents.reduce((sum, agent) => sum + agent.sealedNow, 0)
      const already = agents.reduce((sum, agent) => sum + agent.alreadySealed, 0)
      yield `session ${sessionId}: sealed ${sealed} record${sealed === 1 ? '' : 's'} now, ${already} already sealed`
    }
    yield `encrypted ${sessions.length} session${sessions.length === 1 ? '' : 's'} in ${store}`
  },
})
