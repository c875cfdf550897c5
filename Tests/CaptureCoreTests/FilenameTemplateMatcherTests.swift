// FilenameTemplateMatcher: the files a template produced are recognised and their `{seq}` read back.
import Foundation
import Testing

@testable import CaptureCore

@Suite struct FilenameTemplateMatcherTests {
    // 2026-11-22T00:30:00Z
    let t = 1_795_307_400.0

    @Test("every expansion of a template with a time in it matches and gives its number back")
    func expansionsRoundTrip() {
        for text in [
            "{name}-%Y%m%dT%H%M%SZ-{seq}", "%Y-%m-%d/{name}-{seq}.wav", "{seq}_%H%M%S_%b.wav", "%F/%T-{name}{seq}.wav",
            "{name}/%s-{seq}-%j.wav",
        ] {
            let template = FilenameTemplate(text)
            let matcher = FilenameTemplateMatcher(template: template, name: "night.1")
            for (sequence, time) in [(1, t), (42, t + 3723.5), (1_234_567, t + 86_400 * 40)] {
                let path = template.expand(name: "night.1", sequence: sequence, time: time)
                #expect(matcher.sequence(in: path) == sequence, "\(text) → \(path)")
                #expect(matcher.sequence(in: path + ".partial") == sequence)
                #expect(matcher.sequence(in: path + ".json") == sequence)
            }
        }
    }

    @Test("another recording's name, another folder level, other files do not match")
    func othersDoNotMatch() {
        let matcher = FilenameTemplateMatcher(
            template: FilenameTemplate("%Y-%m-%d/{name}-%H%M%SZ-{seq}.wav"), name: "a")
        #expect(matcher.depth == 1)
        #expect(matcher.sequence(in: "2026-11-22/a-003000Z-000007.wav") == 7)
        #expect(matcher.sequence(in: "2026-11-22/b-003000Z-000007.wav") == nil)
        #expect(matcher.sequence(in: "a-003000Z-000007.wav") == nil)
        #expect(matcher.sequence(in: "x/2026-11-22/a-003000Z-000007.wav") == nil)
        #expect(matcher.sequence(in: "2026-11-22/a-003000Z-000007.wav.tmp") == nil)
        #expect(matcher.sequence(in: "2026-11-22/a-0030Z-000007.wav") == nil)
        #expect(matcher.sequence(in: "2026-11-22/a-003000Z-.wav") == nil)
    }

    @Test("the digits of a field next to {seq} are not taken for the number")
    func adjacentFields() {
        let template = FilenameTemplate("{name}%H{seq}%M.wav")
        let matcher = FilenameTemplateMatcher(template: template, name: "r")
        #expect(matcher.sequence(in: template.expand(name: "r", sequence: 12, time: t)) == 12)
    }

    @Test("regular-expression characters in names and literals are literal; %% is a percent sign")
    func literalCharacters() {
        let template = FilenameTemplate("{name}+(%%)[{seq}].wav")
        let matcher = FilenameTemplateMatcher(template: template, name: "a.b")
        #expect(template.expand(name: "a.b", sequence: 3, time: t) == "a.b+(%)[000003].wav")
        #expect(matcher.sequence(in: "a.b+(%)[000003].wav") == 3)
        #expect(matcher.sequence(in: "aXb+(%)[000003].wav") == nil)
    }

    @Test("a template without {seq} matches its files but gives no number")
    func noSequence() {
        let template = FilenameTemplate("{name}-%Y%m%dT%H%M%SZ.wav")
        let matcher = FilenameTemplateMatcher(template: template, name: "r")
        let path = template.expand(name: "r", sequence: 1, time: t)
        #expect(matcher.matches(path))
        #expect(matcher.sequence(in: path) == nil)
    }

    @Test("a free-text field before {seq} takes as little as it can; suffixes stack; nothing else may follow")
    func freeTextAndSuffixes() {
        let matcher = FilenameTemplateMatcher(template: FilenameTemplate("%b{seq}-%e.wav"), name: "r")
        #expect(matcher.sequence(in: "Dec000012- 1.wav") == 12)
        #expect(matcher.sequence(in: "Dec000012-21.wav.partial.damaged") == 12)
        #expect(matcher.sequence(in: "Dec000012-21.wav.jsonx") == nil)
        #expect(matcher.sequence(in: "De/c000012-21.wav") == nil)
        #expect(matcher.sequence(in: "Dec-21.wav") == nil)
        let zone = FilenameTemplateMatcher(template: FilenameTemplate("%F_%T%z/{seq}"), name: "r")
        #expect(zone.sequence(in: "2026-12-02_08:30:00+0100/7") == 7)
        #expect(zone.sequence(in: "-2026-12-02_08:30:00-0100/000008.json") == 8)
        #expect(zone.sequence(in: "2026-12-02_08:30:00 0100/7") == nil)
        #expect(zone.depth == 1)
    }
}
