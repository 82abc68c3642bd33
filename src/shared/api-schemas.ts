// Why: the answers every door shares, as named schemas (/docs lists them under components.schemas, so a
// generated client gets one Error type): the catalogue's error body, and the helper that adds such
// schemas to the app once. fastify serialises a route's answers with its response schemas (dropping
// what a schema does not name), so open shapes say additionalProperties: true.

import { Type, type SchemaOptions, type TSchema, type TUnsafe } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ERRORS } from './errors.ts';

/** A string of a closed set, as one `enum` (a union of literals reads as anyOf in /docs). */
export function StringEnum<T extends string>(values: readonly T[], options: SchemaOptions = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ ...options, type: 'string', enum: [...values] });
}

/** `{error:{code,message}}`, plus the detail fields some codes carry (errorName, tenant, state, reason). */
export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: StringEnum(Object.keys(ERRORS), { description: 'Stable code from the catalogue (src/shared/errors.ts); match on it, never on the message.' }),
        message: Type.String(),
        errorName: Type.Optional(Type.String({ description: 'The engine\'s or Trino\'s error name, when there is one (e.g. SYNTAX_ERROR).' })),
      },
      { additionalProperties: true, description: 'Some codes carry detail fields: errorName, tenant (FORBIDDEN), state and reason (CONFLICT, LEASE_LOST).' },
    ),
  },
  { $id: 'Error', description: 'An error, in the catalogue\'s shape' },
);

/** A reference to a shared schema (added with addSharedSchemas), by its $id. */
export function ref(schema: TSchema): TSchema {
  if (typeof schema.$id !== 'string') throw new Error('a shared schema needs an $id');
  return Type.Ref(schema.$id);
}

/** Response entries for a route whose every 4xx and 5xx is the catalogue's error body. */
export const errorResponses = { '4xx': ref(ErrorBody), '5xx': ref(ErrorBody) };

/** Adds named schemas (each with an $id) to the app, once: several doors share some of them. */
export function addSharedSchemas(app: FastifyInstance, ...schemas: TSchema[]): void {
  for (const schema of schemas) {
    if (typeof schema.$id !== 'string') throw new Error('a shared schema needs an $id');
    if (app.getSchema(schema.$id) === undefined) app.addSchema(schema);
  }
}
