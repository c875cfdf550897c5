// Build tool: turns a command's `--experimental-dump-help` JSON (swift-argument-parser) into a man page.
//
// `make install` runs `audiocap --experimental-dump-help | generate-manpage --section 1`, so the pages
// come from the installed binaries' own argument parsers and never go stale. (swift-argument-parser's
// GenerateManual plugin does the same, but builds the whole package again and takes one section for all.)
import Foundation

/// The part of swift-argument-parser's ToolInfoV0 that a man page needs.
struct ToolInfo: Decodable {
    var serializationVersion: Int
    var command: CommandInfo
}

struct CommandInfo: Decodable {
    var commandName: String
    var superCommands: [String]?
    var shouldDisplay: Bool?
    var abstract: String?
    var discussion: String?
    var subcommands: [CommandInfo]?
    var arguments: [ArgumentInfo]?
}

struct ArgumentInfo: Decodable {
    struct Name: Decodable {
        var kind: String
        var name: String
    }

    var kind: String
    var shouldDisplay: Bool
    var isOptional: Bool
    var isRepeating: Bool
    var names: [Name]?
    var valueName: String?
    var defaultValue: String?
    var abstract: String?
    var discussion: String?
}

/// Writes a man(7) page: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, then COMMANDS with each subcommand's own
/// synopsis, description and options, and SEE ALSO. Indented lines of a discussion (examples, tables)
/// are kept as they are; `--help` and `--version` appear once, under OPTIONS.
struct ManPage {
    var tool: CommandInfo
    var section: Int
    var date: String
    var seeAlso: [String]
    /// The footer's source field, e.g. "audiocap 1.2.0".
    var source: String

    func render() -> String {
        var out = ""
        let name = tool.commandName
        out +=
            ".TH \(Self.quoted(name.uppercased())) \(section) \(Self.quoted(date)) \(Self.quoted(source.isEmpty ? name : source)) \(Self.quoted(section == 8 ? "System Manager's Manual" : "User Commands"))\n"
        out += ".nh\n.ad l\n.SH NAME\n\(Self.escape(name)) \\- \(Self.escape(tool.abstract ?? ""))\n"
        out += ".SH SYNOPSIS\n"
        out += synopsis(tool, path: [name])
        if !visibleSubcommands(tool).isEmpty {
            out += ".br\n.B \(Self.escape(name))\n.I command\n[\\fIoptions\\fR]\n"
        }
        out += ".SH DESCRIPTION\n"
        out += paragraphs(tool.discussion ?? tool.abstract ?? "")
        let options = visibleArguments(tool)
        if !options.isEmpty {
            out += ".SH OPTIONS\n"
            for argument in options { out += item(argument) }
        }
        let subcommands = visibleSubcommands(tool)
        if !subcommands.isEmpty {
            out += ".SH COMMANDS\n"
            for command in subcommands {
                let path = [name, command.commandName]
                out += ".SS \(Self.quoted(path.joined(separator: " ")))\n"
                out += synopsis(command, path: path)
                out += ".PP\n"
                out += paragraphs(command.abstract ?? "")
                if let discussion = command.discussion, !discussion.isEmpty { out += ".PP\n" + paragraphs(discussion) }
                for argument in visibleArguments(command) where !isStandard(argument) { out += item(argument) }
            }
        }
        if !seeAlso.isEmpty {
            out += ".SH SEE ALSO\n"
            out +=
                seeAlso.map { page in
                    let parts = page.split(separator: "(")
                    return parts.count == 2 ? ".BR \(parts[0]) (\(parts[1])" : ".B \(page)"
                }.joined(separator: ",\n") + "\n"
        }
        return out
    }

    private func visibleSubcommands(_ command: CommandInfo) -> [CommandInfo] {
        (command.subcommands ?? []).filter { ($0.shouldDisplay ?? true) && $0.commandName != "help" }
    }

    private func visibleArguments(_ command: CommandInfo) -> [ArgumentInfo] {
        (command.arguments ?? []).filter(\.shouldDisplay)
    }

    /// `--help` and `--version`, which every command has: listed once, under the tool's OPTIONS.
    private func isStandard(_ argument: ArgumentInfo) -> Bool {
        argument.kind == "flag" && (argument.names ?? []).contains { $0.name == "help" || $0.name == "version" }
    }

    /// `.B name` then each argument in brackets when optional, `...` when repeating.
    private func synopsis(_ command: CommandInfo, path: [String]) -> String {
        var line = ".B \(Self.escape(path.joined(separator: " ")))\n"
        for argument in visibleArguments(command) where !isStandard(argument) {
            var text = ""
            if argument.kind == "positional" {
                text = "\\fI\(Self.escape(argument.valueName ?? "value"))\\fR"
            } else if let name = preferredName(argument) {
                text = "\\fB\(Self.escape(name))\\fR"
                if argument.kind == "option" { text += " \\fI\(Self.escape(argument.valueName ?? "value"))\\fR" }
            }
            if argument.isRepeating { text += " ..." }
            line += (argument.isOptional ? "[\(text)]" : text) + "\n"
        }
        return line
    }

    /// `.TP` with the names (and the value), then the help, its discussion and the default.
    private func item(_ argument: ArgumentInfo) -> String {
        var head: String
        if argument.kind == "positional" {
            head = "\\fI\(Self.escape(argument.valueName ?? "value"))\\fR"
        } else {
            head = (argument.names ?? []).map { "\\fB\(Self.escape(dashed($0)))\\fR" }.joined(separator: ", ")
            if argument.kind == "option" { head += " \\fI\(Self.escape(argument.valueName ?? "value"))\\fR" }
        }
        var body = argument.abstract ?? ""
        if let value = argument.defaultValue, !value.isEmpty, argument.kind != "flag" {
            body += (body.isEmpty ? "" : " ") + "(default: \(value))"
        }
        var text = ".TP\n\(head)\n" + paragraphs(body)
        if let discussion = argument.discussion, !discussion.isEmpty { text += paragraphs(discussion) }
        return text
    }

    private func preferredName(_ argument: ArgumentInfo) -> String? {
        let names = argument.names ?? []
        return (names.first { $0.kind == "long" } ?? names.first).map(dashed)
    }

    private func dashed(_ name: ArgumentInfo.Name) -> String {
        switch name.kind {
        case "long": "--" + name.name
        default: "-" + name.name
        }
    }

    /// Text with blank lines as paragraph breaks; runs of indented lines (examples, tables) kept as they are.
    private func paragraphs(_ text: String) -> String {
        var out = ""
        var verbatim = false
        var first = true
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let indented = line.hasPrefix(" ")
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                if verbatim {
                    out += ".fi\n.RE\n"
                    verbatim = false
                }
                if !first { out += ".PP\n" }
                continue
            }
            if indented && !verbatim {
                out += ".RS 4\n.nf\n"
                verbatim = true
            } else if !indented && verbatim {
                out += ".fi\n.RE\n"
                verbatim = false
            }
            out += Self.escape(indented ? String(line.dropFirst(2)) : String(line)) + "\n"
            first = false
        }
        if verbatim { out += ".fi\n.RE\n" }
        return out
    }

    /// Text safe for roff: backslashes and dashes escaped, no line starting with a control character.
    static func escape(_ text: String) -> String {
        var escaped = text.replacing("\\", with: "\\e").replacing("-", with: "\\-")
        if escaped.hasPrefix(".") || escaped.hasPrefix("'") { escaped = "\\&" + escaped }
        return escaped
    }

    static func quoted(_ text: String) -> String {
        "\"" + escape(text).replacing("\"", with: "\\(dq") + "\""
    }
}

/// `generate-manpage --section N [--source "NAME VERSION"] [--see-also PAGE(N)]... < dump.json > page.N`
func main() -> Int32 {
    var section = 1
    var seeAlso: [String] = []
    var source = ""
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        switch argument {
        case "--section":
            guard let value = arguments.popFirst().flatMap(Int.init), (1...9).contains(value) else {
                FileHandle.standardError.write(Data("generate-manpage: --section takes 1 to 9\n".utf8))
                return 64
            }
            section = value
        case "--see-also":
            if let value = arguments.popFirst() { seeAlso.append(value) }
        case "--source":
            source = arguments.popFirst() ?? ""
        default:
            FileHandle.standardError.write(
                Data(
                    "generate-manpage: unknown argument \(argument)\nusage: TOOL --experimental-dump-help | generate-manpage --section N [--source \"NAME VERSION\"] [--see-also PAGE(N)]...\n"
                        .utf8))
            return 64
        }
    }
    let input = FileHandle.standardInput.readDataToEndOfFile()
    let info: ToolInfo
    do {
        info = try JSONDecoder().decode(ToolInfo.self, from: input)
    } catch {
        FileHandle.standardError.write(
            Data(
                "generate-manpage: standard input is not a tool's --experimental-dump-help output (\(input.count) bytes): \(error)\n"
                    .utf8))
        return 65
    }
    guard info.serializationVersion == 0 else {
        FileHandle.standardError.write(
            Data("generate-manpage: unknown dump version \(info.serializationVersion); expected 0\n".utf8))
        return 65
    }
    // SOURCE_DATE_EPOCH makes the page reproducible; otherwise it carries today's date.
    let seconds =
        ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap(Double.init) ?? Date().timeIntervalSince1970
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd"
    let page = ManPage(
        tool: info.command, section: section, date: formatter.string(from: Date(timeIntervalSince1970: seconds)),
        seeAlso: seeAlso, source: source)
    FileHandle.standardOutput.write(Data(page.render().utf8))
    return 0
}

exit(main())
