// The deployed functions, one entry point each; Terraform and the local stack are checked against this list.
export const functionNames = ['authorize', 'callback', 'connections', 'token', 'proxy', 'admin', 'refresh', 'health'] as const;

export type FunctionName = (typeof functionNames)[number];

export function isFunctionName(value: string | undefined): value is FunctionName {
  return (functionNames as readonly string[]).includes(value ?? '');
}
