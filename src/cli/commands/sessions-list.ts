import { z } from 'zod'
import { TetherError } from '../../errors/tether-error.ts'
import type { SessionRecord } from '../../session/session-records.ts'
import type { SessionRepository } from '../../session/session-repository.ts'
import { defineCommand } from '../cli-command.ts'
import { storeFlags } from '../cli-schemas.ts'
import { startProgress } from '../progress.ts'
import { listAllSessions } from '../session-reading.ts'
import { openStoreFlag } from '../store.ts'
import { renderTable } from '../table.ts'

export interface SessionSummary {
  sessionId: string
  /** Set by the application with `repository.updateSession`. */
  title?: string
  createdAt: string
  /** When the latest message was written (or the session created, if it has none). */
  lastActive: string
  agents: number
  messages: number
  /** Set when the session could not be read; `tether sessions verify` tells more. */
  problem?: string
}

export const command = defineCommand({
  input: z.object({ ...storeFlags }),

  async run(input, context) {
    const store = await openStoreFlag(input, context, { mustExist: true })
    const { sessions: records, unreadable } = await listAllSessions(store.repository)
    const progress = await startProgress(context, 'Reading sessions', records.length)
    // A session whose own record is unreadable is listed by where it is, with the problem.
    const sessions: SessionSummary[] = unreadable.map(({ location, reason }) => ({
      sessionId: location,
      createdAt: '?',
      lastActive: '?',
      agents: 0,
      messages: 0,
      problem: reason,
    }))
    try {
      for (const record of records) {
        sessions.push(await summarize(store.repository, record))
        progress.advance()
      }
    } finally {
      progress.stop()
    }
    // Most recently active first, whatever order the store lists in; sessions with a problem on top.
    const byActivity = (a: SessionSummary, b: SessionSummary) => b.lastActive.localeCompare(a.lastActive)
    const ordered = [
      ...sessions.filter((session) => session.problem !== undefined),
      ...sessions.filter((session) => session.problem === undefined).sort(byActivity),
    ]
    return { data: { store: store.label, sessions: ordered } }
  },

  render({ store, sessions }) {
    if (sessions.length === 0) return [`no sessions in ${store}`]
    // The problem column only when there is one to show.
    const withProblems = sessions.some((session) => session.problem !== undefined)
    const withTitles = sessions.some((session) => session.title !== undefined)
    const rows = sessions.map((session) => [
      session.sessionId,
      ...(withTitles ? [session.title ?? ''] : []),
      session.problem === undefined ? String(session.messages) : '?',
      session.problem === undefined ? String(session.agents) : '?',
      session.lastActive,
      ...(withProblems ? [session.problem ?? ''] : []),
    ])
    const headers = [
      'SESSION',
      ...(withTitles ? ['TITLE'] : []),
      'MESSAGES',
      'AGENTS',
      'LAST ACTIVE',
      ...(withProblems ? ['PROBLEM'] : []),
    ]
    const table = renderTable(headers, rows)
    return [...table, '', `${sessions.length} session${sessions.length === 1 ? '' : 's'} in ${store}`]
  },
})

async function summarize(repository: SessionRepository, record: SessionRecord): Promise<SessionSummary> {
  const { sessionId, createdAt } = record
  const title = record.title === undefined ? {} : { title: record.title }
  try {
    const agents = await repository.listAgents({ sessionId })
    let messages = 0
    let lastActive = record.updatedAt ?? createdAt
    for (const agent of agents) {
      const ref = { sessionId, agentId: agent.agentId }
      const count = await repository.countMessages(ref)
      messages += count
      const [last] = count === 0 ? [] : await repository.readMessages({ ...ref, offset: count - 1, limit: 1 })
      if (last && last.createdAt > lastActive) lastActive = last.createdAt
    }
    return { sessionId, ...title, createdAt, lastActive, agents: agents.length, messages }
  } catch (error) {
    // One unreadable session should not hide the others from an operator looking for it.
    if (!TetherError.isInstance(error)) throw error
    return {
      sessionId,
      ...title,
      createdAt,
      lastActive: createdAt,
      agents: 0,
      messages: 0,
      problem: error.message,
    }
  }
}
