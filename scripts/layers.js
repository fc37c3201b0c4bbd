// The layers of shared/, top to bottom; a folder may import only from its own layer or the ones below.
// A test checks that every folder of shared/ is listed here, so a new folder cannot dodge the rule.
export const sharedLayers = [
  { name: 'use cases', folders: ['usecases'] },
  {
    name: 'adapters',
    folders: ['providers', 'oauth', 'crypto', 'store', 'auth', 'http', 'events', 'quotas'],
  },
  { name: 'foundation', folders: ['config', 'log', 'errors', 'time', 'async'] },
];
