/**
 * The end of a stream's life in Redis (see scripts.ts for its creation and progress): retired
 * when its file is gone, replaced or emptied, and forgotten some time after its file left.
 */

/**
 * retireStream: the file of this stream is gone, replaced or truncated. An unfinished stream
 * becomes aborted with the reason; a complete one stays complete. Either way it leaves the active
 * set; it is forgotten FORGET_AFTER_MS later (the gone set), or, while its file stays there,
 * when a newer stream holds its path (see FORGET_STREAM). Its path stops pointing at it, except
 * for a truncation: the file is still there (emptied, before it is written again), and its next
 * bytes must see this stream, marked `reason` 'truncated', to take the next generation
 * (decideVersion), however long it stays empty and however often it is emptied again. An emptied
 * file also leaves the deletable set: AFTER_UPLOAD=delete has nothing of this stream left to delete
 * (unless it has moved the file aside already: that deletion ends as it would). A file gone or
 * replaced stays in it: the very file may come back, and is then deleted as planned.
 * Its objects in S3 are never touched.
 * KEYS[1] stream hash, KEYS[2] active set, KEYS[3] path key, KEYS[4] gone set, KEYS[5] aborted set,
 * KEYS[6] deletable set
 * ARGV[1] stream id, ARGV[2] reason, ARGV[3] now (ms)
 * Returns the status the stream had ('missing' when unknown).
 */
export const RETIRE_STREAM = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
local truncated = ARGV[2] == 'truncated'
if status == 'active' then
  redis.call('HSET', KEYS[1], 'status', 'aborted', 'reason', ARGV[2], 'updatedAt', ARGV[3])
  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
elseif truncated then
  redis.call('HSET', KEYS[1], 'reason', ARGV[2])
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[4], 'NX', ARGV[3], ARGV[1])
if truncated and redis.call('HEXISTS', KEYS[1], 'deletingAs') == 0 then redis.call('ZREM', KEYS[6], ARGV[1]) end
if not truncated and redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return status
`;

/**
 * forgetStream: a stream whose file left WATCH_DIR FORGET_AFTER_MS ago: its metadata.json in S3
 * is its record now, and Redis drops it. A stream whose file came back (active again) stays, and
 * one whose file AFTER_UPLOAD=delete is deleting waits for that to end (it stays in the gone set).
 * A stream whose very file is still at its path, and which no newer stream replaced there (its
 * file was emptied: see RETIRE_STREAM), stays too, and is looked at again FORGET_AFTER_MS later:
 * its record is what gives the file's next bytes the next generation, where a forgotten one
 * would let them take an earlier version's stream id and overwrite its objects.
 * KEYS[1] stream hash, KEYS[2] chunks hash, KEYS[3] path key, KEYS[4] all-streams index,
 * KEYS[5] active set, KEYS[6] gone set, KEYS[7] ready set, KEYS[8] deletable set, KEYS[9] aborted set
 * ARGV[1] stream id, ARGV[2] '1' when its very file is still at its path, ARGV[3] now (ms)
 * Returns 1 when forgotten, 0 when kept.
 */
export const FORGET_STREAM = `
if redis.call('HEXISTS', KEYS[1], 'deletingAs') == 1 then return 0 end
local holder = redis.call('GET', KEYS[3])
if ARGV[2] == '1' and (not holder or holder == ARGV[1]) then
  redis.call('ZADD', KEYS[6], 'XX', ARGV[3], ARGV[1])
  return 0
end
redis.call('ZREM', KEYS[6], ARGV[1])
if redis.call('HGET', KEYS[1], 'status') == 'active' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
if holder == ARGV[1] then redis.call('DEL', KEYS[3]) end
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[7], ARGV[1])
redis.call('ZREM', KEYS[8], ARGV[1])
redis.call('ZREM', KEYS[9], ARGV[1])
return 1
`;
