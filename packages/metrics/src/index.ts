export { type HealthCheck, type HealthReport, type Part, type PartState, createHealthCheck, healthLogger } from './health.js';
export { type Metrics, type MetricsSources, createMetrics } from './metrics.js';
export { type HealthDetail, healthResponse, serveMetrics } from './server.js';
