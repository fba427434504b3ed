/**
 * An agent with one tool, against any OpenAI-compatible server (Ollama, vLLM, LM Studio,
 * llama.cpp) or OpenAI itself.
 *
 *   ollama pull qwen3:8b
 *   MODEL=qwen3:8b npm run example -- openai-compatible-tool
 *
 * Environment: OPENAI_BASE_URL (default http://localhost:11434/v1, Ollama's), MODEL (default
 * qwen3:8b, which calls tools well), OPENAI_API_KEY (only if the server wants one), PROMPT.
 */
import { z } from 'zod'
import { Agent, tool } from '../src/index.ts'
import { OpenAIModel } from '../src/models/openai/index.ts'

const add = tool({
  name: 'add',
  description: 'Adds two numbers exactly. Use it for any addition.',
  inputSchema: z.object({ a: z.number(), b: z.number() }),
  callback: ({ a, b }) => ({ sum: a + b }),
})

const model = new OpenAIModel({
  model: process.env.MODEL ?? 'qwen3:8b',
  baseURL: process.env.OPENAI_BASE_URL ?? 'http://localhost:11434/v1',
})

const agent = new Agent({
  model,
  tools: [add],
  systemPrompt: 'You are a careful assistant. Use the add tool for arithmetic, then answer in one sentence.',
})

const prompt = process.env.PROMPT ?? 'What is 1234 + 5678?'
console.log(`> ${prompt}`)
for await (const event of agent.stream(prompt)) {
  if (event.type === 'text-delta') process.stdout.write(event.text)
  if (event.type === 'tool-use-end') {
    const { toolUse, result } = event
    console.log(
      `\n[tool] ${toolUse.name}(${JSON.stringify(toolUse.input)}) -> ${JSON.stringify(result.content)}`,
    )
  }
  if (event.type === 'result') {
    const { stopReason, usage } = event.result
    console.log(`\n[done] stop: ${stopReason}, tokens in/out: ${usage.inputTokens}/${usage.outputTokens}`)
  }
}
