import CairnGit
import Foundation

extension Vault {
    func pullContacts(_ definition: ConnectorDefinition, state: ConnectorState, tree: OID, now: Date,
                      environment: ConnectorEnvironment) throws -> ImportBatch {
        throw VaultError.invalidArgument("contacts connectors are not available yet")
    }
}
