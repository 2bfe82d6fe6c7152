import CairnKit
import Foundation
import Testing

/// Sync across machines end to end: two cairn vaults ("laptop" and "server") and a plain-git user share one bare
/// remote over file:// or git daemon; every side is judged with the git CLI.
@Suite struct SyncTests {
    static let bluebird = "memory/projects/bluebird-coffee.md"

    /// A laptop vault with the note agent, pushed to a fresh bare remote, and a server cloned from it.
    func twoMachines(_ sb: Sandbox, url: ((String) -> String)? = nil) throws -> (laptop: String, server: String, remote: String, url: String) {
        let laptop = try sb.makeVaultWithNoteAgent("laptop")
        try sb.gitOK(["config", "cairn.machine", "laptop"], cwd: laptop)
        let remote = try sb.makeBareRemote()
        let u = url?(remote) ?? "file://" + remote
        try sb.cairnOK(["remote", "add", "origin", u], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: laptop)
        let server = try sb.cloneVault(u, "server", machine: "server")
        return (laptop, server, remote, u)
    }

    @Test func remoteAddListRemoveAndBadInput() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let remote = try sb.makeBareRemote()
        let add = try sb.cairnOK(["remote", "add", "origin", remote], cwd: v)
        #expect(add.stdout.contains("Added remote origin"), "\(add)")
        #expect(try sb.gitOK(["remote", "get-url", "origin"], cwd: v) == remote)
        let list = try sb.cairnOK(["remote", "list", "--json"], cwd: v)
        #expect(try jsonArray(list.stdoutData).compactMap { $0["url"] as? String } == [remote])

        let configBefore = sb.readText(v + "/.git/config")
        let token = sb.runCairn(["remote", "add", "gh", "https://user:s3cret@example.com/v.git"], cwd: v)
        #expect(token.status == 1 && token.stderr.contains("without a password or token"), "\(token)")
        #expect(!token.output.contains("s3cret") || token.stderr.contains("\"https://user:s3cret"), "only the URL the user typed is echoed")
        let badName = sb.runCairn(["remote", "add", "-x", remote], cwd: v)
        #expect(badName.status != 0, "\(badName)")
        let dup = sb.runCairn(["remote", "add", "origin", remote], cwd: v)
        #expect(dup.status == 1 && dup.stderr.contains("exists already"), "\(dup)")
        #expect(sb.readText(v + "/.git/config") == configBefore, "refused input writes nothing")

        try sb.cairnOK(["remote", "remove", "origin"], cwd: v)
        #expect(sb.git(["remote"], cwd: v).stdout.isEmpty)
        let gone = sb.runCairn(["remote", "remove", "origin"], cwd: v)
        #expect(gone.status == 1 && gone.stderr.contains("no remote named origin"), "\(gone)")
        let none = sb.runCairn(["sync"], cwd: v)
        #expect(none.status == 1 && none.stderr.contains("no remote"), "\(none)")
    }

    @Test func cloneGivesAWorkingVaultWithHistoryAndState() throws {
        let sb = try Sandbox()
        let laptop = try sb.makeVaultWithNoteAgent("laptop")
        let pending = try sb.runAgent(laptop, "note", env: ["CAIRN_NOW": "2026-03-01T09:10:00Z"])
        #expect(pending.outcome == "proposed", "\(pending)")
        let remote = try sb.makeBareRemote()
        try sb.cairnOK(["remote", "add", "origin", remote], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: laptop)
        let server = try sb.cloneVault("file://" + remote, "server", machine: "server")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: server) == (try sb.gitOK(["rev-parse", "main"], cwd: laptop)))
        #expect(try sb.tree(server) == (try sb.tree(laptop)))
        let status = try sb.cairnOK(["status"], cwd: server)
        #expect(status.stdout.contains("No uncommitted edits.") && status.stdout.contains("Pending proposals: 1"), "\(status)")
        #expect(status.stdout.contains("Remote origin: in step"), "\(status)")
        let proposals = try sb.cairnOK(["proposals", "--json"], cwd: server)
        #expect(try jsonArray(proposals.stdoutData).compactMap { $0["id"] as? String } == [pending.id])
        #expect(sb.git(["status", "--porcelain"], cwd: server).stdout.isEmpty, "git agrees the clone is clean")
        sb.expectFsckClean(server)

        let again = sb.runCairn(["clone", "file://" + remote, "server"], cwd: sb.work)
        #expect(again.status == 1 && again.stderr.contains("not empty"), "\(again)")
        let plain = try sb.makeBareRemote("plain.git")
        let notVault = sb.runCairn(["clone", plain, "nv"], cwd: sb.work)
        #expect(notVault.status == 1 && !sb.exists(sb.work + "/nv"), "a failed clone leaves nothing: \(notVault)")
    }

    /// The issue's main story: a proposal made on the server reaches the laptop's queue, the laptop approves it,
    /// the server sees the decision; a plain-git user's commit merges like any other side; all converge.
    @Test func proposalsAndDecisionsTravelAndAllSidesConverge() throws {
        let sb = try Sandbox()
        let (laptop, server, remote, url) = try twoMachines(sb)
        let run = try sb.runAgent(server, "note", inputs: ["line=from the server"], env: ["CAIRN_NOW": "2026-03-01T09:20:00Z"])
        #expect(run.outcome == "proposed", "\(run)")
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T09:21:00Z"])
        #expect(try sb.refs(remote, under: "refs/heads/proposals/") == ["refs/heads/proposals/\(run.id)"])
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T09:22:00Z"])
        let queue = try jsonArray(try sb.cairnOK(["proposals", "--json"], cwd: laptop).stdoutData)
        #expect(queue.compactMap { $0["id"] as? String } == [run.id])

        try sb.cairnOK(["approve", run.id], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T09:23:00Z"])
        try sb.write(laptop + "/memory/working/laptop-note.md", "# From the laptop\n")
        let lsync = try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T09:24:00Z"])
        #expect(lsync.stdout.contains("Committed your edits"), "\(lsync)")
        #expect(try sb.refs(remote, under: "refs/heads/proposals/").isEmpty, "the decided branch left the remote")
        #expect(try sb.refs(remote, under: "refs/cairn/archive/") == ["refs/cairn/archive/\(run.id)"])

        // A plain-git machine commits in between.
        let plain = sb.work + "/plain"
        try sb.gitOK(["clone", "-q", url, plain], cwd: sb.work)
        try sb.write(plain + "/memory/working/from-git.md", "# Written with git\n")
        try sb.gitOK(["add", "-A"], cwd: plain)
        try sb.gitOK(["commit", "-q", "-m", "Add a note with git"], cwd: plain)
        try sb.gitOK(["push", "-q", "origin", "main"], cwd: plain)

        try sb.write(server + "/memory/working/server-note.md", "# From the server\n")
        let ssync = try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T09:25:00Z"])
        #expect(ssync.stdout.contains("merged"), "\(ssync)")
        #expect(try sb.cairnOK(["proposals", "--json"], cwd: server).stdout.contains("[]") || (try jsonArray(try sb.cairnOK(["proposals", "--json"], cwd: server).stdoutData)).isEmpty)
        #expect(try sb.refs(server, under: "refs/heads/proposals/").isEmpty, "the server archived the decided proposal")
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T09:26:00Z"])
        try sb.gitOK(["pull", "-q", "--ff-only"], cwd: plain)

        let main = try sb.gitOK(["rev-parse", "main"], cwd: laptop)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: server) == main)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: remote) == main)
        #expect(try sb.gitOK(["rev-parse", "HEAD"], cwd: plain) == main)
        let files = try sb.tree(laptop)
        for path in ["memory/working/laptop-note.md", "memory/working/server-note.md", "memory/working/from-git.md",
                     "approvals/\(run.id.prefix(4))/\(run.id.dropFirst(4).prefix(2))/\(run.id).json"] {
            #expect(files[path] != nil, "\(path) is on main")
        }
        #expect(sb.readText(server + "/" + Self.bluebird)?.contains("- from the server") == true, "the approved change reached the server's files")
        #expect(sb.readText(server + "/memory/working/laptop-note.md") == "# From the laptop\n")
        let record = try jsonObject(Data(try sb.gitOK(["show", "main:approvals/\(run.id.prefix(4))/\(run.id.dropFirst(4).prefix(2))/\(run.id).json"], cwd: laptop).utf8))
        #expect(record["machine"] as? String == "laptop" && record["decision"] as? String == "approved")
        #expect(try sb.runRecord(laptop, rev: "refs/cairn/archive/\(run.id)", id: run.id)["machine"] as? String == "server")
        for repo in [laptop, server, remote, plain] { sb.expectFsckClean(repo) }
        // Audit: everything is accounted for except the commit made with plain git, which it names.
        let audit = sb.runCairn(["audit", "--json"], cwd: server)
        let problems = try jsonObject(audit.stdoutData)["entries"] as? [[String: Any]] ?? []
        #expect(problems.filter { $0["verdict"] as? String == "unattributed" }.compactMap { $0["summary"] as? String } == ["Add a note with git"], "\(audit)")
        #expect(sb.git(["status", "--porcelain"], cwd: laptop).stdout.isEmpty && sb.git(["status", "--porcelain"], cwd: server).stdout.isEmpty)
    }

    @Test func approvedOnBothMachinesMergesOnce() throws {
        let sb = try Sandbox()
        let (laptop, server, _, _) = try twoMachines(sb)
        let run = try sb.runAgent(laptop, "note", inputs: ["line=approve me twice"], env: ["CAIRN_NOW": "2026-03-01T10:00:00Z"])
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:01:00Z"])
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:02:00Z"])
        try sb.cairnOK(["approve", run.id], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:03:00Z"])
        try sb.cairnOK(["approve", run.id], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:04:00Z"])
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:05:00Z"])
        let l = try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:06:00Z"])
        #expect(l.stdout.contains("decided on both machines"), "\(l)")
        let text = sb.readText(laptop + "/" + Self.bluebird) ?? ""
        #expect(text.components(separatedBy: "- approve me twice").count == 2, "the line is there exactly once:\n\(text)")
        let dir = "approvals/\(run.id.prefix(4))/\(run.id.dropFirst(4).prefix(2))/"
        let files = try sb.tree(laptop)
        #expect(files[dir + run.id + ".json"] != nil && files[dir + run.id + ".from-laptop.json"] != nil, "both records kept: \(files.keys.filter { $0.hasPrefix("approvals") })")
        #expect(try jsonObject(Data(try sb.gitOK(["show", "main:\(dir)\(run.id).json"], cwd: laptop).utf8))["machine"] as? String == "server",
                "the decision that reached the remote first stands")
        let audit = try sb.cairnOK(["audit"], cwd: laptop)
        #expect(audit.stdout.contains("attributable"), "\(audit)")
        sb.expectFsckClean(laptop)
    }

    @Test func approveAndRejectOnTwoMachinesTheFirstToReachTheRemoteStands() throws {
        let sb = try Sandbox()
        let (laptop, server, _, _) = try twoMachines(sb)
        let run = try sb.runAgent(server, "note", inputs: ["line=contested"], env: ["CAIRN_NOW": "2026-03-01T10:00:00Z"])
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:01:00Z"])
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:02:00Z"])
        try sb.cairnOK(["reject", run.id, "--note", "not now"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:03:00Z"])
        try sb.cairnOK(["approve", run.id], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:04:00Z"])
        #expect(sb.readText(laptop + "/" + Self.bluebird)?.contains("- contested") == true)
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:05:00Z"])
        let l = try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:06:00Z"])
        #expect(l.stdout.contains("you approved it here, but") && l.stdout.contains("rejected it first"), "told in words: \(l)")
        #expect(sb.readText(laptop + "/" + Self.bluebird)?.contains("- contested") == false, "the rejection stands: the change is taken back")
        let dir = "approvals/\(run.id.prefix(4))/\(run.id.dropFirst(4).prefix(2))/"
        let standing = try jsonObject(Data(try sb.gitOK(["show", "main:\(dir)\(run.id).json"], cwd: laptop).utf8))
        let kept = try jsonObject(Data(try sb.gitOK(["show", "main:\(dir)\(run.id).from-laptop.json"], cwd: laptop).utf8))
        #expect(standing["decision"] as? String == "rejected" && kept["decision"] as? String == "approved")
        let audit = try sb.cairnOK(["audit"], cwd: laptop)
        #expect(audit.stdout.contains("attributable"), "\(audit)")
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:07:00Z"])
        #expect(sb.readText(server + "/" + Self.bluebird)?.contains("- contested") == false)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: server) == (try sb.gitOK(["rev-parse", "main"], cwd: laptop)))
        sb.expectFsckClean(laptop)
        sb.expectFsckClean(server)
    }

    @Test func conflictsStopWithMarkersThenContinueOrAbort() throws {
        let sb = try Sandbox()
        let (laptop, server, _, _) = try twoMachines(sb)
        let note = "memory/knowledge/pricing.md"
        try sb.write(laptop + "/" + note, "---\ntitle: Pricing\ntags: [money]\n---\nline one\nline two\nline three\nline four\n")
        try sb.cairnOK(["sync"], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: server)
        // Different front matter keys and different body lines: merged without markers.
        try sb.write(laptop + "/" + note, "---\ntitle: Pricing 2026\ntags: [money]\n---\nline one (laptop)\nline two\nline three\nline four\n")
        try sb.write(server + "/" + note, "---\ntitle: Pricing\ntags: [money, plans]\n---\nline one\nline two\nline three\nline four (server)\n")
        try sb.cairnOK(["sync"], cwd: laptop)
        let clean = try sb.cairnOK(["sync"], cwd: server)
        #expect(clean.stdout.contains("merged"), "\(clean)")
        #expect(sb.readText(server + "/" + note) == "---\ntitle: Pricing 2026\ntags: [money, plans]\n---\nline one (laptop)\nline two\nline three\nline four (server)\n")
        try sb.cairnOK(["sync"], cwd: laptop)

        // The same line on both sides: markers, nothing committed.
        try sb.write(laptop + "/" + note, "---\ntitle: Pricing 2026\ntags: [money, plans]\n---\nline one (laptop)\nline two LAPTOP\nline three\nline four (server)\n")
        try sb.write(server + "/" + note, "---\ntitle: Pricing 2026\ntags: [money, plans]\n---\nline one (laptop)\nline two SERVER\nline three\nline four (server)\n")
        try sb.cairnOK(["sync"], cwd: laptop)
        let stop = sb.runCairn(["sync"], cwd: server)
        #expect(stop.status == 1 && stop.stderr.contains("both changed: \(note)"), "\(stop)")
        let marked = sb.readText(server + "/" + note) ?? ""
        #expect(marked.contains("<<<<<<< server (this machine)\nline two SERVER\n=======\nline two LAPTOP\n>>>>>>> origin/main\n"), "\(marked)")
        let mainAtStop = try sb.gitOK(["rev-parse", "main"], cwd: server)
        #expect(try sb.gitOK(["show", "main:\(note)"], cwd: server).contains("line two SERVER"), "this machine's side is committed")
        #expect(try sb.gitOK(["show", "origin/main:\(note)"], cwd: server).contains("line two LAPTOP"), "the other side is retrievable")
        let status = try sb.cairnOK(["status"], cwd: server)
        #expect(status.stdout.contains("A sync stopped on conflicts in: \(note)"), "\(status)")
        let doctor = sb.runCairn(["doctor"], cwd: server)
        #expect(doctor.output.contains("\(note)") && doctor.output.contains("in conflict from a stopped sync"), "\(doctor)")
        let snap = sb.runCairn(["snapshot"], cwd: server)
        #expect(snap.status == 1 && snap.stderr.contains("conflict markers"), "\(snap)")
        let again = sb.runCairn(["sync"], cwd: server)
        #expect(again.status == 1 && again.stderr.contains("--continue"), "\(again)")
        let early = sb.runCairn(["sync", "--continue"], cwd: server)
        #expect(early.status == 1 && early.stderr.contains("conflict markers remain"), "\(early)")

        // --abort puts the file back; main never moved.
        let abort = try sb.cairnOK(["sync", "--abort"], cwd: server)
        #expect(abort.stdout.contains("aborted"), "\(abort)")
        #expect(sb.readText(server + "/" + note)?.contains("line two SERVER\nline three") == true)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: server) == mainAtStop)
        #expect(sb.git(["status", "--porcelain"], cwd: server).stdout.isEmpty)

        // Again, resolve by hand, --continue.
        #expect(sb.runCairn(["sync"], cwd: server).status == 1)
        try sb.write(server + "/" + note, "---\ntitle: Pricing 2026\ntags: [money, plans]\n---\nline one (laptop)\nline two BOTH\nline three\nline four (server)\n")
        let done = try sb.cairnOK(["sync", "--continue"], cwd: server)
        #expect(done.stdout.contains("Synced with origin"), "\(done)")
        try sb.cairnOK(["sync"], cwd: laptop)
        #expect(sb.readText(laptop + "/" + note)?.contains("line two BOTH") == true)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: server) == (try sb.gitOK(["rev-parse", "main"], cwd: laptop)))
        #expect(sb.git(["status", "--porcelain"], cwd: server).stdout.isEmpty, "index and files agree after --continue")
        sb.expectFsckClean(server)
        sb.expectFsckClean(laptop)
    }

    @Test func deletedOnOneSideEditedOnTheOtherKeepsTheEdit() throws {
        let sb = try Sandbox()
        let (laptop, server, _, _) = try twoMachines(sb)
        let note = "memory/knowledge/keep.md"
        try sb.write(laptop + "/" + note, "# Keep\nfirst\n")
        try sb.cairnOK(["sync"], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: server)
        try FileManager.default.removeItem(atPath: laptop + "/" + note)
        try sb.write(server + "/" + note, "# Keep\nfirst\nedited on the server\n")
        try sb.cairnOK(["sync"], cwd: laptop)
        let r = try sb.cairnOK(["sync"], cwd: server)
        #expect(r.stdout.contains("the changed file is kept"), "\(r)")
        #expect(sb.readText(server + "/" + note) == "# Keep\nfirst\nedited on the server\n")
    }

    @Test func syncOverGitDaemon() throws {
        let sb = try Sandbox()
        let base = sb.work + "/served"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        try sb.gitOK(["init", "-q", "--bare", "-b", "main", base + "/vault.git"], cwd: sb.work)
        let daemon = try sb.startGitDaemon(base: base)
        let url = "git://127.0.0.1:\(daemon.port)/vault.git"
        let laptop = try sb.makeVaultWithNoteAgent("laptop")
        try sb.cairnOK(["remote", "add", "origin", url], cwd: laptop)
        let run = try sb.runAgent(laptop, "note", env: ["CAIRN_NOW": "2026-03-01T09:30:00Z"])
        try sb.cairnOK(["sync"], cwd: laptop)
        let server = try sb.cloneVault(url, "server", machine: "server")
        #expect(try sb.refs(server, under: "refs/heads/proposals/") == ["refs/heads/proposals/\(run.id)"])
        try sb.write(server + "/memory/working/s.md", "# s\n")
        try sb.cairnOK(["sync"], cwd: server)
        try sb.cairnOK(["sync"], cwd: laptop)
        #expect(sb.readText(laptop + "/memory/working/s.md") == "# s\n")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: base + "/vault.git") == (try sb.gitOK(["rev-parse", "main"], cwd: laptop)))
        sb.expectFsckClean(base + "/vault.git")

        // The daemon goes away: a clear message, nothing local lost.
        daemon.stop()
        try sb.write(laptop + "/memory/working/offline.md", "# written offline\n")
        let down = sb.runCairn(["sync"], cwd: laptop)
        #expect(down.status == 1 && down.stderr.contains("could not reach \(url)"), "\(down)")
        #expect(try sb.tree(laptop)["memory/working/offline.md"] != nil, "the edit was committed locally before the fetch")
    }

    /// One sync round lists the remote's references (the history-rewrite check) and fetches over one connection:
    /// `git upload-pack` starts once per round, counted through a `git` on PATH that logs each start.
    @Test func oneSyncRoundStartsUploadPackOnce() throws {
        let sb = try Sandbox()
        let (laptop, server, _, _) = try twoMachines(sb)
        let bin = sb.work + "/logging-bin", log = sb.work + "/git-starts.log"
        try sb.write(bin + "/git", "#!/bin/sh\necho \"$1\" >> '\(log)'\nexec '\(Binaries.git)' \"$@\"\n")
        try #require(chmod(bin + "/git", 0o755) == 0)
        let env: [String: String?] = ["PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
        func starts(_ args: [String], cwd: String) throws -> [String] {
            try? FileManager.default.removeItem(atPath: log)
            let r = sb.runCairn(args, cwd: cwd, env: env)
            try #require(r.status == 0, "\(r)")
            return (sb.readText(log) ?? "").split(separator: "\n").map(String.init)
        }
        // Nothing to do: one listing-and-fetch, no push.
        #expect(try starts(["sync"], cwd: laptop) == ["upload-pack"])
        // Something to receive and something to send: one upload-pack, one receive-pack.
        try sb.write(server + "/memory/working/from-server.md", "# from the server\n")
        try sb.cairnOK(["sync"], cwd: server)
        try sb.write(laptop + "/memory/working/from-laptop.md", "# from the laptop\n")
        #expect(try starts(["sync"], cwd: laptop) == ["upload-pack", "receive-pack"])
        #expect(sb.readText(laptop + "/memory/working/from-server.md") == "# from the server\n")
        try sb.cairnOK(["sync"], cwd: server)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: server) == (try sb.gitOK(["rev-parse", "main"], cwd: laptop)))
        sb.expectFsckClean(laptop)
    }

    @Test func quotasCountRunsFromBothMachinesAfterASync() throws {
        let sb = try Sandbox()
        let (laptop, server, _, _) = try twoMachines(sb)
        var policy = try jsonObject(sb.read(laptop + "/policy.json"))
        var quotas = policy["quotas"] as? [String: Any] ?? [:]
        quotas["agents"] = ["note": ["runs_per_day": 2]]
        policy["quotas"] = quotas
        try sb.write(laptop + "/policy.json", try JSONSerialization.data(withJSONObject: policy, options: [.prettyPrinted, .sortedKeys]))
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T09:55:00Z"])
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T09:56:00Z"])
        _ = try sb.runAgent(laptop, "note", inputs: ["line=on the laptop"], env: ["CAIRN_NOW": "2026-03-01T10:00:00Z"])
        _ = try sb.runAgent(server, "note", inputs: ["line=on the server"], env: ["CAIRN_NOW": "2026-03-01T10:01:00Z"])
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:02:00Z"])
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:03:00Z"])
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:04:00Z"])
        for v in [laptop, server] {
            let blocked = sb.runCairn(["agent", "run", "note", "--input", "line=third"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T11:00:00Z"])
            #expect(blocked.status == 1 && blocked.stderr.contains("2 runs used of 2 today"), "runs from both machines count: \(blocked)")
            let shown = sb.runCairn(["policy"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T11:00:00Z"])
            #expect(shown.stdout.contains("agent note: 2/2 runs"), "\(shown)")
        }
    }

    /// kill -9 at each step of a sync; running sync again finishes the job.
    /// Killed at each sync crash point by `CrashMatrixTests.killNineAtEveryCrashPoint`.
    func killedSyncFinishesOnRerun(point: CrashPoint) throws {
        let sb = try Sandbox()
        let (laptop, server, remote, _) = try twoMachines(sb)
        try sb.write(laptop + "/memory/working/l.md", "# l\n")
        try sb.cairnOK(["sync"], cwd: laptop)
        try sb.write(server + "/memory/working/s.md", "# s\n")
        let crashed = sb.runCairn(["sync"], cwd: server, env: ["CAIRN_CRASH_AT": point.rawValue])
        #expect(crashed.signaled, "\(point) was reached: \(crashed)")
        sb.expectFsckClean(server)
        let rerun = try sb.cairnOK(["sync"], cwd: server)
        #expect(rerun.status == 0, "\(rerun)")
        #expect(sb.readText(server + "/memory/working/l.md") == "# l\n" && sb.readText(server + "/memory/working/s.md") == "# s\n")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: remote) == (try sb.gitOK(["rev-parse", "main"], cwd: server)))
        #expect(sb.git(["status", "--porcelain"], cwd: server).stdout.isEmpty)
        sb.expectFsckClean(remote)
    }
}
