import CairnGit
import Foundation

extension Vault {
    func pullCalendar(_ definition: ConnectorDefinition, state: ConnectorState, tree: OID, now: Date,
                      environment: ConnectorEnvironment) throws -> ImportBatch {
        throw VaultError.invalidArgument("calendar connectors are not available yet")
    }
}
