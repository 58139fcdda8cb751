"""The spend store in Redis: each change is one Lua script, which Redis runs with nothing else in between.

Keys, after the deployment's prefix (settings.redis_key_prefix + "ads:"):
  budget:<budget key>          hash  s (spent), r (reserved)
  res:<reservation id>         hash  a (amount), k (budget keys, JSON), st (r reserved | c charged),
                                     x (expires, ms since the epoch), p (price charged)
  pending                      sorted set of reservation ids by expiry (what release_expired walks)
  freq:<subject>:<scope>       hash  advertiser day (date ordinal) -> ads served that day

The subject ("u:<user id>" or "b:<browser id>") is in the frequency key, so a person's counters are
found for erasure with one SCAN over `freq:u:<id>:*` (a rare request: a pass over the keyspace). The
scripts touch budget keys they read from the reservation, which only a single Redis (not a cluster,
whose keys live on different shards) allows. Lifetimes come from the times the caller passes, not from
Redis's clock: Redis expiry only cleans up frequency counters no window can reach and charged
reservations kept past their token's life. A held reservation never expires by itself (its hold would
be lost with it); release_expired frees it. Budget counters never expire, so run Redis with persistence
(appendonly): a Redis that forgets its counters would let budgets spend again from zero.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from tastegraph.ads.spend._model import (
    KEPT_DAYS,
    Budget,
    ChargeOutcome,
    FrequencyCap,
    Reservation,
    ReserveOutcome,
    Spend,
    check_price,
    check_reservation_id,
    check_reserve,
    check_time,
    dated,
    window_count,
)

# Frequency hashes live as long as the database's rows: the kept days plus one (time zones), in seconds.
FREQUENCY_TTL_SECONDS = (KEPT_DAYS + 1) * 86_400
# A charged reservation is kept this long past its expiry at most (release_expired deletes it sooner).
CHARGED_GRACE_MS = 86_400_000

_RESERVE = """
-- KEYS: reservation, pending, the budgets, the frequency counters
-- ARGV: id, amount, expires (ms), budget keys (JSON), #budgets, #caps, frequency ttl (s), kept days,
--       a limit per budget, then cap, today, window days per cap
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local nb, nc = tonumber(ARGV[5]), tonumber(ARGV[6])
local amount, kept = tonumber(ARGV[2]), tonumber(ARGV[8])
for i = 1, nc do
  local base = 8 + nb + (i - 1) * 3
  local cap, today, days = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local fields = redis.call('HGETALL', KEYS[2 + nb + i])
  local served = 0
  for j = 1, #fields, 2 do
    if tonumber(fields[j]) > today - days then served = served + tonumber(fields[j + 1]) end
  end
  if served + 1 > cap then return 2 end
end
for i = 1, nb do
  local v = redis.call('HMGET', KEYS[2 + i], 's', 'r')
  if (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0) + amount > tonumber(ARGV[8 + i]) then return 1 end
end
for i = 1, nc do
  local key, today = KEYS[2 + nb + i], ARGV[8 + nb + (i - 1) * 3 + 2]
  for _, day in ipairs(redis.call('HKEYS', key)) do
    if tonumber(day) <= tonumber(today) - kept then redis.call('HDEL', key, day) end
  end
  redis.call('HINCRBY', key, today, 1)
  redis.call('EXPIRE', key, ARGV[7])
end
for i = 1, nb do redis.call('HINCRBY', KEYS[2 + i], 'r', ARGV[2]) end
redis.call('HSET', KEYS[1], 'a', ARGV[2], 'k', ARGV[4], 'st', 'r', 'x', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 0
"""

_CHARGE = """
-- KEYS: reservation, pending; ARGV: id, price, now (ms), budget key prefix, keep charged for (ms)
local v = redis.call('HMGET', KEYS[1], 'a', 'k', 'st', 'x')
if not v[1] then return 'expired' end
if v[3] == 'c' then return 'duplicate' end
local keys = cjson.decode(v[2])
if tonumber(ARGV[3]) > tonumber(v[4]) then
  for _, k in ipairs(keys) do redis.call('HINCRBY', ARGV[4] .. k, 'r', '-' .. v[1]) end
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 'expired'
end
if tonumber(ARGV[2]) > tonumber(v[1]) then
  return redis.error_reply('price_micro: over the amount reserved')
end
for _, k in ipairs(keys) do
  redis.call('HINCRBY', ARGV[4] .. k, 'r', '-' .. v[1])
  redis.call('HINCRBY', ARGV[4] .. k, 's', ARGV[2])
end
redis.call('HSET', KEYS[1], 'st', 'c', 'p', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 'charged'
"""

_RELEASE = """
-- KEYS: reservation, pending; ARGV: id, budget key prefix
local v = redis.call('HMGET', KEYS[1], 'a', 'k', 'st')
if not v[1] or v[3] ~= 'r' then return 0 end
for _, k in ipairs(cjson.decode(v[2])) do redis.call('HINCRBY', ARGV[2] .. k, 'r', '-' .. v[1]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

_RELEASE_EXPIRED = """
-- KEYS: pending; ARGV: now (ms), batch, reservation key prefix, budget key prefix
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local freed = 0
for _, id in ipairs(ids) do
  local key = ARGV[3] .. id
  local v = redis.call('HMGET', key, 'a', 'k', 'st')
  if v[1] and v[3] == 'r' then
    for _, k in ipairs(cjson.decode(v[2])) do redis.call('HINCRBY', ARGV[4] .. k, 'r', '-' .. v[1]) end
    freed = freed + 1
  end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], id)
end
return {freed, #ids}
"""

_OUTCOMES: dict[int, ReserveOutcome] = {0: "reserved", 1: "budget", 2: "frequency"}


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisSpend:
    def __init__(self, url: str, prefix: str = "tastegraph:ads:", *, client: Any = None) -> None:
        import redis  # only when configured

        self.client: Any = client or redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        self._budget = prefix + "budget:"
        self._res = prefix + "res:"
        self._pending = prefix + "pending"
        self._reserve = self.client.register_script(_RESERVE)
        self._charge = self.client.register_script(_CHARGE)
        self._release = self.client.register_script(_RELEASE)
        self._release_expired = self.client.register_script(_RELEASE_EXPIRED)

    def _freq(self, cap: FrequencyCap) -> str:
        return f"{self.prefix}freq:{cap.subject.key}:{cap.scope}"

    # --- serving -----------------------------------------------------------------------------------

    def reserve(
        self,
        reservation_id: str,
        amount_micro: int,
        budgets: Sequence[Budget],
        caps: Sequence[FrequencyCap],
        *,
        now: datetime,
        expires_at: datetime,
    ) -> ReserveOutcome:
        check_reserve(reservation_id, amount_micro, budgets, caps, now, expires_at)
        ordered = sorted(budgets, key=lambda b: b.key)
        keys = [self._res + reservation_id, self._pending]
        keys += [self._budget + b.key for b in ordered] + [self._freq(c) for c in caps]
        args: list[str | int] = [
            reservation_id,
            amount_micro,
            _ms(expires_at),
            json.dumps([b.key for b in ordered]),
            len(ordered),
            len(caps),
            FREQUENCY_TTL_SECONDS,
            KEPT_DAYS,
            *(b.limit_micro for b in ordered),
        ]
        for c in caps:
            args += [c.cap, c.today.toordinal(), c.days]
        result = int(self._reserve(keys=keys, args=args))
        if result == -1:
            raise ValueError(f"reservation_id: {reservation_id!r} was used before")
        return _OUTCOMES[result]

    def reserve_many(self, items: Sequence[Reservation], *, now: datetime) -> list[ReserveOutcome]:
        # Each reservation is one atomic script already (a round trip of well under a millisecond).
        # A page is not one transaction here: an id used before (a bug in the caller) releases what this
        # call reserved before it is raised, so the page leaves nothing held.
        out: list[ReserveOutcome] = []
        try:
            for item in items:
                out.append(
                    self.reserve(
                        item.reservation_id,
                        item.amount_micro,
                        item.budgets,
                        item.caps,
                        now=now,
                        expires_at=item.expires_at,
                    )
                )
                if out[-1] != "reserved":
                    break
        except ValueError:
            for item, outcome in zip(items, out, strict=False):
                if outcome == "reserved":
                    self.release(item.reservation_id, now)
            raise
        return out

    def charge(self, reservation_id: str, price_micro: int, now: datetime) -> ChargeOutcome:
        import redis

        check_reservation_id(reservation_id)
        check_price(price_micro)
        check_time("now", now)
        try:
            outcome = self._charge(
                keys=[self._res + reservation_id, self._pending],
                args=[reservation_id, price_micro, _ms(now), self._budget, CHARGED_GRACE_MS],
            )
        except redis.ResponseError as err:
            if "price_micro" in str(err):
                raise ValueError(str(err)) from err
            raise
        text = outcome.decode() if isinstance(outcome, bytes) else str(outcome)
        assert text in ("charged", "duplicate", "expired")
        return text  # type: ignore[return-value]

    def release(self, reservation_id: str, now: datetime) -> bool:
        check_reservation_id(reservation_id)
        check_time("now", now)
        keys = [self._res + reservation_id, self._pending]
        return int(self._release(keys=keys, args=[reservation_id, self._budget])) == 1

    def release_expired(self, now: datetime, batch: int = 500) -> int:
        check_time("now", now)
        freed = 0
        while True:
            done, seen = self._release_expired(
                keys=[self._pending], args=[_ms(now), batch, self._res, self._budget]
            )
            freed += int(done)
            if int(seen) < batch:
                return freed

    # --- reading -----------------------------------------------------------------------------------

    def spent(self, keys: Sequence[str]) -> dict[str, Spend]:
        pipe = self.client.pipeline(transaction=False)
        for k in keys:
            pipe.hmget(self._budget + k, "s", "r")
        return {k: Spend(int(s or 0), int(r or 0)) for k, (s, r) in zip(keys, pipe.execute(), strict=True)}

    def served(self, caps: Sequence[FrequencyCap]) -> list[int]:
        pipe = self.client.pipeline(transaction=False)
        for c in caps:
            pipe.hgetall(self._freq(c))
        return [
            window_count({int(d): int(n) for d, n in found.items()}, c.today.toordinal(), c.days)
            for c, found in zip(caps, pipe.execute(), strict=True)
        ]

    # --- privacy (the transaction is the database's: Redis changes at once) ------------------------

    def _person_keys(self, user_id: int) -> list[bytes]:
        pattern = _glob_escape(f"{self.prefix}freq:u:{int(user_id)}:") + "*"
        return list(self.client.scan_iter(match=pattern, count=1000))

    def export_person(self, conn: Connection, user_id: int) -> list[dict[str, object]]:
        start = len(f"{self.prefix}freq:u:{int(user_id)}:")
        out: list[dict[str, object]] = []
        for key in sorted(self._person_keys(user_id)):
            days = {d.decode(): int(n) for d, n in self.client.hgetall(key).items()}
            if days:
                out.append({"scope": key.decode()[start:], "served_per_day": dated(days)})
        return out

    def erase_person(self, conn: Connection, user_id: int) -> int:
        keys = self._person_keys(user_id)
        return int(self.client.delete(*keys)) if keys else 0

    def sweep(self, conn: Connection, now: datetime) -> int:
        return 0  # frequency hashes expire by themselves
