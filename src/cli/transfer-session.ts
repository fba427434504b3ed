import type { SessionRecord } from '../session/session-records.ts'
import type { SessionRepository } from '../session/session-repository.ts'
import { SessionExistsError } from './cli-errors.ts'
import type { Progress } from './progress.ts'
import { hasLeftovers, readSessionTolerant } from './recover-records.ts'
import { replaceSession } from './replace-session.ts'
import { EXPORT_FORMAT, EXPORT_SCHEMA_VERSION, type SessionExport } from './session-export.ts'
import { readAllMessages } from './session-reading.ts'
import type { OpenStore } from './store.ts'

/** How many messages a session holds, over all its agents: the size of the work to copy it. */
export async function countSessionMessages(
  repository: SessionRepository,
  sessionId: string,
): Promise<number> {
  let total = 0
  for (const agent of await repository.listAgents({ sessionId })) {
    total += await repository.countMessages({ sessionId, agentId: agent.agentId })
  }
  return total
}

/** Reads a whole session (every agent, every message) into the export document. */
export async function readSessionExport(
  repository: SessionRepository,
  session: SessionRecord,
  progress?: Progress,
): Promise<SessionExport> {
  const agents: SessionExport['agents'] = []
  for (const agent of await repository.listAgents({ sessionId: session.sessionId })) {
    const messages = await readAllMessages(
      repository,
      { sessionId: session.sessionId, agentId: agent.agentId },
      progress,
    )
    agents.push({ agent, messages })
  }
  return {
    format: EXPORT_FORMAT,
    schemaVersion: EXPORT_SCHEMA_VERSION,
    exportedAt: new Date().toISOString(),
    session,
    agents,
  }
}

/**
 * Writes an exported session into a store. A session already there is replaced only with
 * `replace`, and then without ever being lost (replace-session.ts).
 */
export async function writeSessionExport(
  store: OpenStore,
  data: SessionExport,
  options: { replace: boolean; progress?: Progress },
): Promise<{ agents: number; messages: number }> {
  const { sessionId } = data.session
  const found = await readSessionTolerant(store, sessionId)
  const exists =
    found.record !== null || found.problem !== undefined || (await hasLeftovers(store, sessionId))
  if (!exists) return writeSessionInto(store.repository, data, options.progress)
  if (!options.replace) throw new SessionExistsError(sessionId, store.label)
  return replaceSession(store, data, options.progress)
}

/**
 * Writes an exported session into a store where it does not exist. Messages go in with
 * compare-and-append at their original indexes, so the copy has the same order and no gaps, and
 * a writer racing us into the same new session makes this fail rather than interleave. The agent
 * record goes last: until it is there a restore reads from message 0, which is safe. The stores
 * assign new timestamps and revisions; a `damaged` marker is not carried (the placeholder content is).
 */
export async function writeSessionInto(
  repository: SessionRepository,
  data: SessionExport,
  progress?: Progress,
): Promise<{ agents: number; messages: number }> {
  const { sessionId } = data.session
  await repository.createSession({ sessionId })
  const { title, metadata } = data.session
  if (title !== undefined || metadata !== undefined) {
    await repository.updateSession({
      sessionId,
      ...(title === undefined ? {} : { title }),
      ...(metadata === undefined ? {} : { metadata }),
    })
  }
  let messages = 0
  for (const { agent, messages: records } of data.agents) {
    const ref = { sessionId, agentId: agent.agentId }
    for (const record of records) {
      await repository.appendMessage({ ...ref, message: record.message, expectedIndex: record.index })
      progress?.advance()
      messages++
    }
    await repository.writeAgent({
      ...ref,
      state: agent.state,
      conversationManagerState: agent.conversationManagerState,
      windowStart: agent.windowStart,
    })
  }
  return { agents: data.agents.length, messages }
}
