//! Where each waiting shopper stands in their shop's queue (排队中，前面还有
//! N 位), and about how long they will wait. A conversation transferred to a
//! skill group waits only behind the ones its group's agents would take
//! first: those of its group and those of none. Widgets of queued shoppers ask
//! every few seconds; on 双11 night thousands wait at once, so a shop's queue
//! is read from the store at most once per [`TTL`] on each node (one query,
//! whoever asks), and every widget's answer is a lookup in that reading.
//!
//! The wait is estimated from the readings themselves: the conversations
//! that left the queue between two readings (an agent took them, or the
//! shopper gave up — either way the queue moved) over the time anyone was
//! waiting, in the last [`PACE_WINDOW`]. No estimate until the queue has been
//! watched moving for a while: a guess from two readings would be noise.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu_core::id::{ConversationId, ShopId, SkillGroupId};
use kefu_core::store::{Queued, Store, StoreResult};

/// How stale a shop's queue may be when a widget asks.
pub const TTL: Duration = Duration::from_secs(2);
/// The most of a shop's queue read: a shopper further back is told at least this many are ahead.
const READ_LIMIT: u32 = 5000;
/// How far back the queue's pace is measured.
pub const PACE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The least waiting time watched before the pace is trusted.
const PACE_MIN_WATCHED: Duration = Duration::from_secs(60);
/// The fewest departures seen before the pace is trusted.
const PACE_MIN_LEFT: u32 = 3;

#[derive(Default)]
struct Reading {
    at: Option<Instant>,
    ahead: HashMap<ConversationId, u32>,
    len: u32,
    pace: Pace,
    /// Whether an agent of the shop was online at the reading.
    someone_online: bool,
}

/// Where one queued conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Queued conversations before this one.
    pub ahead: u32,
    /// About how long until an agent takes it, once the pace is known.
    pub wait: Option<Duration>,
    /// Whether an agent of the shop is online: a queue nobody works on
    /// does not move, and the shopper is told so.
    pub someone_online: bool,
}

#[derive(Default)]
pub struct QueueBoard {
    /// One lock per shop: a reading in progress makes the others asking
    /// about that shop wait for it instead of reading too.
    shops: Mutex<HashMap<ShopId, Arc<tokio::sync::Mutex<Reading>>>>,
}

impl QueueBoard {
    /// Where this conversation stands in the shop's queue. One queued since
    /// the last reading is counted as last.
    pub async fn standing(
        &self,
        store: &dyn Store,
        shop: ShopId,
        conversation: ConversationId,
    ) -> StoreResult<Standing> {
        let slot = {
            let mut shops = self.shops.lock().unwrap_or_else(|e| e.into_inner());
            shops.entry(shop).or_default().clone()
        };
        let mut reading = slot.lock().await;
        if reading.at.is_none_or(|at| at.elapsed() >= TTL) {
            let queue = store.queue_of_shop(shop, READ_LIMIT).await?;
            reading.someone_online = store.someone_online(shop).await?;
            reading.read(&queue, Instant::now());
        }
        let ahead = reading.ahead.get(&conversation).copied().unwrap_or(reading.len);
        let wait = reading.pace.wait(ahead, Instant::now()).filter(|_| reading.someone_online);
        Ok(Standing { ahead, wait, someone_online: reading.someone_online })
    }
}

impl Reading {
    /// Takes a new reading of the queue at `now`.
    fn read(&mut self, queue: &[Queued], now: Instant) {
        self.observe(queue, now);
        self.len = u32::try_from(queue.len()).unwrap_or(u32::MAX);
        self.ahead = ahead_of_each(queue);
        self.at = Some(now);
    }

    /// Counts who left since the last reading, over the time it covers if
    /// anyone was waiting then.
    fn observe(&mut self, queue: &[Queued], now: Instant) {
        let Some(last) = self.at else { return };
        if self.len == 0 {
            return;
        }
        let still: HashSet<&ConversationId> = queue.iter().map(|q| &q.id).collect();
        // Only the front half: further back, a conversation pushed past the
        // read limit by ones of higher priority would look as if it left.
        let left = self.ahead.iter().filter(|(c, at)| **at < READ_LIMIT / 2 && !still.contains(c)).count();
        self.pace.record(now, now.saturating_duration_since(last), u32::try_from(left).unwrap_or(u32::MAX));
    }
}

/// How many come before each queued conversation: all before it for one
/// of no group (any agent takes it); for one of a group, those before it of
/// that group or of none (what that group's agents take first).
fn ahead_of_each(queue: &[Queued]) -> HashMap<ConversationId, u32> {
    let mut of_none = 0u32;
    let mut of_group: HashMap<SkillGroupId, u32> = HashMap::new();
    let mut ahead = HashMap::with_capacity(queue.len());
    for (before, q) in (0u32..).zip(queue) {
        match q.group {
            None => {
                ahead.insert(q.id, before);
                of_none += 1;
            }
            Some(g) => {
                let same = of_group.entry(g).or_default();
                ahead.insert(q.id, of_none + *same);
                *same += 1;
            }
        }
    }
    ahead
}

/// How fast a queue moves: departures per second of time anyone waited.
#[derive(Debug, Default)]
struct Pace {
    /// (when, waiting time covered, departures), oldest first.
    samples: VecDeque<(Instant, Duration, u32)>,
}

impl Pace {
    fn record(&mut self, at: Instant, watched: Duration, left: u32) {
        self.samples.push_back((at, watched, left));
        while self.samples.front().is_some_and(|(t, _, _)| at.saturating_duration_since(*t) > PACE_WINDOW) {
            self.samples.pop_front();
        }
    }

    /// About how long one with `ahead` before them waits: until those and
    /// they have left, at the pace of the window before `now`.
    fn wait(&self, ahead: u32, now: Instant) -> Option<Duration> {
        let recent = self.samples.iter().filter(|(t, _, _)| now.saturating_duration_since(*t) <= PACE_WINDOW);
        let (watched, left) = recent.fold((Duration::ZERO, 0u32), |(w, n), (_, d, l)| (w + *d, n.saturating_add(*l)));
        if watched < PACE_MIN_WATCHED || left < PACE_MIN_LEFT {
            return None;
        }
        let per_second = f64::from(left) / watched.as_secs_f64();
        Duration::try_from_secs_f64((f64::from(ahead) + 1.0) / per_second).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> ConversationId {
        ConversationId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn plain(ids: &[ConversationId]) -> Vec<Queued> {
        ids.iter().map(|id| Queued { id: *id, group: None }).collect()
    }

    fn reading_of(queue: &[ConversationId], at: Instant) -> Reading {
        let mut r = Reading::default();
        r.read(&plain(queue), at);
        r
    }

    fn read_again(r: &mut Reading, queue: &[ConversationId], at: Instant) {
        r.read(&plain(queue), at);
    }

    #[test]
    fn no_estimate_until_the_queue_was_watched_moving() {
        let t0 = Instant::now();
        let mut r = reading_of(&[id(1), id(2), id(3)], t0);
        assert_eq!(r.pace.wait(2, t0), None, "nothing watched yet");
        read_again(&mut r, &[id(2), id(3)], t0 + Duration::from_secs(20));
        assert_eq!(r.pace.wait(1, t0 + Duration::from_secs(20)), None, "one departure in 20 s is no pace");
    }

    #[test]
    fn a_queue_taking_one_every_ten_seconds_promises_ten_seconds_a_place() {
        let t0 = Instant::now();
        let mut queue: Vec<ConversationId> = (0..40).map(id).collect();
        let mut r = reading_of(&queue, t0);
        for step in 1..=12u64 {
            queue.remove(0);
            queue.push(id(100 + u128::from(step)));
            read_again(&mut r, &queue, t0 + Duration::from_secs(10 * step));
        }
        let now = t0 + Duration::from_secs(120);
        assert_eq!(r.pace.wait(0, now), Some(Duration::from_secs(10)), "next: one departure away");
        assert_eq!(r.pace.wait(5, now), Some(Duration::from_secs(60)));
    }

    #[test]
    fn time_with_nobody_waiting_does_not_slow_the_pace() {
        let t0 = Instant::now();
        let mut r = reading_of(&[id(1), id(2), id(3), id(4)], t0);
        read_again(&mut r, &[], t0 + Duration::from_secs(60));
        // Ten quiet minutes, then a new queue.
        read_again(&mut r, &[id(5), id(6)], t0 + Duration::from_secs(660));
        let now = t0 + Duration::from_secs(660);
        assert_eq!(r.pace.wait(0, now), Some(Duration::from_secs(15)), "4 left in the 60 s anyone waited");
        assert_eq!(r.pace.wait(0, now + PACE_WINDOW), None, "forgotten after the window");
    }

    #[test]
    fn a_group_waits_behind_its_own_and_the_groupless_only() {
        let (g, h) =
            (SkillGroupId::from_uuid(uuid::Uuid::from_u128(7)), SkillGroupId::from_uuid(uuid::Uuid::from_u128(8)));
        let q = |n: u128, group| Queued { id: id(n), group };
        let queue = [q(1, None), q(2, Some(g)), q(3, Some(h)), q(4, None), q(5, Some(g)), q(6, None)];
        let ahead = ahead_of_each(&queue);
        let of = |n: u128| ahead[&id(n)];
        assert_eq!((of(1), of(4), of(6)), (0, 3, 5), "no group: everyone before");
        assert_eq!((of(2), of(5)), (1, 3), "group g: the groupless and g's before it");
        assert_eq!(of(3), 1, "group h: not behind g's");
    }

    #[test]
    fn shoppers_far_back_do_not_count_as_leaving() {
        let t0 = Instant::now();
        let far = READ_LIMIT / 2;
        let mut r = Reading { at: Some(t0), len: far + 1, ..Reading::default() };
        r.ahead.insert(id(1), far);
        read_again(&mut r, &[], t0 + Duration::from_secs(120));
        assert!(r.pace.samples.iter().all(|(_, _, left)| *left == 0));
    }
}
