/** One generated file, relative to the output folder. */
export interface Artifact { path: string; content: string; mode?: number }
