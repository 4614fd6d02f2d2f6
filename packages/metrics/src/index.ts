export { type HealthCheck, type HealthReport, createHealthCheck } from './health.js';
export { type Metrics, type MetricsSources, createMetrics } from './metrics.js';
export { healthResponse, serveMetrics } from './server.js';
