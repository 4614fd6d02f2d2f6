export { type ShutdownOptions, type ShutdownStep, onShutdown } from './lifecycle.js';
export { type Connected, connect } from './connect.js';
export { createLimiter } from './limit.js';
export { LruMap } from './lru.js';
