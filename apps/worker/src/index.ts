export * from './worker.ts';
export * from './teamtalk.ts';
