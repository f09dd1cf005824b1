import Testing

@testable import BerthOS

struct ClockTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000000Z"),
        // date -u -d @1795962357.0096678 +%Y-%m-%dT%H:%M:%S.%NZ
        (1_795_962_357_009_667_800, "2026-11-29T14:25:57.009667800Z"),
        (951_782_400_000_000_001, "2000-02-29T00:00:00.000000001Z"),
        (4_102_444_799_999_999_999, "2099-12-31T23:59:59.999999999Z"),
        (-1, "1969-12-31T23:59:59.999999999Z"),
        (-1_000_000_000, "1969-12-31T23:59:59.000000000Z"),
        (-86_400_000_000_000, "1969-12-31T00:00:00.000000000Z"),
    ])
    func rfc3339NanoOfKnownInstants(_ nanos: Int64, _ text: String) {
        #expect(Clock.rfc3339Nano(nanos) == text)
        #expect(Clock.parseRFC3339(text) == nanos)
    }

    @Test func parsesOffsetsAndFractions() {
        let instant: Int64 = 1_795_962_357_009_667_800
        #expect(Clock.parseRFC3339("2026-11-29T15:25:57.0096678+01:00") == instant)
        #expect(Clock.parseRFC3339("2026-11-29T09:55:57.0096678-04:30") == instant)
        #expect(Clock.parseRFC3339("2026-11-29T14:25:57.0096678+00:00") == instant)
        #expect(Clock.parseRFC3339("2026-11-29T14:25:57Z") == 1_795_962_357_000_000_000)
        #expect(Clock.parseRFC3339("2026-11-29T14:25:57.5Z") == 1_795_962_357_500_000_000)
        // Digits past nanoseconds are dropped.
        #expect(Clock.parseRFC3339("2026-11-29T14:25:57.0096678001234Z") == instant)
        // Across a day boundary with an offset.
        #expect(Clock.parseRFC3339("1970-01-01T01:00:00+02:00") == -3_600_000_000_000)
    }

    @Test func rejectsMalformedText() {
        #expect(Clock.parseRFC3339("") == nil)
        #expect(Clock.parseRFC3339("2026-11-29") == nil)
        #expect(Clock.parseRFC3339("2026-11-29T14:25:57") == nil)
        #expect(Clock.parseRFC3339("20x6-11-29T14:25:57Z") == nil)
        #expect(Clock.parseRFC3339("2026-11-29T14:25:57+0x:00") == nil)
    }

    @Test func roundTripsTheCurrentTime() {
        let now = Clock.nowNanos()
        #expect(now > 1_700_000_000_000_000_000)
        #expect(Clock.parseRFC3339(Clock.rfc3339Nano(now)) == now)
    }
}
