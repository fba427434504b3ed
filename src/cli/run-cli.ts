import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { cac } from 'cac'
import type { z } from 'zod'
import type { CommandContext } from './cli-command.ts'
import { UsageError } from './cli-errors.ts'
import { type CommandSpec, commandTable, globalOptions, type OptionSpec } from './command-table.ts'
import { ExitCode } from './exit-codes.ts'
import { reportError } from './report-error.ts'
import { writeLines } from './write-lines.ts'

/**
 * Runs one `tether` command line and returns the exit code; never exits the process itself.
 * cac matches the command and prints help; the flag values are then read again with Node's
 * `parseArgs`, which keeps every value a string (cac's parser turns `--session 007` into the number
 * 7), and validated by the command's zod schema.
 */
export async function runCli(argv: string[], context: CommandContext): Promise<number> {
  const debug = argv.includes('--debug')
  try {
    // `sessions` groups subcommands: cac matches one word, so the group gets a program of its own.
    // (Only switches are global, so the first word that is not a flag is the command.)
    const commandAt = argv.findIndex((arg) => !arg.startsWith('-'))
    const group = argv[commandAt] === 'sessions' ? 'sessions' : undefined
    const rest = group === undefined ? argv : argv.filter((_, index) => index !== commandAt)
    const specs = commandTable.filter((spec) =>
      group === undefined ? !spec.name.includes(' ') : spec.name.startsWith(`${group} `),
    )
    const programName = group === undefined ? 'tether' : `tether ${group}`
    const program = buildProgram(programName, specs, group)
    if (rest.includes('--version') || rest.includes('-v')) program.version(packageVersion())
    program.parse(['node', programName, ...rest], { run: false })
    if (program.options.help || program.options.version) return ExitCode.ok
    const matched = program.matchedCommand
    if (!matched) {
      if (rest.length === 0) {
        program.outputHelp()
        return ExitCode.ok
      }
      throw new UsageError(`Unknown command "${rest[0]}"; \`${programName} --help\` lists the commands.`)
    }
    const fullName = group === undefined ? matched.name : `${group} ${matched.name}`
    const spec = specs.find((candidate) => candidate.name === fullName)
    if (!spec) throw new UsageError(`Unknown command "${matched.name}".`)
    const raw = readInput(spec, rest)
    const { command } = await spec.load()
    const parsed = command.input.safeParse(raw.input)
    if (!parsed.success) throw usageFromZod(spec, parsed.error)
    const result = await command.run(parsed.data, context)
    const lines =
      raw.json === true
        ? (command.renderJson?.(result.data, parsed.data) ?? [JSON.stringify(result.data, null, 2)])
        : (command.render?.(result.data, parsed.data) ?? [])
    await writeLines(context.stdout, lines)
    return result.exitCode ?? ExitCode.ok
  } catch (error) {
    const report = reportError(error, debug)
    await writeLines(context.stderr, report.lines)
    return report.exitCode
  }
}

function buildProgram(name: string, specs: CommandSpec[], group: string | undefined) {
  const program = cac(name)
  for (const spec of specs) {
    const word = group === undefined ? spec.name : spec.name.slice(group.length + 1)
    const command = program.command(spec.args === undefined ? word : `${word} ${spec.args}`, spec.description)
    if (spec.usage !== undefined) command.usage(spec.usage)
    for (const option of spec.options) command.option(option.flags, option.description)
    for (const example of spec.examples ?? []) command.example(example)
  }
  if (group === undefined) {
    program.command(
      'sessions <command>',
      'Manage stored sessions: list, show, export, import, delete, repair, verify, migrate, encrypt, copy (tether sessions --help)',
    )
  }
  for (const option of globalOptions) program.option(option.flags, option.description)
  program.help()
  return program
}

function optionName(option: OptionSpec): string {
  const match = /--([a-z][a-z0-9-]*)/.exec(option.flags)
  if (!match?.[1]) throw new Error(`command table: bad flags "${option.flags}"`)
  return match[1]
}

const camelCase = (name: string) => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())

/** The command's flags (camelCased) and positional arguments (by their names in the table), as strings. */
function readInput(spec: CommandSpec, args: string[]): { input: Record<string, unknown>; json: unknown } {
  const options = [...spec.options, ...globalOptions]
  const config = Object.fromEntries(
    options.map((option) => [
      optionName(option),
      { type: option.flags.includes('<') ? 'string' : 'boolean' },
    ]),
  ) as Record<string, { type: 'string' | 'boolean' }>
  let values: Record<string, unknown>
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({ args, options: config, strict: true, allowPositionals: true }))
  } catch (error) {
    const message = error instanceof Error ? error.message.split('. ')[0] : String(error)
    throw new UsageError(`${message} (tether ${spec.name} --help lists the options).`)
  }
  const declared = [...(spec.args ?? '').matchAll(/([<[])([a-z-]+)[>\]]/g)].map((match) => ({
    name: match[2] ?? '',
    required: match[1] === '<',
  }))
  const given = positionals.slice(1)
  const input: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(values)) input[camelCase(name)] = value
  for (const [position, arg] of declared.entries()) {
    const value = given[position]
    if (value === undefined && arg.required) {
      throw new UsageError(`Missing <${arg.name}>: tether ${spec.name} ${spec.args}`)
    }
    if (value !== undefined) input[camelCase(arg.name)] = value
  }
  if (given.length > declared.length) {
    throw new UsageError(`Unexpected argument "${given[declared.length]}" for tether ${spec.name}.`)
  }
  return { input, json: values.json }
}

/** The first problem, named the way the user typed it: `--window` or `<id>`. */
function usageFromZod(spec: CommandSpec, error: z.ZodError): UsageError {
  const issue = error.issues[0]
  const key = typeof issue?.path[0] === 'string' ? issue.path[0] : ''
  const kebab = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)
  const isArg =
    (spec.args ?? '').includes(`${kebab}`) && !spec.options.some((option) => optionName(option) === kebab)
  const where = key === '' ? '' : isArg ? `<${kebab}>: ` : `--${kebab}: `
  return new UsageError(`${where}${issue?.message ?? 'invalid input'} (tether ${spec.name} --help).`)
}

function packageVersion(): string {
  // src/cli and dist/cli both sit two levels below the package root.
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version?: string }).version ?? 'unknown'
}
