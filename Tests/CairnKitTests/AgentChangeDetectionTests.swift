import Foundation
import Testing
@testable import CairnGit
@testable import CairnKit
#if canImport(Glibc)
import Glibc
#endif

/// The executor finds an agent's changes among many shown files by their stat data, reading only files that may
/// have changed; these agents change files in the ways that keep the size (and try to keep the times) the same.
@Suite("Agent change detection")
struct AgentChangeDetectionTests {
    /// 2,000 shown notes of ten bytes each; the agent edits some at once (in the clock tick the files were written,
    /// "racily clean") or after a pause (detected by their change time alone).
    @Test(arguments: ["", "sleep 0.05\n"])
    func sameSizeChangesAreFound(pause: String) throws {
        let f = try CommandAgentFixture()
        var files: [String: String] = [:]
        for i in 0..<2000 { files[String(format: "inbox/n%04d.md", i)] = String(format: "note %04d\n", i) }
        let base = try f.base(files)
        let script = try f.script("same-size.sh", """
            #!/bin/sh
            set -e
            \(pause)printf 'NOTE 0001\\n' > inbox/n0001.md
            printf 'NOTE 0002\\n' > inbox/n0002.md
            touch -d 2020-01-01 inbox/n0002.md
            mv inbox/n0004.md inbox/n0003.md
            ln -f inbox/n0005.md inbox/n0006.md
            printf 'NOTE 1999\\n' > inbox/n1999.md
            """)
        let (outcome, _) = try f.run(f.agent([script]), base)
        #expect(outcome.failure == nil, "\(outcome.stderr)")
        #expect(outcome.edits == [.write("inbox/n0001.md", "NOTE 0001\n"), .write("inbox/n0002.md", "NOTE 0002\n"),
                                  .write("inbox/n0003.md", "note 0004\n"), .delete("inbox/n0004.md"),
                                  .write("inbox/n0006.md", "note 0005\n"), .write("inbox/n1999.md", "NOTE 1999\n")])
    }

    @Test func aWorkFolderIsRemovedWithReadOnlyFoldersInIt() throws {
        let dir = NSTemporaryDirectory() + "cairn-remove-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/files/a/b", withIntermediateDirectories: true)
        for name in ["files/a/b/x.md", "files/a/y.md", "context.json"] {
            try Data("x\n".utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        chmod(dir + "/files/a", 0o500)
        CommandAgentExecutor.removeWorkFolder(dir)
        #expect(!FileManager.default.fileExists(atPath: dir))
    }
}
