export declare const sharedLayers: ReadonlyArray<{ readonly name: string; readonly folders: readonly string[] }>;
