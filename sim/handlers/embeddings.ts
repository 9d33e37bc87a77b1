// POST /v1/embeddings

import type { Handler } from '../context.js';
import { sendJson } from '../http.js';
import { hashString, makeRandom } from '../random.js';

/** A unit vector that depends only on the text. */
export function embeddingVector(text: string, dim: number): Float32Array {
  const random = makeRandom(hashString(String(text)));
  const v: number[] = new Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = random() * 2 - 1;
    norm += v[i]! * v[i]!;
  }
  norm = Math.sqrt(norm) || 1;
  // Round through float32 so float and base64 encodings carry the very same values.
  return new Float32Array(v.map((x) => x / norm));
}

export const handleEmbeddings: Handler = (ctx, body, p) => {
  const { res } = ctx;
  const model = typeof body.model === 'string' ? body.model : 'sim-embedding';
  const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input ?? ''];
  const dim = Number.isInteger(body.dimensions) && (body.dimensions as number) > 0 ? (body.dimensions as number) : p.embeddingDim;
  const base64 = body.encoding_format === 'base64';
  ctx.run([
    {
      at: Math.max(p.headerDelayMs ?? 0, p.ttftMs),
      fn: () => {
        if (p.dropAfterChunks !== undefined) return ctx.drop();
        const data = inputs.map((input, index) => {
          const f32 = embeddingVector(typeof input === 'string' ? input : JSON.stringify(input), dim);
          let embedding: string | number[];
          if (base64) {
            const buf = Buffer.alloc(dim * 4);
            for (let i = 0; i < dim; i++) buf.writeFloatLE(f32[i]!, i * 4);
            embedding = buf.toString('base64');
          } else {
            embedding = Array.from(f32);
          }
          return { object: 'embedding', index, embedding };
        });
        const out: Record<string, unknown> = { object: 'list', data, model };
        if (!p.noUsage) out.usage = { prompt_tokens: p.promptTokens, total_tokens: p.promptTokens };
        sendJson(res, 200, out);
      },
    },
  ]);
};
