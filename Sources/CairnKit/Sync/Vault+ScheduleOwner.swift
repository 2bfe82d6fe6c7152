import CairnGit
import Foundation

extension Vault {
    /// Why this machine must not start or advance workflows, nil when it may.
    ///
    /// Two machines that sync one vault must never both start a scheduled or triggered workflow. By design, one
    /// machine owns them: `.cairn/config.json` `sync.schedules_on` names it, and `cairn tick` anywhere else leaves
    /// workflows alone. A vault with a remote and no owner named runs workflows on no machine until one is named;
    /// a vault without remotes is one machine and runs them.
    public func workflowsLeftToAnotherMachine() throws -> String? {
        let owner = config.sync.schedulesOn.trimmingCharacters(in: .whitespaces)
        if !owner.isEmpty {
            return owner == machine ? nil
                : "schedules and triggers run on machine \(owner) (sync.schedules_on in .cairn/config.json); this machine (\(machine)) leaves them to it"
        }
        if try !remotes().isEmpty {
            return "this vault syncs with a remote but no machine is named to run schedules and triggers, so none runs them: "
                + "set sync.schedules_on in .cairn/config.json to one machine's name (this one is \(machine)) and sync"
        }
        return nil
    }

    /// The machine `sync.schedules_on` names when it is not this one, else nil. A decision made here then leaves
    /// the workflow runs waiting on it to that machine (`decide`), so no step runs on two machines.
    func workflowOwnerElsewhere() -> String? {
        let owner = config.sync.schedulesOn.trimmingCharacters(in: .whitespaces)
        return owner.isEmpty || owner == machine ? nil : owner
    }
}
