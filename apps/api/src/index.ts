export * from './app.ts';
export * from './server.ts';
export * from './metrics.ts';
