/**
 * The epoch marker's scripts (see scripts.ts for the streams' and chunks'): the marker tells a
 * Redis that lost its data, or failed over, from the one vcu wrote to.
 */

/**
 * epochAndServer: the epoch marker (set first if Redis has none) and the run id of the server
 * that holds it, in one call so that both come from the same server (in a Cluster, the primary of
 * vcu's slot). A different run id with the same epoch is a failover (or a restart): the server
 * now answering may lack the writes acknowledged last, see the watcher's state guard.
 * KEYS[1] epoch key
 * ARGV[1] a new random epoch, used only when there is none
 * Returns {epoch, run id ('' when INFO is not allowed)}.
 */
export const EPOCH_AND_SERVER = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local ok, info = pcall(redis.call, 'INFO', 'server')
local runId = ''
if ok and type(info) == 'string' then runId = string.match(info, 'run_id:(%w+)') or '' end
return {redis.call('GET', KEYS[1]), runId}
`;

/**
 * renewEpoch: a new epoch marker in place of `ARGV[1]`, when that one is still there. Every chunk
 * record stamped with the old epoch is then checked in S3 again before finalize trusts it, as after
 * a data loss. Compare-and-set: two watchers renewing at once make one new epoch, not two.
 * KEYS[1] epoch key
 * ARGV[1] the epoch to replace, ARGV[2] the new one
 * Returns the epoch now.
 */
export const RENEW_EPOCH = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] or not current then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
return current
`;
