// Tests of the rules for names, directories, filename templates and numbers from outside.

import CaptureCore
import Testing

@Suite("InputValidation")
struct InputValidationTests {
    // MARK: Names

    @Test(arguments: ["a", "main", "A-Z_0.9", String(repeating: "x", count: 64), ".hidden", "x.", "-"])
    func validNames(_ name: String) throws {
        try InputValidation.checkName(name)
        #expect(InputValidation.isValidName(name))
    }

    @Test(arguments: [
        "", ".", "..", "a..b", "../x", "x/", "a/b", "/x", String(repeating: "x", count: 65),
        String(repeating: "x", count: 300), "a\u{0}b", "a\u{1b}[31m", "tab\there", "new\nline", "ü", "a b", "x%y",
    ])
    func invalidNames(_ name: String) {
        #expect(!InputValidation.isValidName(name))
        #expect(throws: InputError.self) { try InputValidation.checkName(name) }
        do {
            try InputValidation.checkName(name)
        } catch {
            #expect(error.code == .invalidName)
            #expect(!error.description.contains("\u{1b}"), "an error message never carries a terminal escape")
            #expect(!error.description.contains("\u{0}"))
        }
    }

    @Test func nameMessagesSayWhatIsAllowed() {
        #expect(
            throws: InputError(
                code: .invalidName, field: "name", value: "\"a/b\"",
                message: "must be 1 to 64 characters, each a letter, digit, `.`, `_` or `-`")
        ) {
            try InputValidation.checkName("a/b")
        }
        #expect(throws: InputError(code: .invalidName, field: "name", value: "\".\"", message: "must not be `.`")) {
            try InputValidation.checkName(".")
        }
        #expect(
            throws: InputError(code: .invalidName, field: "name", value: "\"a..b\"", message: "must not contain `..`")
        ) {
            try InputValidation.checkName("a..b")
        }
    }

    // MARK: Directories

    @Test(arguments: [
        "/srv/audio", "relative/dir", "/", String(repeating: "d", count: 255),
        String(repeating: "/abcdefgh", count: 455),
    ])
    func validDirectories(_ directory: String) throws {
        try InputValidation.checkDirectory(directory)
    }

    @Test(arguments: [
        ("", InputError.Code.invalidPath),
        ("/srv/a\u{0}b", .controlCharacter),
        ("/srv/\u{1b}]0;title\u{7}", .controlCharacter),
        ("/srv/\u{9b}31m", .controlCharacter),
        ("/srv/line\nbreak", .controlCharacter),
        ("/srv/" + String(repeating: "d", count: 256), .componentTooLong),
        ("/srv/" + String(repeating: "é", count: 128), .componentTooLong),  // 256 bytes in 128 characters
        (String(repeating: "/abcdefgh", count: 456), .pathTooLong),
    ])
    func invalidDirectories(_ directory: String, _ code: InputError.Code) {
        #expect(throws: InputError.self) { try InputValidation.checkDirectory(directory) }
        do {
            try InputValidation.checkDirectory(directory)
        } catch {
            #expect(error.code == code, "\(error)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test func controlCharacterMessageNamesTheCharacterEscaped() {
        do {
            try InputValidation.checkDirectory("/srv/\u{1b}[2J")
            Issue.record("accepted an escape")
        } catch {
            #expect(error.value == "\"/srv/\\u{1B}[2J\"")
            #expect(error.message.contains("escape U+001B"))
            #expect(error.description.hasPrefix("directory \"/srv/\\u{1B}[2J\" must not contain control characters"))
        }
    }

    // MARK: Templates

    @Test(arguments: [
        ("{seq}", "{seq}.wav"), ("a.WAV", "a.WAV"), ("a.Wav", "a.Wav"), ("%Y/%m/{name}.wav", "%Y/%m/{name}.wav"),
        ("x", "x.wav"),
    ])
    func templatesGetOneWAVExtension(_ template: String, _ expected: String) throws {
        #expect(try InputValidation.filenameTemplate(template) == expected)
    }

    @Test(arguments: [
        ("", "must not be empty"),
        ("/abs.wav", "must be relative to `directory`, not start with `/`"),
        ("a/../../b", "must not contain `..` path components"),
        ("..", "must not contain `..` path components"),
        ("x/", "must name a file, not end in `/`"),
        ("a\u{0}.wav", "must not contain control characters (found NUL U+0000); use printable characters only"),
        ("\u{1b}[31m{seq}", "must not contain control characters (found escape U+001B); use printable characters only"),
    ])
    func invalidTemplates(_ template: String, _ message: String) {
        do {
            _ = try InputValidation.filenameTemplate(template)
            Issue.record("accepted \(template)")
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func aTemplateComponentOver255BytesIsRefused() {
        let long = String(repeating: "x", count: 300)
        #expect(throws: InputError.self) { _ = try InputValidation.filenameTemplate(long + "/{seq}.wav") }
    }

    @Test func theExpandedFileNameLeavesRoomForASuffixAndPartial() throws {
        let directory = "/srv/audio"
        func check(_ template: String) throws(InputError) {
            try InputValidation.checkTarget(directory: directory, template: FilenameTemplate(template), name: "main")
        }
        // 239 bytes is the most a file name may expand to.
        try check(String(repeating: "f", count: 235) + ".wav")
        #expect(throws: InputError.self) { try check(String(repeating: "f", count: 236) + ".wav") }
        // {seq} counts at its widest (10 digits), {name} as given, %A at "Wednesday".
        try check(String(repeating: "f", count: 225) + "{seq}.wav")
        #expect(throws: InputError.self) { try check(String(repeating: "f", count: 226) + "{seq}.wav") }
        try check(String(repeating: "f", count: 226) + "%A.wav")
        #expect(throws: InputError.self) { try check(String(repeating: "f", count: 227) + "%A.wav") }
        // A folder made from strftime fields may have up to 255 bytes.
        #expect(throws: InputError.self) { try check(String(repeating: "%B", count: 40) + "/{seq}.wav") }
        do {
            try check(String(repeating: "%B", count: 40) + "/{seq}.wav")
        } catch {
            #expect(error.code == .componentTooLong)
            #expect(error.message.contains("folder name of up to 360 bytes"), "\(error)")
        }
    }

    @Test func strftimeNewlinesAndTabsAreRefused() {
        for template in ["%n{seq}.wav", "a%tb.wav"] {
            do {
                try InputValidation.checkTarget(directory: "/srv", template: FilenameTemplate(template), name: "x")
                Issue.record("accepted \(template)")
            } catch {
                #expect(error.code == .controlCharacter)
            }
        }
    }

    @Test func theWholePathMustFitPATHMAX() {
        let directory =
            "/" + Array(repeating: String(repeating: "d", count: 200), count: 19).joined(separator: "/")
            + "/" + String(repeating: "d", count: 19)
        #expect(directory.utf8.count == 3_839)
        #expect((try? InputValidation.checkDirectory(directory)) != nil)
        // 3839 + 1 + 255 (the file name with its reserve) passes; one more byte does not.
        let fits = String(repeating: "f", count: 235) + ".wav"
        #expect(
            (try? InputValidation.checkTarget(directory: directory, template: FilenameTemplate(fits), name: "x")) != nil
        )
        do {
            try InputValidation.checkTarget(directory: directory + "d", template: FilenameTemplate(fits), name: "x")
            Issue.record("accepted a path over PATH_MAX")
        } catch {
            #expect(error.code == .pathTooLong)
            #expect(error.message.contains("4096 bytes"), "\(error)")
        }
    }

    @Test func aTemplateThatExpandsBeyondTheBufferIsRefused() {
        // %c is 24 characters in the C locale: 200 of them make 4800 bytes.
        let template = String(repeating: "%c", count: 200) + ".wav"
        do {
            try InputValidation.checkTarget(directory: "/srv", template: FilenameTemplate(template), name: "x")
            Issue.record("accepted \(template.count) characters of %c")
        } catch {
            #expect(error.code == .pathTooLong)
        }
    }

    // MARK: Overlap

    @Test func overlappingDirectories() {
        #expect(InputValidation.overlaps("/srv/a", "/srv/a"))
        #expect(InputValidation.overlaps("/srv/a", "/srv/a/b"))
        #expect(InputValidation.overlaps("/srv/a/b", "/srv/a/"))
        #expect(InputValidation.overlaps("/srv/./a", "/srv//a"))
        #expect(InputValidation.overlaps("/", "/srv"))
        #expect(!InputValidation.overlaps("/srv/a", "/srv/ab"))
        #expect(!InputValidation.overlaps("/srv/a", "/srv/b"))
        #expect(!InputValidation.overlaps("srv/a", "/srv/a"))
    }

    // MARK: Numbers

    @Test(arguments: [("1", 1), ("100000", 100_000), ("1e3", 1000), ("50.0", 50)])
    func integersInRange(_ text: String, _ expected: Int) throws {
        #expect(try InputValidation.integer(text, field: "limit", range: 1...100_000) == expected)
    }

    @Test(arguments: [
        "1e19", "-1", "0", "nan", "NaN", "inf", "-inf", "infinity", "99999999999999999999", "1e308", "1e309", "2.5",
        "", "ten", "0x", "100001", "9223372036854775807", "-9223372036854775808", "1_000",
    ])
    func integersOutOfRangeNeverTrap(_ text: String) {
        do {
            _ = try InputValidation.integer(text, field: "limit", range: 1...100_000)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == .outOfRange)
            #expect(error.description == "limit \(InputValidation.printable(text)) must be an integer from 1 to 100000")
        }
    }

    @Test(arguments: ["nan", "inf", "-inf", "-1", "1e11", "99999999999999999999", "x"])
    func numbersOutOfRange(_ text: String) {
        #expect(throws: InputError.self) {
            _ = try InputValidation.number(
                text, field: "since", allowed: "from 0 to 1e10", where: { $0 >= 0 && $0 <= 1e10 })
        }
    }

    @Test func decodedNumbersAreCheckedToo() throws {
        let allowed = "greater than 0"
        #expect(throws: InputError.self) {
            _ = try InputValidation.number(.nan, field: "d", allowed: allowed, where: { $0 > 0 })
        }
        #expect(throws: InputError.self) {
            _ = try InputValidation.number(.infinity, field: "d", allowed: allowed, where: { _ in true })
        }
        #expect(try InputValidation.number(2.5, field: "d", allowed: allowed, where: { $0 > 0 }) == 2.5)
        #expect(throws: InputError.self) { _ = try InputValidation.integer(Int.max, field: "s", range: 1...86_400) }
        #expect(try InputValidation.integer(60, field: "s", range: 1...86_400) == 60)
    }

    // MARK: Printable

    @Test func printableEscapesAndShortens() {
        #expect(InputValidation.printable("a\u{0}\u{1b}\"\\") == "\"a\\u{0}\\u{1B}\\\"\\\\\"")
        let long = InputValidation.printable(String(repeating: "x", count: 300))
        #expect(long.count < 90)
        #expect(long.hasSuffix("…\""))
    }
}
