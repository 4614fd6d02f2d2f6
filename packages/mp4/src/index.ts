export { describeContainer } from './container.js';
export {
  probeMp4,
  type Mp4Facts,
  type Mp4Probe,
  type Mp4Track,
  type ProbeMp4Options,
} from './probe.js';
