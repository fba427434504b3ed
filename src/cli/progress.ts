import type { CommandContext } from './cli-command.ts'

export interface Progress {
  /** Marks `count` more items done. */
  advance(count?: number): void
  /** Clears the bar. Safe to call twice, and on a bar that was never shown. */
  stop(): void
}

/** Below this many items the work is over before a bar could help; a flash of a bar is noise. */
const MIN_ITEMS = 20

const silent: Progress = { advance() {}, stop() {} }

/**
 * A progress bar on stderr for work over many sessions or messages, shown only when stdout is a
 * terminal: piped output (`--json | jq`, CI logs) never gets bar frames mixed in.
 */
export async function startProgress(
  context: CommandContext,
  label: string,
  total: number,
): Promise<Progress> {
  if (!context.stdout.isTTY || !context.stderr.isTTY || total < MIN_ITEMS) return silent
  // Loaded only when a bar is shown, so piped and small runs never load it.
  const { default: cliProgress } = await import('cli-progress')
  const bar = new cliProgress.SingleBar({
    stream: context.stderr,
    format: `${label} [{bar}] {value}/{total}`,
    barsize: 30,
    clearOnComplete: true,
    hideCursor: true,
    // main.ts owns SIGINT; the bar's own handler would exit the process behind our back.
    gracefulExit: false,
  })
  bar.start(total, 0)
  let stopped = false
  return {
    advance(count = 1) {
      if (!stopped) bar.increment(count)
    },
    stop() {
      if (stopped) return
      stopped = true
      bar.stop()
    },
  }
}
