/**
 * Atomic state changes, one Lua script each. Every script documents its KEYS, ARGV and return
 * value; all of them are idempotent, so a retried job or a duplicated call changes nothing twice.
 * A stream's end (retired, forgotten) is in retire-scripts.ts, the epoch marker in epoch-scripts.ts.
 */

import { UNPACK } from './packed.js';

/**
 * createStream: register a new stream version and point its path at it. The stream is marked
 * `recovered` (its chunks may already be in S3: workers check there before uploading) when the
 * caller says it is recovering (a start-up scan, a rescan after Redis lost its data), or when the
 * epoch marker is not the one the caller last saw: Redis lost its data (or failed over) and the
 * caller has not noticed yet. Deciding that here, atomically, closes the window between the loss
 * and the moment a process notices it. An id that belongs to a finished version (complete or
 * aborted: inode reuse on a filesystem without birth times) is left alone, its path key too.
 * KEYS[1] stream hash, KEYS[2] path key, KEYS[3] active set, KEYS[4] epoch key, KEYS[5] all-streams index
 * ARGV[1] stream id, ARGV[2] now (ms), ARGV[3] epoch the caller knows ('' = check nothing),
 * ARGV[4] '1' when recovering, ARGV[5…] field, value, field, value… of the stream hash
 * Returns {1, hash} when created, {0, hash} when an active stream of that id existed (its fields
 * are kept; the path is re-pointed), {-1} when the id is a finished version's; hash: the stream
 * hash as HGETALL gives it, so that the caller need not read it again.
 */
export const CREATE_STREAM = `
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'active' then return {-1} end
redis.call('SET', KEYS[2], ARGV[1])
if status then return {0, redis.call('HGETALL', KEYS[1])} end
-- a hash without a status is a stray field written as its stream was forgotten: not this stream's
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
local recovered = ARGV[4] == '1'
if ARGV[3] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[3] then recovered = true end
redis.call('HSET', KEYS[1], 'recovered', recovered and '1' or '0')
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[2], ARGV[1])
return {1, redis.call('HGETALL', KEYS[1])}
`;

/**
 * observeStream: record what the watcher saw of the file. A change of size or mtime is activity:
 * it moves the stream's score in the active set and reopens a complete stream (growth or a late
 * rewrite after finalize; the next metadata gets a higher revision). `idle` says the watcher saw
 * this size as final (the file was idle or sealed): the tail chunk may be planned; any change
 * clears it. When the caller is recovering (a rescan after Redis lost data) the stream is marked
 * `recovered`: another process may have created it after the loss, before the rescan reached it.
 * A reopened stream is marked recovered too: its chunk records were dropped when it completed.
 * A change of the file's change time (`ctimeNs`: the last look's for an active stream, the one
 * finalize saw for a complete one) is activity too: its bytes may have been rewritten in place with
 * the size and mtime put back (`rsync --inplace -t`), or only its inode changed (chmod, a link).
 * A finalize under way then does not complete the stream (COMPLETE_STREAM sees updatedAt moved),
 * and a complete stream reopens; finalize reads the file again and writes a new revision only
 * when its bytes differ.
 * KEYS[1] stream hash, KEYS[2] active set, KEYS[3] gone set
 * ARGV[1] stream id, ARGV[2] size, ARGV[3] mtime (ns, string), ARGV[4] now (ms), ARGV[5] '1' when idle,
 * ARGV[6] '1' when recovering, ARGV[7] change time (ns, string; '' when unknown)
 * A complete stream seen unchanged is left as it is: recovered and idle only matter to an upload.
 * A size below the recorded one is a stale look (see below) and changes nothing.
 * Returns {status, reopened (0|1), plannedBytes, committedBytes}; status 'missing' when the stream is unknown.
 */
export const OBSERVE_STREAM = `${UNPACK}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', 0, 0, 0} end
local packed = redis.call('HEXISTS', KEYS[1], 'done') == 1
local planned, committed
if packed then
  planned = tonumber(redis.call('HGET', KEYS[1], 'size'))
  committed = planned
else
  planned = tonumber(redis.call('HGET', KEYS[1], 'plannedBytes') or '0')
  committed = tonumber(redis.call('HGET', KEYS[1], 'committedBytes') or '0')
end
if status == 'aborted' then return {status, 0, planned, committed} end
-- the file's change time is not the one recorded (none is recorded for a stream completed by an
-- older vcu: it is compared from its next completion on)
local function ctime_moved()
  if ARGV[7] == '' then return false end
  local ctime = redis.call('HGET', KEYS[1], 'ctimeNs')
  return ctime ~= false and ctime ~= ARGV[7]
end
-- its file is there: not forgotten (it came back, e.g. put back after a deletion was called off)
redis.call('ZREM', KEYS[3], ARGV[1])
-- smaller than recorded: a look older than another process's (a truncation is a new stream, never
-- this one); it changes nothing, so that the size never falls below chunks planned from it
local recorded = redis.call('HGET', KEYS[1], 'size')
local stale = tonumber(ARGV[2]) < tonumber(recorded or '0')
local reopened = 0
if stale then
  -- nothing of this look is recorded
elseif recorded ~= ARGV[2] or redis.call('HGET', KEYS[1], 'mtimeNs') ~= ARGV[3] or ctime_moved() then
  if status == 'complete' then
    status = 'active'
    reopened = 1
    unpack_complete(KEYS[1])
    redis.call('HSET', KEYS[1], 'recovered', '1')
  end
  redis.call('HSET', KEYS[1], 'status', status, 'size', ARGV[2], 'mtimeNs', ARGV[3], 'updatedAt', ARGV[4], 'idle', ARGV[5])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
elseif status == 'active' and ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'idle', '1')
end
-- recovered and idle only matter to an upload: a complete stream unchanged keeps its compact hash
if status == 'active' and ARGV[6] == '1' then redis.call('HSET', KEYS[1], 'recovered', '1') end
if status == 'active' and not stale and ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'ctimeNs', ARGV[7]) end
return {status, reopened, planned, committed}
`;

/**
 * planStream: chunk jobs up to `plannedBytes` are enqueued; plannedBytes only ever grows, and only
 * while the stream is active (an aborted or finished stream plans nothing more).
 * KEYS[1] stream hash
 * ARGV[1] planned bytes
 * Returns the planned bytes now.
 */
export const PLAN_STREAM = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'active' then
  -- a complete stream's compact hash planned its whole file
  local planned = redis.call('HGET', KEYS[1], 'plannedBytes') or (status == 'complete' and redis.call('HGET', KEYS[1], 'size')) or '0'
  return tonumber(planned)
end
local planned = tonumber(redis.call('HGET', KEYS[1], 'plannedBytes') or '0')
if tonumber(ARGV[1]) > planned then
  planned = tonumber(ARGV[1])
  redis.call('HSET', KEYS[1], 'plannedBytes', ARGV[1])
end
return planned
`;

/**
 * recordChunk: store what was uploaded for one chunk and advance the committed offset, the
 * contiguous prefix of uploaded chunks. Recording the same chunk twice changes nothing. When the
 * committed prefix now covers the whole file as planned (every chunk enqueued: the tail too), the
 * stream joins the ready set, which the next "ready" finalize sweep takes. Deciding that here,
 * on the stream's current fields, matters: the watcher writes plannedBytes just after enqueueing
 * the tail chunk, so a worker's earlier read of the stream can be a moment behind. The record is
 * stamped with the epoch it was made in: finalize trusts a record of the current epoch without
 * asking S3 again (the PUT's answer proved it), and checks older ones. A record that replaces one
 * of other bytes (two uploads of one chunk, e.g. a tail read before and after its file grew) gets
 * no epoch, nor does one that replaces an unproven record: their PUTs may have landed in either
 * order, so no answer proves what the key holds, and finalize asks S3.
 * KEYS[1] stream hash, KEYS[2] chunks hash, KEYS[3] ready set, KEYS[4] epoch key
 * ARGV[1] chunk index, ARGV[2] chunk size, ARGV[3] chunk record (JSON), ARGV[4] chunk size of the stream, ARGV[5] stream id
 * Returns {committed chunks, 1 when the stream became ready else 0, committed bytes, planned bytes, size,
 * 1 when idle else 0, status}: what the caller needs to plan the next window; {-1} when the stream
 * is unknown, {-2} when it was aborted.
 */
export const RECORD_CHUNK = `${UNPACK}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {-1} end
if status == 'aborted' then return {-2} end
unpack_complete(KEYS[1])
local index = tonumber(ARGV[1])
local committed = tonumber(redis.call('HGET', KEYS[1], 'committedChunks') or '0')
local before = committed
local record = cjson.decode(ARGV[3])
record.epoch = redis.call('GET', KEYS[4]) or ''
local previous = redis.call('HGET', KEYS[2], ARGV[1])
if previous then
  local earlier = cjson.decode(previous)
  if earlier.epoch == '' or earlier.sha256 ~= record.sha256 or earlier.size ~= record.size then record.epoch = '' end
end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(record))
if index >= committed then
  while true do
    local record = redis.call('HGET', KEYS[2], tostring(committed))
    if not record then break end
    committed = committed + 1
  end
end
-- only the last chunk of a stream can be partial, so the prefix is full chunks plus its last one.
-- Its bytes change only when the prefix grew or its last chunk was recorded again; only then is
-- that chunk's record sure to be here (a reopened stream's older records come back later, from
-- its metadata.json, so a chunk past the gap finds none)
local bytes = tonumber(redis.call('HGET', KEYS[1], 'committedBytes') or '0')
if committed > 0 and (committed ~= before or index == committed - 1) then
  bytes = (committed - 1) * tonumber(ARGV[4]) + cjson.decode(redis.call('HGET', KEYS[2], tostring(committed - 1))).size
end
redis.call('HSET', KEYS[1], 'committedChunks', committed, 'committedBytes', bytes)
local size = tonumber(redis.call('HGET', KEYS[1], 'size') or '-1')
local planned = tonumber(redis.call('HGET', KEYS[1], 'plannedBytes') or '0')
local idle = redis.call('HGET', KEYS[1], 'idle') or '0'
local ready = 0
if status == 'active' and planned > 0 and planned == size and bytes >= size then
  redis.call('SADD', KEYS[3], ARGV[5])
  ready = 1
end
return {committed, ready, bytes, planned, size, tonumber(idle), status}
`;

/**
 * forgetChunk: drop the record of a chunk that S3 no longer holds as recorded, so it is uploaded again.
 * KEYS[1] stream hash, KEYS[2] chunks hash
 * ARGV[1] chunk index, ARGV[2] chunk size of the stream
 * Returns 1 when a record was removed, 0 otherwise.
 */
export const FORGET_CHUNK = `${UNPACK}
unpack_complete(KEYS[1])
local removed = redis.call('HDEL', KEYS[2], ARGV[1])
local index = tonumber(ARGV[1])
local committed = tonumber(redis.call('HGET', KEYS[1], 'committedChunks') or '0')
if index < committed then
  redis.call('HSET', KEYS[1], 'committedChunks', index, 'committedBytes', index * tonumber(ARGV[2]))
end
return removed
`;

/**
 * completeStream: metadata.json of `revision` is written; mark the stream complete unless the
 * file was seen changing since the finalize began (then it stays active for the next sweep).
 * A complete stream keeps only what tells an append or a replacement of its file, and what is
 * listed of it: its chunk records go (metadata.json in S3 holds them), its hash is packed (see
 * packed.ts: every field that follows from its size goes, generation 0 too, and its revision,
 * chunk size and times go into one field), ~130 bytes less for each finished stream Redis keeps. With
 * AFTER_UPLOAD=delete its file is due for deletion at ARGV[5]. It keeps the file's change time as
 * finalize saw it before reading the file (ARGV[6]): a later one reopens it (see OBSERVE_STREAM).
 * KEYS[1] stream hash, KEYS[2] active set, KEYS[3] chunks hash, KEYS[4] deletable set
 * ARGV[1] stream id, ARGV[2] revision, ARGV[3] updatedAt seen when finalize began, ARGV[4] now (ms),
 * ARGV[5] when its file may be deleted (ms), '' to keep it, ARGV[6] the file's change time (ns), '' when unknown
 * Returns 1 when complete, 0 when still active, -1 when the stream is unknown or aborted.
 */
export const COMPLETE_STREAM = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'aborted' then return -1 end
-- already complete and packed: a repeated call (the revision it wrote is the one it keeps)
if redis.call('HEXISTS', KEYS[1], 'done') == 1 then return 1 end
redis.call('HSET', KEYS[1], 'revision', ARGV[2], 'completedAt', ARGV[4])
if redis.call('HGET', KEYS[1], 'updatedAt') ~= ARGV[3] then return 0 end
local created = redis.call('HGET', KEYS[1], 'createdAt')
local after = string.format('%d', math.max(0, tonumber(ARGV[4]) - tonumber(created)))
redis.call('HSET', KEYS[1], 'status', 'complete', 'done', ARGV[2] .. ' ' .. redis.call('HGET', KEYS[1], 'chunkSize') .. ' ' .. created .. ' ' .. after)
redis.call('HDEL', KEYS[1], 'recovered', 'idle', 'reason', 'plannedBytes', 'committedChunks', 'committedBytes', 'updatedAt', 'revision', 'chunkSize', 'createdAt', 'completedAt')
if redis.call('HGET', KEYS[1], 'generation') == '0' then redis.call('HDEL', KEYS[1], 'generation') end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'ctimeNs', ARGV[6]) else redis.call('HDEL', KEYS[1], 'ctimeNs') end
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1]) end
return 1
`;

/**
 * restoreChunks: the chunk records of a reopened stream, from its metadata.json in S3 (they were
 * dropped when it completed). A record already there is kept. Restored records carry no epoch,
 * so finalize checks their objects in S3.
 * KEYS[1] chunks hash
 * ARGV[1…] index, record (JSON), index, record…
 * Returns how many were restored.
 */
export const RESTORE_CHUNKS = `
local restored = 0
for i = 1, #ARGV, 2 do restored = restored + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
return restored
`;
