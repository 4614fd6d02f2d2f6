export { describeContainer, firstBoxType } from './container.js';
export {
  DEFAULT_MAX_BYTES_READ,
  DEFAULT_PROBE_TIMEOUT_MS,
  probeMp4,
  type Mp4Facts,
  type Mp4Probe,
  type Mp4Track,
  type ProbeMp4Options,
} from './probe.js';
