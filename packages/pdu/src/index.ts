export * from './errors.ts';
export * from './commands.ts';
export * from './frame.ts';
export * from './cipher.ts';
export * from './messages.ts';
