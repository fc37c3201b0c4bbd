// The provider catalog folder: plain OAuth 2.0 providers defined as data, one JSON file each, with the documentation
// every fact was checked against (`sources`). A file here is a provider every deployment has; listed below so the
// build ships it, and test/shared/providers/provider-catalog.test.ts fails when a file in the folder is not listed.
import box from './box.json' with { type: 'json' };
import spotify from './spotify.json' with { type: 'json' };

export const catalogFiles: Readonly<Record<string, unknown>> = Object.freeze({
  'box.json': box,
  'spotify.json': spotify,
});

