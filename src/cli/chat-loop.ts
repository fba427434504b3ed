import { createInterface, type Interface } from 'node:readline'
import type { Agent } from '../agent/agent.ts'
import { InvocationAbortedError } from '../agent/agent-errors.ts'
import type { CommandContext } from './cli-command.ts'
import { escapeKeepingLines } from './terminal-text.ts'

export interface ChatSummary {
  turns: number
  cancelled: number
  failed: number
}

const EXIT_WORDS = new Set(['/exit', '/quit'])

/**
 * Reads prompts and streams replies until end of input or `/exit`.
 *
 * In a terminal: a `> ` prompt; Ctrl-C during a reply cancels that reply (the prompt stays stored;
 * the next prompt joins it), Ctrl-C at the prompt clears the line, twice in a row quits; Ctrl-D
 * quits. With piped stdin: one prompt per line, replies on stdout and nothing else, so it can be
 * scripted; SIGINT cancels the reply in flight, and the first failed turn fails the command.
 */
export async function chatLoop(
  agent: Agent,
  context: CommandContext,
  /** Adds what the person needs to the error of a failed turn (e.g. the server's URL). */
  explain: (error: unknown) => unknown = (error) => error,
): Promise<ChatSummary> {
  const interactive = context.stdin.isTTY === true && context.stdout.isTTY === true
  const rl = createInterface({
    input: context.stdin,
    ...(interactive ? { output: context.stdout, terminal: true } : { terminal: false }),
    prompt: '> ',
  })
  const summary: ChatSummary = { turns: 0, cancelled: 0, failed: 0 }
  let reply: AbortController | undefined
  if (interactive) {
    context.stderr.write('Ctrl-C cancels a reply; Ctrl-D or /exit quits.\n')
    watchCtrlC(rl, context, () => reply)
  }
  const lines = rl[Symbol.asyncIterator]()
  try {
    for (;;) {
      if (interactive) rl.prompt()
      const next = await lines.next()
      if (next.done) {
        // Ctrl-D leaves the cursor after the prompt; the shell's prompt belongs on a line of its own.
        if (interactive) context.stdout.write('\n')
        break
      }
      const prompt = next.value.trim()
      if (prompt === '') continue
      if (EXIT_WORDS.has(prompt)) break
      reply = new AbortController()
      const stopListening = context.onInterrupt(() => reply?.abort())
      try {
        await streamReply(agent, prompt, reply.signal, context)
        summary.turns++
      } catch (thrown) {
        const error = explain(thrown)
        if (error instanceof InvocationAbortedError) {
          context.stderr.write('[cancelled]\n')
          summary.cancelled++
        } else if (interactive) {
          // One failed turn (a timeout, a rate limit) should not end a conversation someone is having.
          summary.failed++
          context.stderr.write(
            `tether: ${escapeKeepingLines(error instanceof Error ? error.message : String(error))}\n`,
          )
        } else {
          throw error
        }
      } finally {
        stopListening()
        reply = undefined
      }
    }
  } finally {
    rl.close()
  }
  return summary
}

/** Streams one reply to stdout as it arrives, ending it with a newline. */
async function streamReply(agent: Agent, prompt: string, signal: AbortSignal, context: CommandContext) {
  let open = false
  try {
    for await (const event of agent.stream(prompt, { signal })) {
      if (event.type === 'text-delta' && event.text !== '') {
        // A reply may echo stored or injected text: control sequences are shown, not acted on.
        context.stdout.write(escapeKeepingLines(event.text))
        open = !event.text.endsWith('\n')
      }
    }
  } finally {
    if (open) context.stdout.write('\n')
  }
}

/** In a terminal Ctrl-C arrives as a key through readline, not as a signal. */
function watchCtrlC(rl: Interface, context: CommandContext, inFlight: () => AbortController | undefined) {
  let armed = false
  rl.on('SIGINT', () => {
    const reply = inFlight()
    if (reply) {
      reply.abort()
      return
    }
    if (rl.line !== '') {
      // Like a shell: Ctrl-C drops the line being typed.
      rl.write(null, { ctrl: true, name: 'e' })
      rl.write(null, { ctrl: true, name: 'u' })
      armed = false
    } else if (armed) {
      rl.close()
      return
    } else {
      armed = true
      context.stderr.write('\n(Ctrl-C again, Ctrl-D or /exit quits)\n')
    }
    rl.prompt()
  })
  rl.on('line', () => {
    armed = false
  })
}
