// A complete stream's packed hash, undone in Lua: shared by the scripts that change a stream's progress.

/**
 * A complete stream keeps a packed hash (COMPLETE_STREAM packs it): no field an upload needs, and
 * its revision, chunk size and times in one field, `done`: "<revision> <chunkSize> <createdAt>
 * <completedAt - createdAt>" (ms). What it dropped follows from what it kept: a complete stream
 * planned and committed its whole file (size), in ceil(size / chunkSize) chunks; its last change
 * is its completion. `unpack_complete(key)` puts the full hash back, for a script that changes the
 * stream's progress (a reopened stream, a late chunk). parseStream (records.ts) reads both;
 * COMPLETE_STREAM (scripts.ts) packs it.
 */
export const UNPACK = `
local function unpack_complete(key)
  local done = redis.call('HGET', key, 'done')
  if not done then return end
  local revision, chunk, created, after = string.match(done, '^(%d+) (%d+) (%d+) (%d+)$')
  local completed = string.format('%d', tonumber(created) + tonumber(after))
  local size = redis.call('HGET', key, 'size')
  local chunks = math.ceil(tonumber(size) / tonumber(chunk))
  redis.call('HSET', key, 'revision', revision, 'chunkSize', chunk, 'createdAt', created, 'completedAt', completed, 'updatedAt', completed,
    'plannedBytes', size, 'committedChunks', chunks, 'committedBytes', size, 'generation', redis.call('HGET', key, 'generation') or '0')
  redis.call('HDEL', key, 'done')
end
`;
