// `make install` and `make uninstall` into a scratch DESTDIR, with the binaries this test run built.
import Foundation
import TestSupport
import Testing

let make = ProcessRunner.which("make")

extension EndToEnd {
    @Suite(.enabled(if: make != nil, "make is not installed (apt-get install make)"))
    struct InstallTests {
        static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path

        /// Runs `make TARGET` in the repository into `destdir` with PREFIX=/usr and the test run's binaries.
        func runMake(_ target: String, destdir: String) throws -> String {
            let result = try ProcessRunner.run(
                make!,
                [
                    "-C", Self.repository, target, "BUILD=0", "BUILT=\(Binaries.directory)", "DESTDIR=\(destdir)",
                    "PREFIX=/usr",
                ],
                timeout: 60)
            let output = String(decoding: result.stdout + result.stderr, as: UTF8.self)
            #expect(result.status == 0, "make \(target): \(output)")
            return output
        }

        /// Every file (not directory) under `root`, relative to it.
        func files(under root: String) -> Set<String> {
            var found = Set<String>()
            let enumerator = FileManager.default.enumerator(atPath: root)
            while let path = enumerator?.nextObject() as? String {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory),
                    !isDirectory.boolValue
                {
                    found.insert(path)
                }
            }
            return found
        }

        func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

        @Test func installsEverythingKeepsTheConfigAndUninstallsWhatItAdded() throws {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let root = dir.file("root")
            _ = try runMake("install", destdir: root)

            let installed = files(under: root)
            let expected: Set<String> = [
                "usr/bin/audiocapd", "usr/bin/audiocap",
                "usr/lib/systemd/system/audiocapd.service",
                "usr/lib/sysusers.d/audiocap.conf",
                "usr/share/man/man1/audiocap.1", "usr/share/man/man8/audiocapd.8",
                "usr/share/bash-completion/completions/audiocap", "usr/share/bash-completion/completions/audiocapd",
                "usr/share/zsh/site-functions/_audiocap", "usr/share/zsh/site-functions/_audiocapd",
                "usr/share/fish/vendor_completions.d/audiocap.fish",
                "usr/share/fish/vendor_completions.d/audiocapd.fish",
                "etc/audiocap/audiocap.toml",
            ]
            #expect(installed == expected)
            for program in ["audiocapd", "audiocap"] {
                #expect(FileManager.default.isExecutableFile(atPath: "\(root)/usr/bin/\(program)"))
            }

            // The unit starts the installed daemon with the installed configuration.
            let unit = try read("\(root)/usr/lib/systemd/system/audiocapd.service")
            #expect(unit.contains("\nExecStart=/usr/bin/audiocapd --config /etc/audiocap/audiocap.toml\n"))
            #expect(
                try read("\(root)/usr/lib/sysusers.d/audiocap.conf")
                    == read(Self.repository + "/systemd/audiocap.sysusers"))
            #expect(try read("\(root)/etc/audiocap/audiocap.toml") == read(Self.repository + "/config/audiocap.toml"))

            // Completions, generated from the binaries.
            let share = "\(root)/usr/share"
            for file in [
                "bash-completion/completions/audiocap", "zsh/site-functions/_audiocap",
                "fish/vendor_completions.d/audiocap.fish",
            ] {
                let text = try read("\(share)/\(file)")
                for command in ["start", "stop", "check-config", "socket"] {
                    #expect(text.contains(command), "\(file) lacks \(command)")
                }
            }
            for file in [
                "bash-completion/completions/audiocapd", "zsh/site-functions/_audiocapd",
                "fish/vendor_completions.d/audiocapd.fish",
            ] {
                #expect(try read("\(share)/\(file)").contains("list-devices"), "\(file) lacks --list-devices")
            }
            #expect(try read("\(share)/zsh/site-functions/_audiocap").hasPrefix("#compdef audiocap"))

            // Man pages, generated from the binaries; rendered by groff when it is installed.
            #expect(try read("\(share)/man/man1/audiocap.1").hasPrefix(".TH \"AUDIOCAP\" 1 "))
            #expect(try read("\(share)/man/man8/audiocapd.8").hasPrefix(".TH \"AUDIOCAPD\" 8 "))
            if let groff = ProcessRunner.which("groff") {
                let pages = [
                    ("man1/audiocap.1", ["AUDIOCAP(1)", "audiocap start", "check-config", "--socket", "Exit codes"]),
                    ("man8/audiocapd.8", ["AUDIOCAPD(8)", "--list-devices", "--config", "SIGHUP"]),
                ]
                for (page, words) in pages {
                    // -ww: every warning; -Tascii with plain characters (no overstriking) so the words can be found.
                    let result = try ProcessRunner.run(
                        groff, ["-man", "-ww", "-Tascii", "-P-bcou", "\(share)/man/\(page)"])
                    let text = String(decoding: result.stdout, as: UTF8.self)
                    let warnings = String(decoding: result.stderr, as: UTF8.self)
                    #expect(result.status == 0 && warnings.isEmpty, "groff \(page): \(warnings)")
                    for word in words { #expect(text.contains(word), "\(page) renders without \(word):\n\(text)") }
                }
            }

            // The user and group that systemd creates from the installed sysusers.d file.
            if let sysusers = ProcessRunner.which("systemd-sysusers") {
                let image = dir.file("image")
                try FileManager.default.createDirectory(atPath: image + "/etc", withIntermediateDirectories: true)
                try FileManager.default.createDirectory(
                    atPath: image + "/usr/lib/sysusers.d", withIntermediateDirectories: true)
                try FileManager.default.copyItem(
                    atPath: "\(root)/usr/lib/sysusers.d/audiocap.conf",
                    toPath: image + "/usr/lib/sysusers.d/audiocap.conf")
                let result = try ProcessRunner.run(sysusers, ["--root=\(image)"])
                #expect(result.status == 0, "\(String(decoding: result.stderr, as: UTF8.self))")
                let passwd = try read(image + "/etc/passwd")
                #expect(
                    passwd.contains(
                        /audiocap:x:\d+:\d+:audiocap capture daemon:\/var\/lib\/audiocap:\/usr\/sbin\/nologin/))
                #expect(try read(image + "/etc/group").contains(/(?m)^audio:x:\d+:audiocap$/))
            }

            // A second install keeps an edited configuration.
            let edited = try read("\(root)/etc/audiocap/audiocap.toml") + "\n# edited by the administrator\n"
            try edited.write(toFile: "\(root)/etc/audiocap/audiocap.toml", atomically: true, encoding: .utf8)
            let again = try runMake("install", destdir: root)
            #expect(again.contains("keeping the existing"))
            #expect(try read("\(root)/etc/audiocap/audiocap.toml") == edited)
            #expect(files(under: root) == expected)

            // Uninstall removes what install added and nothing else.
            _ = try runMake("uninstall", destdir: root)
            #expect(files(under: root) == ["etc/audiocap/audiocap.toml"])
            #expect(try read("\(root)/etc/audiocap/audiocap.toml") == edited)
        }
    }
}
