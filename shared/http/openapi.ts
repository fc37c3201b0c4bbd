// Builds an OpenAPI 3.0 document from the zod schemas an API validates with, so the document cannot drift from the code.
import { z } from 'zod';
import type { ProblemBody } from '../../client/wire.js';
import { errorCodes } from '../errors/error-codes.js';

export type ApiMethod = 'get' | 'post';

/** One operation as the router and the document both see it. */
export interface ApiOperationDescription {
  readonly method: ApiMethod;
  /** OpenAPI path template, e.g. `/api/connections/{connectionId}`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly params: z.ZodObject;
  readonly query: z.ZodObject;
  /** Absent: the operation takes no body. */
  readonly body?: z.ZodType;
  readonly response: z.ZodType;
  /** The success status (200 unless said otherwise). */
  readonly status?: number;
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
}

export interface OpenApiSecurity {
  /** components.securitySchemes, as OpenAPI spells them. */
  readonly schemes: Readonly<Record<string, JsonSchema>>;
  /** Any one of these names suffices. */
  readonly anyOf: readonly string[];
}

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const converted = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as JsonSchema;
  const { $schema: _schema, ...rest } = converted;
  return rest;
}

function parameters(schema: z.ZodObject, where: 'path' | 'query'): JsonSchema[] {
  const converted = jsonSchema(schema, 'input');
  const properties = (converted.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((converted.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      schema: propertySchema,
      ...(typeof description === 'string' ? { description } : {}),
    };
  });
}

// The problem body of the wire contract, as JSON Schema: the compiler holds its fields to ProblemBody's.
const problemSchema: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'code'] satisfies readonly (keyof ProblemBody)[],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', enum: [...errorCodes] },
    detail: { type: 'string' },
    retryable: { type: 'boolean' },
    details: { type: 'object', additionalProperties: true },
  } satisfies Record<keyof ProblemBody, JsonSchema>,
};

export function openApiDocument(info: OpenApiInfo, operations: readonly ApiOperationDescription[], security?: OpenApiSecurity): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const operation of operations) {
    const problem = { description: 'A problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    const entry: JsonSchema = {
      operationId: operation.operationId,
      summary: operation.summary,
      parameters: [...parameters(operation.params, 'path'), ...parameters(operation.query, 'query')],
      responses: {
        [String(operation.status ?? 200)]: {
          description: 'Success',
          content: { 'application/json': { schema: jsonSchema(operation.response, 'output') } },
        },
        '400': problem,
        '401': problem,
        '403': problem,
        '404': problem,
        default: problem,
      },
    };
    if (operation.body !== undefined) {
      entry.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(operation.body, 'input') } } };
    }
    (paths[operation.path] ??= {})[operation.method] = entry;
  }
  return {
    openapi: '3.0.3',
    info: { ...info },
    ...(security === undefined ? {} : { security: security.anyOf.map((name) => ({ [name]: [] })) }),
    paths,
    components: { schemas: { Problem: problemSchema }, ...(security === undefined ? {} : { securitySchemes: { ...security.schemes } }) },
  };
}
