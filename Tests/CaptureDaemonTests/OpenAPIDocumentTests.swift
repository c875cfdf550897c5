// docs/openapi.yaml against the control server's router: the same paths with the same methods.
import CaptureCore
import Foundation
import Hummingbird
import Logging
import TestSupport
import Testing

@testable import CaptureDaemon

@Suite struct OpenAPIDocumentTests {
    /// `METHOD /path` for every operation under `paths:` of an OpenAPI document, read line by line: a path
    /// is a two-space-indented key starting with `/`, a method a four-space-indented HTTP verb below it.
    static func operations(inYAML text: String) -> Set<String> {
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]
        var result = Set<String>()
        var inPaths = false
        var path: String?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line =
                raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            while line.last == " " { line.removeLast() }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if !line.hasPrefix(" ") {
                inPaths = line.hasPrefix("paths:")
                path = nil
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let key = String(line.dropFirst(4).dropLast())
                if methods.contains(key) { result.insert("\(key.uppercased()) \(path)") }
            }
        }
        return result
    }

    /// The document in the source tree (this file is Tests/CaptureDaemonTests/…).
    static var documentPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml").path
    }

    @Test func theParserReadsPathsAndMethods() {
        let yaml = """
            openapi: 3.0.3
            paths:
              /a/{id}:
                get:
                  parameters:
                    - name: get
                delete: # stop
                  responses: {}
              /b:
                post:
                  description: "delete:"
            components:
              schemas:
                get:
                  type: object
            """
        #expect(Self.operations(inYAML: yaml) == ["GET /a/{id}", "DELETE /a/{id}", "POST /b"])
    }

    @Test func everyDocumentedOperationIsARouteAndEveryRouteIsDocumented() throws {
        let text = try String(contentsOfFile: Self.documentPath, encoding: .utf8)
        let documented = Self.operations(inYAML: text)
        #expect(documented.count >= 7, "read \(documented.sorted()) from \(Self.documentPath)")

        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var configuration = Configuration()
        configuration.storage.state = dir.path + "/state"
        configuration.storage.root = dir.path + "/recordings"
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let daemon = AudioCapDaemon(configuration: configuration, logger: logger)
        let router = ControlRoutes.router(service: daemon, logger: logger)
        // Hummingbird writes a parameter as `:name` (or `{name}`); OpenAPI as `{name}`.
        let served = Set(
            router.routes.map { route in
                let path = "\(route.path)".split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }
                return "\(route.method.rawValue) /" + path.joined(separator: "/")
            })
        #expect(served.count >= 7, "\(served.sorted())")
        #expect(
            documented.subtracting(served).isEmpty,
            "documented but not served: \(documented.subtracting(served).sorted())")
        #expect(
            served.subtracting(documented).isEmpty,
            "served but not in docs/openapi.yaml: \(served.subtracting(documented).sorted())")
    }
}
