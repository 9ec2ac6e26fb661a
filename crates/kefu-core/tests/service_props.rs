//! Whatever a shop's hours and whenever a shopper asks, what the bot and the
//! chat promise about people holds: the next opening is not in the past, the
//! shop is open then, nothing opens in between, and "back at" names that
//! opening's hour within a day.

use kefu_core::clock::Timestamp;
use kefu_core::service::{PeopleNow, ServiceHours, back_at};
use proptest::prelude::*;

const MINUTE: i64 = 60_000;

proptest! {
    #[test]
    fn promises_about_people_hold(
        open in 0u32..24 * 60,
        close in 0u32..=24 * 60,
        now in 1_700_000_000_000i64..1_900_000_000_000,
        someone_online in any::<bool>(),
    ) {
        let text = format!("{:02}:{:02}-{:02}:{:02}", open / 60, open % 60, close / 60, close % 60);
        let hours = ServiceHours::parse(&text).expect("valid hours");
        prop_assert_eq!(hours.to_string(), text.clone());
        let now = Timestamp(now);
        let next = hours.next_open(now);
        prop_assert!(next >= Timestamp(now.millis() - MINUTE), "{text}: next opening {next:?} before {now:?}");
        prop_assert!(next.millis() - now.millis() <= 24 * 60 * MINUTE, "{text}: more than a day away");
        prop_assert!(hours.is_open(next), "{text}: closed at its own opening");
        match PeopleNow::of(someone_online, &hours, now) {
            PeopleNow::Answering => prop_assert!(someone_online),
            PeopleNow::NobodyOnline => prop_assert!(!someone_online && hours.is_open(now)),
            PeopleNow::Closed { next_open } => {
                prop_assert!(!someone_online && !hours.is_open(now));
                prop_assert_eq!(next_open, next);
                let (tomorrow, h, m) = back_at(now, next_open);
                prop_assert_eq!(h * 60 + m, i64::from(open), "{}: back at the opening minute", text);
                prop_assert_eq!(tomorrow, next_open.china_day() > now.china_day());
                // Closed until later: nothing opens in between.
                let mut t = now.millis();
                while t < next_open.millis() - MINUTE {
                    prop_assert!(!hours.is_open(Timestamp(t)), "{text}: open at {t} before {next_open:?}");
                    t += 17 * MINUTE;
                }
            }
        }
    }
}
