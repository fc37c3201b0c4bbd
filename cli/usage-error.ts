// A mistake on the command line: reported with the usage text and exit code 2, never sent anywhere.
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
