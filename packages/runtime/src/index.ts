export { type Observation, type ObserveOptions, type Observe, type ObserverDeps, createObserver } from './observe.js';
export { type ShutdownOptions, type ShutdownStep, onShutdown } from './lifecycle.js';
export { type Connected, connect } from './connect.js';
export { createLimiter } from './limit.js';
