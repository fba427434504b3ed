import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** tmux, where Debian puts it (CI installs it there when missing), else on the PATH. */
export function findTmux(): string | undefined {
  if (existsSync('/usr/bin/tmux')) return '/usr/bin/tmux'
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(`${dir}/tmux`)) return `${dir}/tmux`
  }
  return undefined
}

/**
 * A command running in a real pseudo-terminal: a detached tmux session on a socket of its own
 * (so it never touches the developer's tmux), driven with send-keys and read with capture-pane.
 */
export class TmuxPane {
  readonly #tmux: string
  readonly #socket: string

  private constructor(tmux: string, socket: string) {
    this.#tmux = tmux
    this.#socket = socket
  }

  /** Starts `argv` in a 120x40 terminal with exactly `env` as its environment. */
  static async start(
    tmux: string,
    argv: string[],
    env: Record<string, string>,
    cwd: string,
  ): Promise<TmuxPane> {
    const pane = new TmuxPane(tmux, `tether-test-${process.pid}-${Date.now()}`)
    const quoted = argv.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ')
    // The server takes its environment from this client; `remain-on-exit` keeps the pane (and the
    // exit status) readable after the command ends.
    await pane.#run(['new-session', '-d', '-x', '120', '-y', '40', '-s', 'test', '-c', cwd, quoted], env)
    await pane.#run(['set-option', '-t', 'test', 'remain-on-exit', 'on'])
    return pane
  }

  async capture(): Promise<string> {
    return (await this.#run(['capture-pane', '-p', '-t', 'test', '-S', '-200'])).trimEnd()
  }

  /** Types text literally (no key-name lookup). */
  async type(text: string): Promise<void> {
    await this.#run(['send-keys', '-t', 'test', '-l', text])
  }

  /** Sends key names: `Enter`, `C-c`, `C-d`. */
  async press(...keys: string[]): Promise<void> {
    await this.#run(['send-keys', '-t', 'test', ...keys])
  }

  /** Polls the screen until `test` passes; fails with the last screen in the message. */
  async waitFor(test: (screen: string) => boolean, what: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    let screen = ''
    while (Date.now() < deadline) {
      screen = await this.capture()
      if (test(screen)) return screen
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`timed out waiting for ${what}; the screen was:\n${screen}`)
  }

  /** `null` while the command runs, then its exit status. */
  async exitStatus(): Promise<number | null> {
    const [dead, status] = (
      await this.#run(['display-message', '-p', '-t', 'test', '#{pane_dead} #{pane_dead_status}'])
    )
      .trim()
      .split(' ')
    return dead === '1' ? Number(status) : null
  }

  async kill(): Promise<void> {
    await this.#run(['kill-server']).catch(() => {})
  }

  async #run(args: string[], env?: Record<string, string>): Promise<string> {
    const { stdout } = await run(this.#tmux, ['-L', this.#socket, ...args], env ? { env } : {})
    return stdout
  }
}
