// Creates the Firestore client once per process; talks to the emulator when the config names one.
import { Firestore } from '@google-cloud/firestore';
import { lazy } from '../async/lazy.js';
import type { Config } from '../config/config.js';

export function createFirestore(config: Config): Firestore {
  const { emulatorHost, databaseId } = config.firestore;
  if (emulatorHost) {
    // Explicit rather than relying on the library reading FIRESTORE_EMULATOR_HOST itself: the config
    // is the one place that decides where data goes.
    return new Firestore({
      projectId: config.projectId,
      databaseId,
      host: emulatorHost,
      ssl: false,
      customHeaders: { Authorization: 'Bearer owner' },
      // Without it the client asks google-auth-library for the universe domain, which probes the GCE
      // metadata server: a needless off-machine call locally, and seconds of delay.
      universeDomain: 'googleapis.com',
      ignoreUndefinedProperties: true,
    });
  }
  return new Firestore({ projectId: config.projectId, databaseId, ignoreUndefinedProperties: true });
}

/** A lazily created shared client; a failed creation is not cached, so the next call tries again. */
export function lazyFirestore(config: Config): () => Firestore {
  return lazy(() => createFirestore(config));
}
