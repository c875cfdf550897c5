// Validates JSON files against the JSON Schemas in docs/ with Python's jsonschema (draft 2020-12).

import Foundation

/// Checks JSON documents against a JSON Schema with the `jsonschema` package of the test venv that
/// `scripts/install-test-python.sh` makes (`AUDIOCAP_TEST_VENV`, default /opt/audiocap-test-venv): an
/// independent reader of the formats the daemon writes. Tests skip when it is absent (``isAvailable``,
/// ``unavailableReason``).
public enum SchemaCheck {
    /// The test venv, where `install-test-python.sh` puts jsonschema.
    public static let venv = ProcessInfo.processInfo.environment["AUDIOCAP_TEST_VENV"] ?? "/opt/audiocap-test-venv"
    static var python: String { venv + "/bin/python3" }

    /// The source tree (this file is Tests/TestSupport/…).
    public static let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// `docs/NAME` in the source tree, e.g. `schema("sidecar.schema.json")`.
    public static func schema(_ name: String) -> String { sourceRoot + "/docs/" + name }

    /// Whether the venv's python can import jsonschema.
    public static let isAvailable: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? ProcessRunner.run(python, ["-c", "import jsonschema"], timeout: 30).status) == 0
    }()

    public static let unavailableReason =
        "jsonschema is not installed: run `sh scripts/install-test-python.sh` (it goes to /opt/audiocap-test-venv, or set AUDIOCAP_TEST_VENV)"

    /// One document that does not match the schema: where it is and what is wrong.
    public struct Failure: Sendable, CustomStringConvertible {
        public var file: String
        /// The line (from 1) for JSON lines; 0 for a whole-file document.
        public var line: Int
        public var message: String
        public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
    }

    /// What a check found.
    public struct Result: Sendable, CustomStringConvertible {
        /// Documents checked (files, or lines of JSON-lines files).
        public var documents: Int
        public var failures: [Failure]
        public var isValid: Bool { failures.isEmpty && documents > 0 }
        public var description: String {
            "\(documents) documents, \(failures.count) failures" + failures.prefix(20).map { "\n  \($0)" }.joined()
        }
    }

    /// Validates every file of `files` against the schema at `schema` (draft 2020-12; the schema itself
    /// is checked first). A file ending in `.jsonl` (or `.jsonl.N`) holds one document per line.
    ///
    /// - Throws: `ProcessRunnerError` when python cannot run, or a ``SchemaCheckError`` when the checker
    ///   itself fails (a bad schema, an unreadable file).
    public static func validate(_ files: [String], against schema: String) throws -> Result {
        let run = try ProcessRunner.run(python, ["-c", script, schema] + files, timeout: 120)
        let out = String(decoding: run.stdout, as: UTF8.self)
        guard run.status == 0 || run.status == 1 else {
            throw SchemaCheckError(schema: schema, detail: String(decoding: run.stderr, as: UTF8.self) + out)
        }
        var result = Result(documents: 0, failures: [])
        for line in out.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 3).map(String.init)
            if parts.first == "checked", parts.count == 2 { result.documents = Int(parts[1]) ?? 0 }
            if parts.first == "invalid", parts.count == 4 {
                result.failures.append(Failure(file: parts[1], line: Int(parts[2]) ?? 0, message: parts[3]))
            }
        }
        return result
    }

    /// Validates one JSON value (encoded by the caller) against `schema`, through a temporary file.
    public static func validate(json: Data, against schema: String) throws -> Result {
        let path = NSTemporaryDirectory() + "/schema-check-\(UUID().uuidString).json"
        try json.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try validate([path], against: schema)
    }

    /// Prints `checked\tN` and one `invalid\tFILE\tLINE\tMESSAGE` per error; exits 1 when any.
    static let script = #"""
        import json, re, sys
        from jsonschema import Draft202012Validator
        schema = json.load(open(sys.argv[1]))
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)
        checked, bad = 0, 0
        def check(path, line, text):
            global checked, bad
            checked += 1
            try:
                doc = json.loads(text)
            except ValueError as e:
                bad += 1
                print("invalid\t%s\t%d\tnot JSON: %s" % (path, line, e))
                return
            for error in validator.iter_errors(doc):
                bad += 1
                where = "/".join(str(p) for p in error.absolute_path)
                print("invalid\t%s\t%d\tat /%s: %s" % (path, line, where, error.message.replace("\n", " ")[:300]))
        for path in sys.argv[2:]:
            text = open(path, encoding="utf-8").read()
            if re.search(r"\.jsonl(\.\d+)?$", path):
                for number, line in enumerate(text.split("\n"), 1):
                    if line.strip():
                        check(path, number, line)
            else:
                check(path, 0, text)
        print("checked\t%d" % checked)
        sys.exit(1 if bad else 0)
        """#
}

/// The schema checker could not run: the schema is not valid, or a file could not be read.
public struct SchemaCheckError: Error, CustomStringConvertible {
    public var schema: String
    public var detail: String
    public var description: String { "cannot check against \(schema): \(detail)" }
}
