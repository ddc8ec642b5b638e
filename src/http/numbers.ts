// Ajv coerces the text "Infinity" (or "1e309") of a query string, a path or a JSON string into
// the number Infinity and then skips minimum and maximum, which only test finite numbers — so a
// bounded `limit` could reach a handler as Infinity. This hook runs after validation and refuses
// any number that is not finite, wherever it sits, with the same 400 as a schema failure.
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';

function nonFinite(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (value === null || typeof value !== 'object' || depth > 16) return undefined;
  for (const [name, inner] of Object.entries(value)) {
    const found = nonFinite(inner, `${path}/${name}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export async function refuseNonFiniteNumbers(request: FastifyRequest): Promise<void> {
  const parts = [
    ['querystring', request.query],
    ['params', request.params],
    ['body', request.body],
  ] as const;
  for (const [part, value] of parts) {
    const where = nonFinite(value, part);
    if (where) throw new HttpError('validation_failed', `${where} must be a finite number`);
  }
}
