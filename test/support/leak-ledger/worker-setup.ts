// Vitest setup file, run before every test file: names the test file in the leak ledger and taps every broker logger,
// every function served through the Functions Framework's getTestServer and every Firestore project, whichever harness
// creates them.
import { relative } from 'node:path';
import type * as FirestoreLibrary from '@google-cloud/firestore';
import type * as FunctionsTesting from '@google-cloud/functions-framework/testing';
import { beforeAll, beforeEach, expect, inject, vi } from 'vitest';
import type * as BrokerLogger from '../../../shared/log/logger.js';
import type * as FirestoreClient from '../../../shared/store/firestore-client.js';
import { startTestForDeleteTap, tapRecursiveDelete } from './firestore-tap.js';
import { recordTestFile, setLedgerTestFile } from '../../../local/leak-ledger/leak-recorder.js';

// Mocks in a setup file apply to every module the test file loads; each replacement only adds a tee: what the test sees is unchanged.
vi.mock('../../../shared/log/logger.js', async (importOriginal) => {
  const original = await importOriginal<typeof BrokerLogger>();
  const { teeLoggerOptions } = await import('./logger-tap.js');
  return {
    ...original,
    createLogger: (options?: BrokerLogger.LoggerOptions) => original.createLogger(teeLoggerOptions(options, original.severities)),
  };
});

vi.mock('@google-cloud/functions-framework/testing', async (importOriginal) => {
  const original = await importOriginal<typeof FunctionsTesting>();
  const { tapFunctionServer } = await import('./function-response-tap.js');
  return { ...original, getTestServer: (name: string) => tapFunctionServer(name, original.getTestServer(name)) };
});

vi.mock('../../../shared/store/firestore-client.js', async (importOriginal) => {
  const original = await importOriginal<typeof FirestoreClient>();
  const { noteClientProject } = await import('./firestore-tap.js');
  return {
    ...original,
    createFirestore: (config: Parameters<typeof original.createFirestore>[0]) => {
      noteClientProject(config);
      return original.createFirestore(config);
    },
    lazyFirestore: (config: Parameters<typeof original.lazyFirestore>[0]) => {
      noteClientProject(config);
      return original.lazyFirestore(config);
    },
  };
});

// Through a mock rather than an import here: the library loads only in test files that use it (it costs ~1 s to load).
vi.mock('@google-cloud/firestore', async (importOriginal) => {
  const original = await importOriginal<typeof FirestoreLibrary>();
  tapRecursiveDelete(original.Firestore, () => inject('firestoreEmulatorHost'));
  return original;
});

const testPath = expect.getState().testPath;
if (testPath) setLedgerTestFile(relative(process.cwd(), testPath));

// Only files that run tests get here (a file whose tests are all filtered out does not): these count toward "a broad run".
beforeAll(() => {
  recordTestFile();
});

beforeEach(() => {
  startTestForDeleteTap();
});
