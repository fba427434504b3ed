import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
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

  /**
   * Starts `argv` in a 120x40 terminal with exactly `env` as its environment. A shell around it
   * prints `[exited N]` when it ends: tmux's own `pane_dead_status` proved unreliable here (the
   * server sometimes leaves the exited command unreaped).
   */
  static async start(
    tmux: string,
    argv: string[],
    env: Record<string, string>,
    cwd: string,
  ): Promise<TmuxPane> {
    const pane = new TmuxPane(tmux, `tether-test-${process.pid}-${Date.now()}`)
    const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`
    const command = ['sh', '-c', '"$@"; echo "[exited $?]"', 'sh', ...argv].map(quote).join(' ')
    // The server takes its environment from this client. The pane starts idle so `remain-on-exit`
    // is on before the command runs (the screen stays readable after it ends), then the command
    // replaces the idle one.
    await pane.#run(['new-session', '-d', '-x', '120', '-y', '40', '-s', 'test', '-c', cwd, 'sleep 60'], env)
    await pane.#run(['set-option', '-t', 'test', 'remain-on-exit', 'on'])
    await pane.#run(['respawn-pane', '-k', '-t', 'test', '-c', cwd, command])
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

  /** Copies everything the pane prints from now on (cursor moves and cleared lines too) into `file`. */
  async recordTo(file: string): Promise<void> {
    await this.#run(['pipe-pane', '-o', '-t', 'test', `cat >> '${file.replaceAll("'", "'\\''")}'`])
  }

  /** Waits for the command to end and returns its exit status (null if it did not end in time). */
  async waitForExit(timeoutMs = 10_000): Promise<number | null> {
    const screen = await this.waitFor(
      (text) => /\[exited \d+\]/.test(text),
      'the command to exit',
      timeoutMs,
    ).catch(() => '')
    const match = /\[exited (\d+)\]/.exec(screen)
    return match ? Number(match[1]) : null
  }

  /** Stops this test's tmux server and removes its socket file (kill-server leaves it behind). */
  async kill(): Promise<void> {
    const socket = (await this.#run(['display-message', '-p', '#{socket_path}']).catch(() => '')).trim()
    await this.#run(['kill-server']).catch(() => {})
    if (socket !== '') await rm(socket, { force: true })
  }

  async #run(args: string[], env?: Record<string, string>): Promise<string> {
    const { stdout } = await run(this.#tmux, ['-L', this.#socket, ...args], env ? { env } : {})
    return stdout
  }
}
